"""POST /verifications through handler.handler -> official SDK -> FaceID emulator over real HTTP.

One test per row of the error table (docs/http.md, Errors) that can occur on this path.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import (
    COS_URL,
    REDIRECT_URL,
    VALID_MD5,
    Emulator,
    LogLines,
    Response,
    free_port,
    http_event,
    start_body,
)

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

Invoke = Callable[[dict[str, Any]], Response]


def assert_error(response: Response, status: int, code: str, request_id: str | None = None) -> None:
    assert response.status == status, response.body
    assert set(response.body) == {"Error", "RequestId"}
    assert response.body["Error"]["Code"] == code
    assert response.body["Error"]["Message"]
    if request_id is not None:
        assert response.body["RequestId"] == request_id


def faceid_request_id(emulator: Emulator) -> str:
    return str(emulator.calls[-1]["request_id"])


# -- success, for each HTTP trigger ----------------------------------------------------------------


# The return route of the API each sample event came through (its domain, and a REST API's stage).
RETURN_ROUTES = {
    "http": "https://abc123.execute-api.ap-southeast-1.amazonaws.com/return",
    "rest": "https://def456.execute-api.ap-southeast-1.amazonaws.com/prod/return",
    "function_url": "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-southeast-1.on.aws/return",
}


@pytest.mark.parametrize("kind", ["http", "rest", "function_url"])
def test_a_session_is_started_for_each_http_trigger(kind: str, invoke: Invoke, emulator: Emulator) -> None:
    # GIVEN a valid start request from this trigger
    before = datetime.now(UTC).replace(microsecond=0)
    # WHEN it is handled
    response = invoke(http_event(kind, start_body(), request_id=f"req-{kind}"))
    # THEN a 201 carries FaceID's session and its expiry
    assert response.status == 201, response.body
    assert response.headers["content-type"] == "application/json"
    assert set(response.body) == {"BizToken", "VerificationUrl", "RequestId", "ExpiresAt", "Region"}
    call = emulator.calls[-1]
    assert response.body["RequestId"] == call["request_id"]
    assert response.body["VerificationUrl"] == f"{emulator.url}/verify/{response.body['BizToken']}"
    expires = datetime.fromisoformat(response.body["ExpiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=7200) <= expires <= datetime.now(UTC) + timedelta(seconds=7200)
    # AND FaceID got what the caller asked for, in the configured region, with our correlation id, and sends
    # the browser to the return route of the API the start came through
    assert call["params"] == {
        "RedirectUrl": RETURN_ROUTES[kind],
        "CompareImageUrl": COS_URL,
        "CompareImageMd5": VALID_MD5,
    }
    assert call["region"] == "ap-singapore"
    assert call["trace_id"] == f"req-{kind}"


def test_caller_redirect_on_an_allowed_host_is_used(invoke: Invoke, emulator: Emulator, configure) -> None:
    # With the return route off, FaceID sends the browser to the caller's own page directly
    configure(FACEID_REDIRECT_HOSTS="app.example.com,other.example.org", FACEID_RETURN="off")
    response = invoke(http_event(body=start_body(RedirectUrl="https://other.example.org/back?x=1")))
    assert response.status == 201
    assert emulator.calls[-1]["params"]["RedirectUrl"] == "https://other.example.org/back?x=1"


def test_a_custom_domains_public_url_names_the_return_route(invoke: Invoke, emulator: Emulator, configure) -> None:
    configure(FACEID_PUBLIC_URL="https://api.example.com/faceid/")
    assert invoke(http_event(body=start_body())).status == 201
    assert emulator.calls[-1]["params"]["RedirectUrl"] == "https://api.example.com/faceid/return"


def test_a_request_from_a_domain_that_is_not_api_gateways_gets_no_return_route(
    invoke: Invoke, emulator: Emulator
) -> None:
    # The request's domain is taken only when it is API Gateway's or a function URL's; a custom domain sets
    # FACEID_PUBLIC_URL. Otherwise FaceID sends the browser to the app's page (the outcome waits for a read).
    event = http_event(body=start_body())
    event["requestContext"]["domainName"] = "evil.example.com"
    assert invoke(event).status == 201
    assert emulator.calls[-1]["params"]["RedirectUrl"] == REDIRECT_URL


def test_percent_encoded_url_and_upper_case_md5_are_normalised(invoke: Invoke, emulator: Emulator) -> None:
    encoded = "https%3A%2F%2Fphotos-1250000000.cos.ap-singapore.myqcloud.com%2Falice%2Freference.jpg"
    response = invoke(http_event(body=start_body(CompareImageUrl=encoded, CompareImageMd5=VALID_MD5.upper())))
    assert response.status == 201
    assert emulator.calls[-1]["params"]["CompareImageUrl"] == COS_URL
    assert emulator.calls[-1]["params"]["CompareImageMd5"] == VALID_MD5


def test_jakarta_deployment_signs_for_its_region(invoke: Invoke, emulator: Emulator, configure) -> None:
    configure(FACEID_REGION="ap-jakarta", S3_UPLOADS="false")  # no CreateUploadUrl in Jakarta
    url = "https://photos-1250000000.cos.ap-jakarta.myqcloud.com/a.jpg"
    assert invoke(http_event(body=start_body(CompareImageUrl=url))).status == 201
    assert emulator.calls[-1]["region"] == "ap-jakarta"


# -- 400: our own validation, nothing sent upstream ---------------------------------------------


@pytest.mark.parametrize(
    ("raw_body", "code"),
    [
        ("not json", "InvalidParameter"),
        ("[1, 2]", "InvalidParameter"),
        (json.dumps({"CompareImageUrl": 5, "CompareImageMd5": VALID_MD5}), "InvalidParameter"),
        (json.dumps({"CompareImageMd5": VALID_MD5}), "InvalidParameter"),
        (json.dumps({**start_body(), "Unexpected": True}), "InvalidParameter"),
        (json.dumps(start_body(CompareImageMd5="12345")), "InvalidParameterValue.CompareImageMd5"),
        (json.dumps(start_body(CompareImageUrl="https://example.com/a.jpg")), "InvalidParameterValue.CompareImageUrl"),
        (
            json.dumps(start_body(CompareImageUrl="https://p-1250000000.cos.ap-jakarta.myqcloud.com/a.jpg")),
            "InvalidParameterValue.CompareImageUrl",
        ),
        (json.dumps(start_body(RedirectUrl="https://evil.example.com/")), "InvalidParameterValue.RedirectUrl"),
    ],
)
@pytest.mark.parametrize("kind", ["http", "rest"])
def test_bad_input_is_a_400_before_any_upstream_call(
    invoke: Invoke, emulator: Emulator, kind: str, raw_body: str, code: str
) -> None:
    response = invoke(http_event(kind, raw_body=raw_body, request_id="apigw-req-1"))
    assert_error(response, 400, code, request_id="apigw-req-1")
    assert emulator.calls == []


def test_error_message_does_not_echo_the_input(invoke: Invoke, emulator: Emulator) -> None:
    hostile = "https://example.com/<script>alert(1)</script>"
    response = invoke(http_event(body=start_body(CompareImageUrl=hostile)))
    # refused as any non-COS URL is (docs/http.md, Errors), and the refusal does not repeat it
    assert_error(response, 400, "InvalidParameterValue.CompareImageUrl")
    assert "<script>" not in json.dumps(response.body)
    assert emulator.calls == []


def test_a_model_of_ours_refusing_our_own_data_is_a_500_not_the_callers_400(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    # A pydantic ValidationError is a ValueError, which also stands for "body unreadable": only the
    # latter is the caller's fault.
    import faceid_fn.entrypoints.http.verifications
    from faceid_fn.domain.models import Session

    def broken(**_: Any) -> Any:
        return Session.model_validate({})

    monkeypatch.setattr(faceid_fn.entrypoints.http.verifications, "start_keyed", broken)
    response = invoke(http_event(body=start_body()))
    assert response.status == 500
    assert response.body["Error"] == {"Code": "InternalError", "Message": "Internal error"}
    assert "Traceback" not in json.dumps(response.body)
    assert logs.records("unhandled error")


def test_unknown_route_is_404(invoke: Invoke) -> None:
    assert_error(invoke(http_event(body=start_body(), path="/nope")), 404, "ResourceNotFound")


# -- FaceID's answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["InvalidParameterValue", "InvalidParameter", "MissingParameter", "UnknownParameter"])
def test_faceid_parameter_errors_are_400_with_faceid_code(invoke: Invoke, emulator: Emulator, code: str) -> None:
    emulator.fault(code=code, message="rejected by FaceID")
    response = invoke(http_event(body=start_body()))
    assert_error(response, 400, code, request_id=faceid_request_id(emulator))
    assert len(emulator.calls) == 1


def test_error_with_charset_content_type_is_still_an_error(invoke: Invoke, emulator: Emulator) -> None:
    # The SDK returns such an answer as if it were a result; we must not.
    emulator.fault(code="InvalidParameterValue", content_type="application/json; charset=utf-8")
    response = invoke(http_event(body=start_body()))
    assert_error(response, 400, "InvalidParameterValue", request_id=faceid_request_id(emulator))


def test_success_with_charset_content_type_is_a_session(invoke: Invoke, emulator: Emulator) -> None:
    emulator.fault(content_type="application/json; charset=utf-8")
    assert invoke(http_event(body=start_body())).status == 201


def test_throttling_is_retried_then_succeeds(invoke: Invoke, emulator: Emulator) -> None:
    emulator.fault(code="RequestLimitExceeded", count=2)
    response = invoke(http_event(body=start_body()))
    assert response.status == 201
    assert [c["outcome"] for c in emulator.calls] == ["RequestLimitExceeded", "RequestLimitExceeded", "ok"]


def test_throttling_past_the_budget_is_429_with_retry_after(
    invoke: Invoke, emulator: Emulator, configure, logs: LogLines
) -> None:
    configure(FACEID_TIMEOUT_S="1")
    emulator.fault(code="RequestLimitExceeded", count=1000)
    response = invoke(http_event(body=start_body()))
    # retried, then given up: that no back-off outlasts the budget is the fake clock's test
    # (tests/unit/test_faceid_retry.py), not a stopwatch's on a shared machine
    assert_error(response, 429, "RequestLimitExceeded", request_id=faceid_request_id(emulator))
    assert response.headers["retry-after"] == "1"
    assert len(emulator.calls) > 1
    record = logs.records("FaceID call failed")[-1]
    assert record["attempts"] == len(emulator.calls)


def test_real_rate_limit_of_the_emulator_is_absorbed_by_retries(invoke: Invoke, emulator: Emulator) -> None:
    # GIVEN FaceID's rate window (the emulator's own, not an injected fault) letting one call a second
    # through, on a clock that moves half a second per call: each start's first attempt finds the window
    # full, and its retry, a second after the call that filled it, finds it clear (however fast or slow
    # the machine sends them)
    emulator.state.rate_limit = 1
    arrivals = itertools.count(1000.0, 0.5)
    emulator.state.monotonic = lambda: next(arrivals)
    # WHEN four sessions are started, one after another
    statuses = [invoke(http_event(body=start_body())).status for _ in range(4)]
    # THEN all four started: the first at once, each next one throttled once, then started by its retry
    assert statuses == [201] * 4
    assert [c["outcome"] for c in emulator.calls] == ["ok"] + ["RequestLimitExceeded", "ok"] * 3


@pytest.mark.parametrize("code", ["UnauthorizedOperation.Nonactivated", "UnauthorizedOperation.Arrears"])
def test_service_not_usable_for_the_account_is_503(invoke: Invoke, emulator: Emulator, code: str) -> None:
    emulator.fault(code=code)
    assert_error(invoke(http_event(body=start_body())), 503, code, request_id=faceid_request_id(emulator))


def test_wrong_secret_key_is_502_and_logged_at_error(
    invoke: Invoke, emulator: Emulator, configure, logs: LogLines
) -> None:
    configure(TENCENTCLOUD_SECRET_KEY="WrongSecretKeyForTestsOnly0000000000")
    response = invoke(http_event(body=start_body()))
    assert_error(response, 502, "AuthFailure.SignatureFailure", request_id=faceid_request_id(emulator))
    record = logs.records("FaceID call failed: fix the function's configuration")[-1]
    assert record["level"] == "ERROR"
    assert record["outcome"] == "AuthFailure.SignatureFailure"


def test_unknown_secret_id_is_502(invoke: Invoke, emulator: Emulator, configure) -> None:
    configure(TENCENTCLOUD_SECRET_ID="AKIDsomebodyElse")
    assert_error(invoke(http_event(body=start_body())), 502, "AuthFailure.SecretIdNotFound")


def test_internal_error_is_502_and_not_retried_for_a_create(invoke: Invoke, emulator: Emulator) -> None:
    emulator.fault(code="InternalError", count=5)
    assert_error(invoke(http_event(body=start_body())), 502, "InternalError", request_id=faceid_request_id(emulator))
    assert len(emulator.calls) == 1


def test_http_5xx_from_upstream_is_502_without_its_body(invoke: Invoke, emulator: Emulator) -> None:
    emulator.fault(http_status=503, body="<html>upstream proxy page with internals</html>", content_type="text/html")
    response = invoke(http_event(body=start_body(), request_id="apigw-req-5xx"))
    assert_error(response, 502, "UpstreamUnavailable", request_id="apigw-req-5xx")
    assert "internals" not in json.dumps(response.body)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("this is not json", "application/json"),
        ('{"NoResponse": {}}', "application/json"),
        ('{"Response": {"BizToken": "T"}}', "application/json; charset=utf-8"),
        ("<html>captive portal</html>", "text/html"),
    ],
)
def test_malformed_upstream_answer_is_502(invoke: Invoke, emulator: Emulator, body: str, content_type: str) -> None:
    emulator.fault(http_status=200, body=body, content_type=content_type)
    assert_error(invoke(http_event(body=start_body(), request_id="apigw-req-bad")), 502, "UpstreamUnavailable")


def test_unreachable_upstream_is_502_with_the_gateway_request_id(invoke: Invoke, configure) -> None:
    configure(FACEID_ENDPOINT=f"http://127.0.0.1:{free_port()}", FACEID_TIMEOUT_S="1")
    response = invoke(http_event(body=start_body(), request_id="apigw-req-down"))
    assert_error(response, 502, "UpstreamUnavailable", request_id="apigw-req-down")


def test_no_answer_within_the_budget_is_504(invoke: Invoke, emulator: Emulator, configure) -> None:
    configure(FACEID_TIMEOUT_S="0.5")
    emulator.fault(latency_ms=1500)
    response = invoke(http_event(body=start_body(), request_id="apigw-req-slow"))
    # answered at the deadline, not when the upstream finally answers (that would have been a 201)
    assert_error(response, 504, "UpstreamTimeout", request_id="apigw-req-slow")


# -- observability --------------------------------------------------------------------------------


def test_each_faceid_call_is_logged_with_its_facts(invoke: Invoke, emulator: Emulator, logs: LogLines) -> None:
    response = invoke(http_event(body=start_body(), request_id="corr-123"))
    record = logs.records("FaceID call succeeded")[-1]
    assert record["action"] == "ApplyWebVerificationToken"
    assert record["faceid_request_id"] == faceid_request_id(emulator)
    assert record["outcome"] == "ok"
    assert record["attempts"] == 1
    assert record["latency_ms"] >= 0
    assert record["correlation_id"] == "corr-123"
    assert record["biz_token"] == response.body["BizToken"]  # the line names the session it opened
    assert emulator.calls[-1]["trace_id"] == "corr-123"


def test_metrics_are_emitted_as_emf(invoke: Invoke, capsys: pytest.CaptureFixture[str]) -> None:
    invoke(http_event(body=start_body()))
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert emf
    assert emf[-1]["VerificationStarted"] == [1.0]


def test_unknown_event_is_answered_not_crashed(configure, lambda_context, emulator: Emulator) -> None:
    import handler

    event = {"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}
    result = handler.handler(event, lambda_context)
    assert result["Error"]["Code"] == "UnsupportedEvent"
    assert emulator.calls == []
    # The schedule is the sweep function's; without a ledger there is nothing to sweep.
    import background

    result = background.sweep({"detail-type": "Scheduled Event", "source": "aws.events"}, lambda_context)
    assert result["Stopped"] == "NoLedger"
