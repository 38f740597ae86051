"""The whole journey in a real browser: Debian's Chromium, headless, driven by Playwright.

Demo app -> POST /verifications (cross-origin, CORS from serverless.yml) -> the emulator's hosted
verification page -> an outcome (pass, liveness or comparison failed, left, timed out) -> redirect to the
RedirectUrl -> GET /verifications/{BizToken}
-> the outcome on the page, and the signed webhook that announced it (via the local receiver). A screenshot
of the result page is saved under test-output/.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.e2e.conftest import LocalStack, local_stack

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output"
# Flags that keep Chromium off the network (this machine reaches only loopback and registries).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


# The outcomes the emulator's page offers, and what the demo app must show for each (docs/http.md: result codes).
JOURNEYS = [
    ("pass", "passed", "0"),
    ("liveness", "failed", "1005"),
    ("compare", "failed", "2016"),
    ("faces", "failed", "2012"),
    ("left", "abandoned", "1410"),
    ("timeout", "expired", "1409"),
]


@pytest.mark.parametrize(("choice", "status", "code"), JOURNEYS)
def test_journey_from_demo_app_to_outcome(stack: LocalStack, browser: Any, choice: str, status: str, code: str) -> None:
    page = browser.new_page()
    try:
        # GIVEN the demo app (the "mobile app"), served by the local stack
        page.goto(stack.demo)
        # WHEN the person presses Verify, lands on FaceID's page and chooses an outcome
        page.click("#verify")
        page.wait_for_url(f"{stack.emulator}/verify/**")
        token = page.url.rsplit("/", 1)[1]
        assert page.inner_text("h1") == "Verify your identity"
        # (the app's first read of the session is held here until it is noted: the moment it is sent)
        app_reads: list[float] = []
        page.route(
            f"{stack.http}/verifications/{token}*", lambda route: (app_reads.append(time.time()), route.continue_())
        )
        page.click(f"#{choice}")
        # THEN the browser, through the function's return route, is back on the app's page with the token,
        # showing what the backend read
        page.wait_for_url(f"**/?token={token}")
        page.wait_for_selector("#result:not([hidden])")
        assert page.inner_text("#status").lower() == status
        assert page.get_attribute("#result", "class") == status  # the status's colour
        assert page.inner_text("#code") == code
        assert page.inner_text("#token") == token
        assert not page.is_visible("#refresh")  # a final status is not read again
        assert page.locator("#webhook").count() == 1  # the webhook panel
        # AND the signed webhook that announced the outcome, as the local receiver got it
        page.wait_for_selector("#webhook.arrived", timeout=30_000)
        assert page.inner_text("#webhook-status").lower() == status
        assert page.inner_text("#webhook-id") == f"msg_{token}"
        assert "signature verified" in page.inner_text("#webhook")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"journey-{stack.flow}-{choice}.png"), full_page=True)
        # AND "start another" goes back to a fresh start
        page.click("#again")
        page.wait_for_selector("#verify")
    finally:
        page.close()
    assert Path(SCREENSHOTS / f"journey-{stack.flow}-{choice}.png").stat().st_size > 0
    # AND the signed webhook had arrived before the app read anything: the return route announced the outcome
    [delivery] = requests.get(stack.webhooks, params={"token": token}, timeout=5).json()
    assert app_reads, "the app never read the session"
    assert delivery["received_at"] < app_reads[0]
    # AND FaceID was read once for this journey's token, by the return route: the app's read was the ledger's
    reads = [
        c
        for c in stack.calls()
        if c["action"] == stack.result_action and c["outcome"] == "ok" and c.get("params", {}).get("BizToken") == token
    ]
    assert len(reads) == 1


def test_leaving_unfinished_stays_pending(stack: LocalStack, browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(stack.demo)
        page.click("#verify")
        page.wait_for_url(f"{stack.emulator}/verify/**")
        token = page.url.rsplit("/", 1)[1]
        # WHEN the person leaves the page unfinished: FaceID does not redirect
        page.click("#unfinished")
        page.wait_for_selector("#unfinished-note")
        assert page.url.startswith(f"{stack.emulator}/verify/")
        # THEN going back to the app shows the session pending with FaceID's 17
        page.click("#back")
        page.wait_for_url(f"**/?token={token}")
        page.wait_for_selector("#result:not([hidden])")
        assert page.inner_text("#status").lower() == "pending"
        assert page.inner_text("#code") == "17"
        assert page.is_visible("#refresh")
        assert page.locator("#webhook.arrived").count() == 0  # nothing is announced while pending
    finally:
        page.close()


# The demo app's choice for each CheckMode that takes no reference photo, and the steps the page plays.
MODES = {
    1: ("document", {"step-document", "step-selfie", "step-compare"}),
    3: ("liveness", {"step-selfie"}),
}


@pytest.fixture(scope="module", params=sorted(MODES))
def mode_stack(request: pytest.FixtureRequest) -> Iterator[tuple[int, LocalStack]]:
    """The local stack as `FACEID_INTL_CONFIG='{"CheckMode":N}' make run` starts it (docs/configuration.md)."""
    config = json.dumps({"CheckMode": request.param})
    with local_stack(request, "intl", FACEID_INTL_CONFIG=config) as running:
        yield request.param, running


def test_a_session_without_a_reference_photo_from_demo_app_to_outcome(
    mode_stack: tuple[int, LocalStack], browser: Any
) -> None:
    check_mode, stack = mode_stack
    choice, steps = MODES[check_mode]
    # GIVEN the stack started in a mode that compares with no photo of the app's (its self-check sent none)
    assert any(line.startswith("HTTP/1.1 201") for line in stack.output)
    page = browser.new_page()
    try:
        # WHEN the person chooses that mode in the demo app, presses Verify, and passes on FaceID's page
        page.goto(f"{stack.demo}&mode={choice}")
        assert not page.is_visible("#photo-fields")
        page.click("#verify")
        page.wait_for_url(f"{stack.emulator}/verify/**")
        token = page.url.rsplit("/", 1)[1]
        shown = {step for step in ("step-document", "step-selfie", "step-compare") if page.locator(f"#{step}").count()}
        assert shown == steps
        page.click("#pass")
        # THEN the app shows the session passed, as the backend read it, and its webhook arrived
        page.wait_for_url(f"**/?token={token}")
        page.wait_for_selector("#result:not([hidden])")
        assert page.inner_text("#status").lower() == "passed"
        assert ("passed" in page.inner_text("#ocr")) == (check_mode == 1)  # the document read, in mode 1
        page.wait_for_selector("#webhook.arrived", timeout=30_000)
        assert page.inner_text("#webhook-status").lower() == "passed"
    finally:
        page.close()
    # AND FaceID was asked for that mode, with no photo
    starts = [c for c in stack.calls() if c["action"] == stack.apply_action]
    assert starts
    assert all("CompareImageBase64" not in c["params"] for c in starts)
    assert {c["params"]["Config"]["CheckMode"] for c in starts} == {check_mode}
