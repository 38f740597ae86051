"""Requests as API Gateway (REST and HTTP API), Function URLs and real clients send them:
custom-domain base paths, form bodies, media types in any case, trailing slashes, tokens without `sub`,
unknown routes, answers too large for Lambda, and the one WARNING line of each refused request.

Events are the samples in events/ (shapes from Powertools' tests/events and the AWS docs), changed
only where the shape under test differs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from faceid_fn.domain.models import VerificationResult
from tests.conftest import Emulator, LogLines, Response, http_event, start_body
from tests.integration import test_auth

# AUTH_REQUIRED with the session ledger it needs (moto): the auth tests' fixture.
auth_on = test_auth.auth_on

Invoke = Callable[[dict[str, Any]], Response]
# The HTTP shapes do not depend on the flow; the legacy one needs no photo in the COS stand-in.
pytestmark = pytest.mark.legacy_flow
KINDS = ["http", "rest", "function_url"]


def warnings(logs: LogLines) -> list[dict[str, Any]]:
    """The WARNING lines of the request (not the cold start's note that the legacy flow is withdrawn)."""
    return [r for r in logs.records() if r.get("level") == "WARNING" and not r["message"].startswith("FACEID_FLOW=")]


def behind_custom_domain(event: dict[str, Any], kind: str, base_path: str) -> dict[str, Any]:
    """A request through a custom domain whose API mapping (base path) is `base_path`: API Gateway keeps
    the base path in the path it passes on (REST: `path`, `requestContext.path`; HTTP API: `rawPath`)."""
    context = event["requestContext"]
    context["domainName"] = "api.example.com"
    if kind == "rest":
        event["path"] = context["path"] = base_path + event["resource"]
        context["stage"] = "prod"
        event["headers"]["Host"] = "api.example.com"
    else:
        event["rawPath"] = base_path + event["rawPath"]
        context["http"]["path"] = event["rawPath"]
        event["headers"]["host"] = "api.example.com"
    return event


# -- base paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rest", "http"])
def test_a_custom_domain_base_path_is_stripped_when_configured(
    invoke: Invoke, configure: Callable[..., None], kind: str
) -> None:
    # GIVEN the API behind https://api.example.com/faceid (a base-path mapping)
    configure(API_BASE_PATHS="/faceid, /v1/faceid/")
    # WHEN a caller starts a session through it THEN the route is found
    response = invoke(behind_custom_domain(http_event(kind, body=start_body()), kind, "/faceid"))
    assert response.status == 201, response.body
    deeper = invoke(behind_custom_domain(http_event(kind, body=start_body()), kind, "/v1/faceid"))
    assert deeper.status == 201, deeper.body


def test_without_the_base_path_configured_the_route_is_not_found(invoke: Invoke) -> None:
    response = invoke(behind_custom_domain(http_event("rest", body=start_body()), "rest", "/faceid"))
    assert response.status == 404
    assert response.body["Error"]["Code"] == "ResourceNotFound"


# -- media types ------------------------------------------------------------------------------------


def curl_d_form(kind: str, encoded: bool) -> dict[str, Any]:
    """`curl -d '<json>' URL` without -H: the JSON text, labelled a form (API Gateway may base64 it)."""
    text = json.dumps(start_body())
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if kind == "rest":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    event = http_event(kind, raw_body=base64.b64encode(text.encode()).decode() if encoded else text, headers=headers)
    event["isBase64Encoded"] = encoded
    return event


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encoded", [False, True])
def test_a_form_body_is_415_not_a_missing_field(
    invoke: Invoke, emulator: Emulator, logs: LogLines, kind: str, encoded: bool
) -> None:
    response = invoke(curl_d_form(kind, encoded))
    assert response.status == 415, response.body
    assert response.body["Error"] == {"Code": "UnsupportedMediaType", "Message": "Send the body as application/json"}
    assert emulator.calls == []
    [warning] = warnings(logs)
    assert warning["error"] == "UnsupportedMediaType"


def test_a_multipart_body_is_415(invoke: Invoke, emulator: Emulator) -> None:
    boundary = "------------------------d74496d66958873e"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="CompareImageUrl"\r\n\r\nx\r\n--{boundary}--\r\n'
    event = http_event(
        raw_body=base64.b64encode(part.encode()).decode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    event["isBase64Encoded"] = True
    response = invoke(event)
    assert response.status == 415
    assert emulator.calls == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("media_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8", "application/json"])
def test_json_is_json_in_any_case(invoke: Invoke, kind: str, media_type: str) -> None:
    name = "Content-Type" if kind == "rest" else "content-type"
    event = http_event(kind, body=start_body())
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    event["headers"][name] = media_type
    response = invoke(event)
    assert response.status == 201, response.body


# -- trailing slash ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_trailing_slash_is_the_same_route_on_every_trigger(invoke: Invoke, kind: str) -> None:
    started = invoke(http_event(kind, body=start_body(), path="/verifications/"))
    assert started.status == 201, started.body
    token = started.body["BizToken"]
    event = http_event(kind, method="GET", path=f"/verifications/{token}/")
    event["body"] = None
    if kind == "rest":
        event["resource"] = "/verifications/{biz_token}"
        event["pathParameters"] = {"biz_token": token}
    read = invoke(event)
    assert read.status == 200, read.body
    assert read.body["BizToken"] == token


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", ["\n", "/\n"])
def test_a_route_ends_where_the_path_ends(invoke: Invoke, emulator: Emulator, kind: str, suffix: str) -> None:
    # GIVEN a session that exists
    started = invoke(http_event(kind, body=start_body()))
    assert started.status == 201
    calls = len(emulator.calls)
    # WHEN a route's path is followed by a newline (an HTTP API passes a decoded %0A on in rawPath)
    start = invoke(http_event(kind, body=start_body(), path="/verifications" + suffix))
    read = http_event(kind, method="GET", path=f"/verifications/{started.body['BizToken']}{suffix}")
    read["body"] = None
    # THEN it names no route: nothing is started or read
    for response in (start, invoke(read)):
        assert response.status == 404, response.body
        assert response.body["Error"]["Code"] == "ResourceNotFound"
    assert len(emulator.calls) == calls


# -- callers ----------------------------------------------------------------------------------------


def with_claims(event: dict[str, Any], kind: str, claims: dict[str, str]) -> dict[str, Any]:
    if kind == "rest":  # a Cognito user pool authorizer on a REST API
        event["requestContext"]["authorizer"] = {"claims": claims}
    else:  # the HTTP API's JWT authorizer
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": ["faceid/start"]}}
    return event


# A Cognito client-credentials access token (machine to machine): no `sub`, the client is the caller.
CLIENT_CREDENTIALS = {
    "client_id": "5u3nq0p7k2ibjb6o3l1fgr6bt4",
    "token_use": "access",
    "scope": "faceid/start",
    "auth_time": "1795665600",
    "iss": "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_Example",
    "exp": "1795669200",
    "iat": "1795665600",
    "version": "2",
    "jti": "8f3c2a44-5d0b-4c8e-9f55-1b2c3d4e5f60",
}


@pytest.mark.parametrize("kind", ["http", "rest"])
def test_a_client_credentials_token_is_a_caller(
    invoke: Invoke, auth_on: Callable[..., None], logs: LogLines, kind: str
) -> None:
    auth_on()
    # the client's own folder: reference/client:<client_id>/
    photo = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/client:5u3nq0p7k2ibjb6o3l1fgr6bt4/a.jpg"
    body = start_body(CompareImageUrl=photo)
    response = invoke(with_claims(http_event(kind, body=body), kind, dict(CLIENT_CREDENTIALS)))
    assert response.status == 201, response.body
    request_lines = [r for r in logs.records() if not r["message"].startswith("FACEID_FLOW=")]
    assert request_lines
    assert all(r.get("caller") == "client:5u3nq0p7k2ibjb6o3l1fgr6bt4" for r in request_lines)


def test_a_token_that_names_no_caller_is_401_saying_which_claims(
    invoke: Invoke, auth_on: Callable[..., None], emulator: Emulator, logs: LogLines
) -> None:
    auth_on()
    claims = {k: v for k, v in CLIENT_CREDENTIALS.items() if k != "client_id"}
    response = invoke(with_claims(http_event(body=start_body()), "http", claims))
    assert response.status == 401
    assert response.body["Error"] == {
        "Code": "Unauthorized",
        "Message": "The token names no caller: it needs a sub or client_id claim",
    }
    assert emulator.calls == []
    [warning] = warnings(logs)
    assert warning["error"] == "Unauthorized"


# -- unknown routes and the WARNING line ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_route_is_our_404_envelope(invoke: Invoke, logs: LogLines, kind: str) -> None:
    event = http_event(kind, method="GET", path="/nope")
    event["body"] = None
    response = invoke(event)
    assert response.status == 404
    assert response.body["Error"] == {"Code": "ResourceNotFound", "Message": "No such route"}
    [warning] = warnings(logs)
    assert (warning["message"], warning["error"], warning["status"]) == ("request rejected", "ResourceNotFound", 404)


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (http_event(raw_body="{not json"), "InvalidParameter"),
        (http_event(body=start_body(CompareImageMd5="xyz")), "InvalidParameterValue.CompareImageMd5"),
        (
            http_event(body=start_body(CompareImageUrl="https://evil.example/a.jpg")),
            "InvalidParameterValue.CompareImageUrl",
        ),
        ({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "body": 5}, "MalformedEvent"),
    ],
)
def test_each_refused_request_logs_one_warning_with_its_code(
    invoke: Invoke, logs: LogLines, event: dict[str, Any], code: str
) -> None:
    response = invoke(event)
    assert response.status == 400
    assert response.body["Error"]["Code"] == code
    [warning] = warnings(logs)
    assert warning["error"] == code
    assert "evil" not in json.dumps(warning)  # the caller's values are not logged


