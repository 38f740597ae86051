"""GET /verifications/{BizToken} through handler -> SDK -> emulator, for every Status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import Emulator, LogLines, Response, http_event, start_body
from tests.secret_scan import find_secrets

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

Invoke = Callable[[dict[str, Any]], Response]


def start(invoke: Invoke) -> dict[str, Any]:
    response = invoke(http_event(body=start_body()))
    assert response.status == 201
    return dict(response.body)


def finish(session: dict[str, Any], outcome: str) -> None:
    """The person's side: the hosted page, then its redirect back to the RedirectUrl."""
    answer = requests.post(session["VerificationUrl"], data={"outcome": outcome}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"?token={session['BizToken']}")


def result(invoke: Invoke, token: str, kind: str = "http", query: str = "") -> Response:
    event = http_event(kind, method="GET", path=f"/verifications/{token}")
    event["body"] = None
    if query:
        if kind == "rest":
            event["queryStringParameters"] = dict([query.split("=")])
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in event["queryStringParameters"].items()}
        else:
            event["rawQueryString"] = query
            event["queryStringParameters"] = dict([query.split("=")])
    if kind == "rest":
        event["pathParameters"] = {"biz_token": token}
    return invoke(event)


@pytest.mark.parametrize("kind", ["http", "rest", "function_url"])
def test_pending_before_the_person_finishes(invoke: Invoke, emulator: Emulator, kind: str) -> None:
    session = start(invoke)
    response = result(invoke, session["BizToken"], kind)
    assert response.status == 200, response.body
    assert response.body["Status"] == "pending"
    assert response.body["ErrorCode"] is None
    assert response.body["BizToken"] == session["BizToken"]
    assert response.body["RequestId"] == emulator.calls[-1]["request_id"]
    assert emulator.calls[-1]["action"] == "GetWebVerificationResult"


def test_passed_returns_details_and_presigned_media_but_never_logs_them(
    invoke: Invoke, emulator: Emulator, logs: LogLines
) -> None:
    session = start(invoke)
    finish(session, "pass")
    response = result(invoke, session["BizToken"])
    body = response.body
    assert (body["Status"], body["ErrorCode"], body["ErrorMsg"]) == ("passed", 0, "Success")
    [detail] = body["VerificationDetailList"]
    assert detail["Similarity"] == 92.5
    assert detail["LivenessErrorCode"] == 0
    assert "q-signature=" in body["VideoBestFrameUrl"]
    assert body["VideoBestFrameMd5"]
    signature = body["VideoBestFrameUrl"].split("q-signature=")[1]
    assert find_secrets(logs.text, [signature]) == []
    assert "verification result read" in logs.text


def test_failed_carries_faceids_code(invoke: Invoke) -> None:
    session = start(invoke)
    finish(session, "fail")
    body = result(invoke, session["BizToken"]).body
    assert (body["Status"], body["ErrorCode"]) == ("error", 1001)  # 1001: the liveness engine failed, not the person
    assert body["VerificationDetailList"][0]["LivenessErrorCode"] == 1001


def test_expired_when_the_person_never_finished_in_time(invoke: Invoke, emulator: Emulator) -> None:
    session = start(invoke)
    emulator.state.sessions[session["BizToken"]].created_at -= 7100  # still readable, token too old
    emulator.state.sessions[session["BizToken"]].ttl_s = 7000
    body = result(invoke, session["BizToken"]).body
    assert (body["Status"], body["ErrorCode"]) == ("expired", 15)


def test_a_result_past_faceids_retention_is_410_not_expired(invoke: Invoke, emulator: Emulator) -> None:
    # GIVEN a session older than the 3 days FaceID keeps results
    session = start(invoke)
    emulator.state.sessions[session["BizToken"]].created_at -= 259_200 + 60
    # WHEN it is read
    response = result(invoke, session["BizToken"])
    # THEN the answer says the result is gone (not that the person never finished)
    assert emulator.calls[-1]["outcome"] == "InvalidParameterValue.BizTokenExpired"
    assert response.status == 410
    assert response.body["Error"]["Code"] == "ResultNoLongerAvailable"
    assert response.body["RequestId"] == emulator.calls[-1]["request_id"]


def test_unknown_token_is_404_with_faceids_code(invoke: Invoke, emulator: Emulator) -> None:
    response = result(invoke, "C0FFEE00-0000-4000-8000-000000000000")
    assert response.status == 404
    assert response.body["Error"]["Code"] == "InvalidParameterValue.BizTokenIllegal"
    assert response.body["RequestId"] == emulator.calls[-1]["request_id"]


@pytest.mark.parametrize("token", ["short", "has%20space", "a" * 129])
def test_malformed_token_is_400_before_any_upstream_call(invoke: Invoke, emulator: Emulator, token: str) -> None:
    response = result(invoke, token)
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.BizToken"
    assert emulator.calls == []


def test_a_read_is_retried_after_an_internal_error(invoke: Invoke, emulator: Emulator) -> None:
    session = start(invoke)
    emulator.fault(code="InternalError", action="GetWebVerificationResult")
    assert result(invoke, session["BizToken"]).body["Status"] == "pending"
    assert [c["outcome"] for c in emulator.calls[-2:]] == ["InternalError", "ok"]


def test_intl_results_return_biometrics_only_when_asked(
    invoke: Invoke, emulator: Emulator, configure: Callable[..., None], logs: LogLines
) -> None:
    # GIVEN an intl-flow session the person passed (started directly at the emulator)
    configure(FACEID_FLOW="intl")
    from tests.local.test_emulator import sdk_client

    answer = sdk_client(emulator).call_json(
        "ApplyWebVerificationBizTokenIntl",
        {"RedirectURL": "https://app.example.com/done", "CompareImageBase64": "iVBORw0KGgo=", "Extra": "order-9"},
    )["Response"]
    finish({"VerificationUrl": answer["VerificationURL"], "BizToken": answer["BizToken"]}, "pass")
    # WHEN the result is read plainly, and with include=media
    plain = result(invoke, answer["BizToken"]).body
    media = result(invoke, answer["BizToken"], query="include=media").body
    # THEN the status, Extra and details are the same; the base64 fields only come when asked for
    assert emulator.calls[-1]["action"] == "GetWebVerificationResultIntl"
    assert (plain["Status"], plain["Extra"]) == ("passed", "order-9")
    assert plain["BestFrameBase64"] is None
    assert plain["VideoBase64"] is None
    assert media["BestFrameBase64"]
    assert media["VideoBase64"]
    assert media["BestFrameBase64"] not in logs.text
    assert media["VideoBase64"] not in logs.text


def test_include_takes_only_media(invoke: Invoke) -> None:
    session = start(invoke)
    response = result(invoke, session["BizToken"], query="include=everything")
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.include"
