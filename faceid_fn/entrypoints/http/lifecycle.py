"""The rest of a session's life: list the caller's sessions (GET /verifications), cancel one (POST
/verifications/{BizToken}/cancel), redact one (POST /verifications/{BizToken}/redact)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from faceid_fn import container
from faceid_fn.domain.errors import CallerRequired
from faceid_fn.domain.lifecycle import (
    LIST_DEFAULT,
    LIST_MAX,
    cancel_session,
    find_session,
    list_sessions,
    redact_session,
    summary_of,
)
from faceid_fn.domain.models import ErrorBody, Redaction, SessionList, SessionSummary, StatusName
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN
from faceid_fn.entrypoints.http.auth import require_caller

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


def _error(text: str) -> OpenAPIResponse:
    return {"description": text, "content": {"application/json": {"model": ErrorBody}}}


_COMMON: dict[int, OpenAPIResponse] = {
    400: _error("Invalid input (the BizToken, limit, cursor or status)"),
    401: _error("No authenticated caller (when the JWT authorizer is on)"),
    415: _error("A body was sent as another media type than JSON"),
    503: _error(
        "The session ledger, the idempotency table, the upload bucket or the event bus is unavailable; "
        "retry after Retry-After seconds"
    ),
}
_ONE_SESSION: dict[int, OpenAPIResponse] = {
    **_COMMON,
    404: _error("Unknown BizToken (with auth on: also another caller's)"),
    410: _error("The session was redacted (SessionRedacted)"),
}
BizToken = Annotated[str, Path(pattern=BIZ_TOKEN_PATTERN, description="The session's BizToken")]


@router.get(
    "/verifications",
    summary="List the caller's own sessions, newest first",
    responses={
        200: {"description": "A page of sessions", "content": {"application/json": {"model": SessionList}}},
        **_COMMON,
        403: _error("No caller to list the sessions of (auth off, no claims): CallerRequired"),
    },
)
def list_verifications(
    limit: Annotated[int, Query(ge=1, le=LIST_MAX, description="Sessions per page")] = LIST_DEFAULT,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=1024, description="NextCursor of the page before")
    ] = None,
    status: Annotated[StatusName | None, Query(description="Only sessions with this Status")] = None,
) -> SessionList:
    subject = require_caller(router.current_event.raw_event)  # before the ledger
    if subject is None:  # auth off, no claims: no session is anyone's to list
        raise CallerRequired()
    ledger = container.ledger()
    if ledger is None:  # auth off without SESSIONS_TABLE: nothing recorded, nothing to list
        return SessionList(Sessions=[])
    return list_sessions(subject, ledger=ledger, limit=limit, cursor=cursor, status=status)


@router.post(
    "/verifications/<biz_token>/cancel",
    summary="Cancel a pending session (its final Status becomes canceled)",
    responses={
        200: {"description": "The session, canceled", "content": {"application/json": {"model": SessionSummary}}},
        **_ONE_SESSION,
        409: _error("The session already has another final Status (SessionFinal, the message names it)"),
    },
)
def cancel_verification(biz_token: BizToken) -> SessionSummary:
    subject = require_caller(router.current_event.raw_event)  # before the ledger
    settings, ledger = container.settings(), container.ledger()
    record = find_session(biz_token, subject, ledger=ledger, auth_required=settings.auth_required)
    assert ledger is not None  # noqa: S101 - find_session refused the request without one
    return summary_of(cancel_session(record, ledger=ledger, publisher=container.publisher()))


@router.post(
    "/verifications/<biz_token>/redact",
    summary="Delete what faceid-fn holds of the person (a pending session is canceled first)",
    responses={
        200: {
            "description": "Redacted: what was deleted, and what is still kept elsewhere (FaceID's own copy)",
            "content": {"application/json": {"model": Redaction}},
        },
        **{k: v for k, v in _ONE_SESSION.items() if k != 410},
    },
)
def redact_verification(biz_token: BizToken) -> Redaction:
    subject = require_caller(router.current_event.raw_event)  # before the ledger, the bucket or the store
    settings, ledger = container.settings(), container.ledger()
    record = find_session(biz_token, subject, ledger=ledger, auth_required=settings.auth_required)
    assert ledger is not None  # noqa: S101 - find_session refused the request without one
    idempotency = container.idempotency()
    return redact_session(
        record,
        ledger=ledger,
        publisher=container.publisher(),
        erase_photo=container.erase_upload,
        forget_answer=idempotency.forget_session if idempotency.enabled else None,
    )
