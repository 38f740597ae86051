"""Caller authentication: API Gateway's JWT authorizer, and the function's own check of its claims."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faceid_fn.domain.flows import LEGACY_WARNING
from tests.aws import EVENT_BUS, SESSIONS_TABLE, create_ledger_and_bus
from tests.conftest import Emulator, LogLines, Response, http_event, start_body

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow


@pytest.fixture
def auth_on(aws: None, configure: Callable[..., None]) -> Callable[..., None]:
    """AUTH_REQUIRED, with the session ledger it needs (moto)."""
    create_ledger_and_bus()

    def apply(**overrides: str) -> None:
        configure(AUTH_REQUIRED="true", SESSIONS_TABLE=SESSIONS_TABLE, EVENT_BUS_NAME=EVENT_BUS, **overrides)

    return apply


def with_jwt_claims(event: dict[str, Any], sub: str) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": sub, "aud": "faceid-fn"}, "scopes": None}}
    return event


def test_authenticated_caller_is_attached_to_the_session_logs(
    invoke: Callable[[dict[str, Any]], Response], auth_on: Callable[..., None], logs: LogLines
) -> None:
    auth_on()
    photo = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/user-42/photo.jpg"  # the caller's own
    response = invoke(with_jwt_claims(http_event(body=start_body(CompareImageUrl=photo)), "user-42"))
    assert response.status == 201
    # the request's lines (not the cold start's own: the legacy flow's warning comes before any request)
    records = [r for r in logs.records() if r["message"] != LEGACY_WARNING]
    assert {r["message"] for r in records} >= {"FaceID call succeeded"}
    assert all(r.get("caller") == "user-42" for r in records)


def test_call_without_claims_is_refused_when_auth_is_required(
    invoke: Callable[[dict[str, Any]], Response], auth_on: Callable[..., None], emulator: Emulator
) -> None:
    auth_on()
    response = invoke(http_event(body=start_body(), request_id="anon-1"))
    assert response.status == 401
    assert response.body == {
        "Error": {"Code": "Unauthorized", "Message": "A valid bearer token is required"},
        "RequestId": "anon-1",
    }
    assert emulator.calls == []


def test_anonymous_calls_pass_when_auth_is_off(invoke: Callable[[dict[str, Any]], Response]) -> None:
    assert invoke(http_event(body=start_body())).status == 201


def test_the_caller_does_not_leak_into_the_next_invocation(
    invoke: Callable[[dict[str, Any]], Response], logs: LogLines
) -> None:
    invoke(with_jwt_claims(http_event(body=start_body()), "user-1"))
    import handler
    from tests.conftest import LambdaContext

    handler.handler(http_event(body=start_body()), LambdaContext())
    last = logs.records("FaceID call succeeded")[-1]
    assert "caller" not in last


def test_auth_is_checked_before_the_body(
    invoke: Callable[[dict[str, Any]], Response], auth_on: Callable[..., None]
) -> None:
    # GIVEN auth required, an anonymous caller sending garbage
    auth_on()
    response = invoke(http_event(raw_body="not json"))
    # THEN it learns nothing about the body's problems: 401 first
    assert response.status == 401


def on_the_catch_all_route(event: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API's `$default` route (serverless.yml routes every other path there): no authorizer runs."""
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    return event


def ledger_items() -> int:
    import boto3

    from tests.aws import AWS_REGION

    return int(boto3.client("dynamodb", region_name=AWS_REGION).scan(TableName=SESSIONS_TABLE)["Count"])


@pytest.mark.parametrize("path", ["/verifications\n", "/verifications/\n", "/verifications//\n"])
def test_a_path_ending_in_a_newline_starts_nothing_without_a_caller(
    invoke: Callable[[dict[str, Any]], Response], auth_on: Callable[..., None], emulator: Emulator, path: str
) -> None:
    # GIVEN auth required, and `POST /verifications%0A` on the catch-all route (HTTP APIs decode the
    # %0A into rawPath), without claims
    auth_on()
    response = invoke(on_the_catch_all_route(http_event(body=start_body(), path=path, request_id="probe-1")))
    # THEN it names no route (a route's pattern ends where the path ends), and nothing is started
    assert response.status == 404, response.body
    assert response.body["Error"]["Code"] == "ResourceNotFound"
    assert emulator.calls == []
    assert ledger_items() == 0


NO_CALLER = {
    "no authorizer": (None, "A valid bearer token is required"),
    "empty": ({}, "A valid bearer token is required"),
    "jwt without claims": ({"jwt": {"claims": {}, "scopes": None}}, "A valid bearer token is required"),
    "lambda authorizer": ({"lambda": {"user": "user-42"}}, "A valid bearer token is required"),
    "empty principal": ({"principalId": ""}, "A valid bearer token is required"),
    "claims naming no caller": (
        {"jwt": {"claims": {"sub": "", "aud": "faceid-fn"}, "scopes": None}},
        "The token names no caller: it needs a sub or client_id claim",
    ),
}


@pytest.mark.parametrize("authorizer", NO_CALLER.values(), ids=NO_CALLER.keys())
@pytest.mark.parametrize(("method", "path"), [("POST", "/verifications"), ("GET", "/verifications/TOKEN-123456")])
def test_an_operation_refuses_a_request_without_a_caller_whatever_path_brought_it(
    invoke: Callable[[dict[str, Any]], Response],
    auth_on: Callable[..., None],
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    authorizer: tuple[dict[str, Any] | None, str],
    method: str,
    path: str,
) -> None:
    # GIVEN auth required, and a request on an HTTP API's named stage that reaches the catch-all route
    # (a trailing slash matches no route key): the stage leads the path (`/prod/verifications/`) and
    # the router takes it off, where a test of the path alone saw no route
    auth_on()
    photo = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/user-42/photo.jpg"  # the caller's own
    body = start_body(CompareImageUrl=photo)
    event = on_the_catch_all_route(http_event(body=body, method=method, path=f"/prod{path}/"))
    event["requestContext"]["stage"] = "prod"
    context, message = authorizer
    if context is not None:
        event["requestContext"]["authorizer"] = context
    from faceid_fn.adapters.aws.ledger import Ledger

    ledger_calls: list[str] = []
    monkeypatch.setattr(Ledger, "get", lambda _, token: ledger_calls.append(token))
    # THEN the operation refuses it before reading the ledger or calling FaceID
    response = invoke(event)
    assert response.status == 401, response.body
    assert response.body["Error"] == {"Code": "Unauthorized", "Message": message}
    assert emulator.calls == []
    assert ledger_calls == []
    assert ledger_items() == 0
    # AND with a caller, the same request reaches the operation
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "user-42"}, "scopes": None}}
    reached = invoke(event)
    if method == "POST":
        assert (reached.status, len(emulator.calls)) == (201, 1)
    else:  # the owner check reads the ledger; a token it does not know is FaceID's unknown-token 404
        assert (reached.status, ledger_calls) == (404, ["TOKEN-123456"])