# -- answers too large for Lambda -------------------------------------------------------------------


def test_media_over_lambdas_response_limit_is_a_413_not_a_platform_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a finished session whose video is larger than a Lambda answer may be (6 MB)
    from faceid_fn.entrypoints.http import verifications

    video = "A" * (6 * 1024 * 1024)

    def read_result(biz_token: str, **kwargs: Any) -> VerificationResult:
        media = kwargs["include_media"]
        return VerificationResult(
            BizToken=biz_token,
            Status="passed",
            ErrorCode=0,
            ErrorMsg="Success",
            BestFrameBase64="/9j/4AAQ" if media else None,
            VideoBase64=video if media else None,
            RequestId="rid-media",
        )

    monkeypatch.setattr(verifications, "read_result", read_result)

    def get(query: str) -> Response:
        event = http_event(method="GET", path="/verifications/TOKEN-123456")
        event["body"] = None
        if query:
            event["rawQueryString"] = query
            event["queryStringParameters"] = dict([query.split("=")])
        return invoke(event)

    # WHEN it is read with its media THEN the answer is a defined 413 that says what to do
    too_large = get("include=media")
    assert too_large.status == 413
    assert too_large.body["Error"]["Code"] == "ResponseTooLarge"
    assert "without include=media" in too_large.body["Error"]["Message"]
    assert too_large.body["RequestId"] == "rid-media"
    assert len(json.dumps(too_large.raw)) < 6 * 1024 * 1024
    # AND without the media it is readable
    plain = get("")
    assert plain.status == 200
    assert plain.body["Status"] == "passed"


