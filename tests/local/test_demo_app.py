"""The demo app (local/demo/) in headless Chromium: its mode choice decides whether a start sends a
reference photo (CheckMode 2) or none (the document modes and liveness only). The function's API is
played by Playwright's request interception; the page is served from 127.0.0.1. With auth off the app
lists the sessions it started (the API has no list without a caller) and offers cancel and redact."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
API = "http://127.0.0.1:9"  # never reached: every request to it is answered by the route below
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "content-type"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(ROOT / "local" / "demo"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def started_with(browser: Any, url: str, mode: str | None) -> tuple[dict[str, Any], Any]:
    """Press Verify (after choosing `mode`, if given) and return the body the app POSTed, and the page."""
    page = browser.new_page()
    sent: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        if route.request.method == "POST":  # the start (the page also lists its sessions on load)
            sent.append(json.loads(route.request.post_data or "{}"))
        error = {"Error": {"Code": "Stopped", "Message": "the test stops here"}}
        route.fulfill(status=400, headers=CORS, content_type="application/json", body=json.dumps(error))

    page.route(f"{API}/**", answer)
    page.goto(url)
    if mode is not None:
        page.select_option("#mode", mode)
    page.click("#verify")
    page.wait_for_selector("#message.error-text")
    assert len(sent) == 1
    return sent[0], page


def test_the_photo_mode_sends_the_reference_photo(browser: Any, demo: str) -> None:
    body, page = started_with(browser, f"{demo}?api={API}", "photo")
    assert set(body) == {"CompareImageUrl", "CompareImageMd5", "RedirectUrl"}
    assert page.is_visible("#url")
    page.close()


@pytest.mark.parametrize("mode", ["document", "liveness"])
def test_the_document_and_liveness_modes_send_no_photo(browser: Any, demo: str, mode: str) -> None:
    body, page = started_with(browser, f"{demo}?api={API}", mode)
    assert body == {"RedirectUrl": demo}
    assert not page.is_visible("#url")
    assert not page.is_visible("#md5")
    page.close()


def test_the_mode_can_be_given_in_the_url(browser: Any, demo: str) -> None:
    body, page = started_with(browser, f"{demo}?api={API}&mode=document", None)
    assert "CompareImageUrl" not in body
    page.close()


def test_with_auth_off_the_app_lists_the_sessions_it_started_and_cancels_and_redacts_them(
    browser: Any, demo: str
) -> None:
    # GIVEN an API with auth off (no list without a caller) and two sessions this browser started
    page = browser.new_page()
    status = {"TOKEN-PENDING-1": "pending", "TOKEN-PASSED-2": "passed"}
    posted: list[str] = []

    def answer(route: Any) -> None:
        request, path = route.request, route.request.url.removeprefix(API).split("?")[0]
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        code, body = 200, {}
        if path == "/verifications" and request.method == "GET":
            code, body = 403, {"Error": {"Code": "CallerRequired", "Message": "no caller"}, "RequestId": "r"}
        elif request.method == "GET":
            token = path.rsplit("/", 1)[1]
            if status[token] == "redacted":
                code, body = 410, {"Error": {"Code": "SessionRedacted", "Message": "gone"}, "RequestId": "r"}
            else:
                body = {"BizToken": token, "Status": status[token], "RequestId": "r"}
        else:
            posted.append(path)
            token, action = path.split("/")[2:4]
            status[token] = "canceled" if action == "cancel" else "redacted"
            body = {"BizToken": token, "Status": "canceled", "CreatedAt": "2026-11-25T04:00:00Z"}
            if action == "redact":
                body = {"Retained": [{"Where": "Tencent FaceID (ap-singapore)", "Until": None, "Why": "x"}]}
        route.fulfill(status=code, headers=CORS, content_type="application/json", body=json.dumps(body))

    page.route(f"{API}/**", answer)
    page.add_init_script(f"localStorage.setItem('faceidSessions', '{json.dumps(list(status))}')")
    page.goto(f"{demo}?api={API}")
    # THEN it lists both, with Cancel offered for the pending one only and Redact for both
    page.wait_for_selector("#session-list tr")
    rows = page.locator("#session-list tr")
    assert rows.count() == 2
    assert "403 CallerRequired" in page.inner_text("#sessions-source")
    pending = page.locator('tr[data-token="TOKEN-PENDING-1"]')
    assert pending.locator("button.cancel").count() == 1
    assert page.locator('tr[data-token="TOKEN-PASSED-2"] button.cancel').count() == 0
    # WHEN the user cancels the pending one, then redacts the passed one
    pending.locator("button.cancel").click()
    page.wait_for_selector('tr[data-token="TOKEN-PENDING-1"] >> text=canceled')
    page.locator('tr[data-token="TOKEN-PASSED-2"] button.redact').click()
    page.wait_for_selector('tr[data-token="TOKEN-PASSED-2"] >> text=redacted')
    # THEN the app called the two routes, and says what FaceID still keeps
    assert posted == ["/verifications/TOKEN-PENDING-1/cancel", "/verifications/TOKEN-PASSED-2/redact"]
    assert "Tencent FaceID" in page.inner_text("#session-message")
    assert page.locator('tr[data-token="TOKEN-PASSED-2"] button').count() == 0
    page.close()
