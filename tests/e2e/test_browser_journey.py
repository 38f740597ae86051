"""The whole journey in a real browser: Debian's Chromium, headless, driven by Playwright.

Demo app -> POST /verifications (cross-origin, CORS from serverless.yml) -> the emulator's hosted
verification page -> pass or fail -> redirect to the RedirectUrl -> GET /verifications/{BizToken}
-> the outcome on the page. A screenshot of the result page is saved under test-output/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import LocalStack

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


@pytest.mark.parametrize(("choice", "status", "code"), [("pass", "passed", "0"), ("fail", "failed", "1001")])
def test_journey_from_demo_app_to_outcome(stack: LocalStack, browser: Any, choice: str, status: str, code: str) -> None:
    page = browser.new_page()
    try:
        # GIVEN the demo app (the "mobile app"), served by the local stack
        page.goto(stack.demo)
        # WHEN the person presses Verify, lands on FaceID's page and chooses pass or fail
        page.click("#verify")
        page.wait_for_url(f"{stack.emulator}/verify/**")
        token = page.url.rsplit("/", 1)[1]
        page.click(f"#{choice}")
        # THEN the browser is back on the RedirectUrl with the token, showing what the backend read
        page.wait_for_url(f"**/?token={token}")
        page.wait_for_selector("#result:not([hidden])")
        assert page.inner_text("#status").lower() == status
        assert page.inner_text("#code") == code
        assert page.inner_text("#token") == token
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"journey-{stack.flow}-{status}.png"), full_page=True)
    finally:
        page.close()
    assert Path(SCREENSHOTS / f"journey-{stack.flow}-{status}.png").stat().st_size > 0
    reads = [c for c in stack.calls() if c["action"] == stack.result_action and c["outcome"] == "ok"]
    assert reads  # the page's outcome came through the backend's GET, not from the emulator directly