# -- the catch-all route ($default, no authorizer) -------------------------------------------------


def test_with_auth_on_an_unknown_route_is_404_and_a_known_one_401(
    invoke: Invoke, auth_on: Callable[..., None], emulator: Emulator
) -> None:
    # GIVEN the JWT authorizer on the two routes; the catch-all route has none (CORS preflights go there)
    auth_on(API_BASE_PATHS="/faceid")
    unknown = http_event(method="GET", path="/admin")
    unknown["body"] = None
    assert invoke(unknown).status == 404
    # a known route without claims (a misconfigured route, a direct call) is still refused
    known = behind_custom_domain(http_event(body=start_body(), path="/verifications/"), "http", "/faceid")
    assert invoke(known).status == 401
    assert emulator.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_cors_preflight_that_reaches_the_function_is_204(
    invoke: Invoke, auth_on: Callable[..., None], kind: str
) -> None:
    auth_on()
    event = http_event(kind, method="OPTIONS", path="/verifications", headers={"origin": "https://app.example.com"})
    event["body"] = None
    response = invoke(event)
    assert response.status == 204
    assert response.body is None


# -- no open wallet: only the configured COS buckets ------------------------------------------------


def test_only_the_configured_cos_buckets_may_be_named(
    invoke: Invoke, configure: Callable[..., None], emulator: Emulator, logs: LogLines
) -> None:
    configure(FACEID_COS_BUCKETS="photos-1250000000")
    assert invoke(http_event(body=start_body())).status == 201  # COS_URL is in photos-1250000000
    before = len(emulator.calls)
    other = "https://someone-1300000000.cos.ap-singapore.myqcloud.com/alice/reference.jpg"
    response = invoke(http_event(body=start_body(CompareImageUrl=other)))
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.CompareImageUrl"
    assert len(emulator.calls) == before  # nothing was sent
    assert warnings(logs)[-1]["error"] == "InvalidParameterValue.CompareImageUrl"


