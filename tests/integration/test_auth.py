"""Caller authentication: API Gateway's JWT authorizer, and the function's own check of its claims."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faceid_fn.flows import LEGACY_WARNING
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