# -- hostile bodies ---------------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A start body whose Extra nests arrays so that the whole body is `depth` levels deep."""
    body = json.dumps(start_body())
    return body[:-1] + ', "Extra": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_nested_deeper_than_32_levels_is_a_400(
    invoke: Invoke, emulator: Emulator, logs: LogLines, kind: str
) -> None:
    # GIVEN a body 10,000 levels deep (20 KB: within the size limit; json's parser would recurse 10,000 times)
    response = invoke(http_event(kind, raw_body=nested(10_000)))
    # THEN a 400 that says why, before the body is parsed: no 500, no traceback
    assert response.status == 400, response.body
    assert response.body["Error"] == {"Code": "InvalidParameter", "Message": "The body is nested deeper than 32 levels"}
    assert [w["error"] for w in warnings(logs)] == ["InvalidParameter"]
    assert [r for r in logs.records() if r["level"] == "ERROR"] == []
    # AND the limit is 32: one level more is too deep; 32 are parsed (and Extra refused: not a string)
    assert invoke(http_event(kind, raw_body=nested(33))).body["Error"] == response.body["Error"]
    assert invoke(http_event(kind, raw_body=nested(32))).body["Error"] == {
        "Code": "InvalidParameter",
        "Message": "Extra must be a string of at most 1000 characters",
    }
    assert emulator.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_over_64_kib_is_a_413(invoke: Invoke, emulator: Emulator, kind: str) -> None:
    from faceid_fn.entrypoints.http.body import MAX_REQUEST_BODY_BYTES

    body = json.dumps(start_body())
    # GIVEN a body one byte over the limit (its spaces are valid JSON: only its size is wrong)
    over = body[:-1] + " " * (MAX_REQUEST_BODY_BYTES - len(body) + 1) + "}"
    response = invoke(http_event(kind, raw_body=over))
    assert response.status == 413, response.body
    assert response.body["Error"] == {"Code": "RequestTooLarge", "Message": "The body is larger than 65,536 bytes"}
    # AND the limit counts bytes (UTF-8), not characters
    accents = body[:-1] + ', "Extra": "' + "é" * (MAX_REQUEST_BODY_BYTES // 2) + '"}'
    assert invoke(http_event(kind, raw_body=accents)).status == 413
    # AND a body nested 100,000 levels deep (200 KB) is refused for its size before its depth: never a 500
    assert invoke(http_event(kind, raw_body=nested(100_000))).status == 413
    assert emulator.calls == []
    # AND a body of exactly the limit is read
    exact = body[:-1] + " " * (MAX_REQUEST_BODY_BYTES - len(body)) + "}"
    assert invoke(http_event(kind, raw_body=exact)).status == 201
