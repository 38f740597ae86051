"""The verification routes: start a verification (POST /verifications), read its outcome (GET
/verifications/{BizToken})."""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import (
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from faceid_fn import container
from faceid_fn.adapters.tencent.cos import read_photo_at
from faceid_fn.domain.completion import (
    check_not_redacted,
    check_owner,
    held_status,
    is_final,
    offer_result,
    record_session,
    unknown_token,
)
from faceid_fn.domain.completion_events import SessionSource
from faceid_fn.domain.flows import INTL_MAX_PHOTO_BYTES
from faceid_fn.domain.models import ErrorBody, Session, StartVerification, VerificationResult
from faceid_fn.domain.outcomes import answers_from_ledger, ledger_result, owner_read_gap
from faceid_fn.domain.results import read_result
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN
from faceid_fn.domain.verification import start_verification
from faceid_fn.entrypoints.http.auth import require_caller
from faceid_fn.entrypoints.http.body import MAX_REQUEST_BODY_BYTES
from faceid_fn.entrypoints.http.errors import (
    ERROR_RESPONSES,
    MAX_BODY_BYTES,
    ResponseTooLarge,
    request_id_of,
)
from faceid_fn.entrypoints.http.returns import return_url_of
from faceid_fn.observability import logger

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.post(
    "/verifications",
    status_code=HTTPStatus.CREATED,
    summary="Start a FaceID web verification",
    responses={
        201: {"description": "Session started", "content": {"application/json": {"model": Session}}},
        **ERROR_RESPONSES,
        403: {
            "description": "CompareImageUrl is not in the caller's own folder (with auth on)",
            "content": {"application/json": {"model": ErrorBody}},
        },
        413: {
            "description": f"The body is larger than {MAX_REQUEST_BODY_BYTES:,} bytes",
            "content": {"application/json": {"model": ErrorBody}},
        },
        429: {
            "description": "The caller's session limit (TooManySessions) or FaceID's rate limit reached; "
            "retry after Retry-After seconds",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def post_verification(
    body: StartVerification,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="A retry with the same key and body returns the same session",
        ),
    ] = None,
) -> Response[str]:
    event = router.current_event.raw_event
    subject = require_caller(event)  # before the photo, the ledger or FaceID
    trace_id = logger.get_correlation_id() or request_id_of(event, router.lambda_context)
    return_url = return_url_of(event, container.settings())
    if idempotency_key and container.idempotency().enabled:
        # one session per key; the same key with another body is a conflict
        start = container.idempotency().once(start_keyed, model=Session, key_path="Key", payload_path="Body")
        container.idempotency().register(router.lambda_context)
        # A key is the caller's own: with the JWT authorizer on, another caller's same key is another key.
        key = f"{subject}\n{idempotency_key}" if subject else idempotency_key
        request = {
            "Key": key,
            "Body": body.model_dump(mode="json", by_alias=True),
            "TraceId": trace_id,
            "Owner": subject,
            "ReturnUrl": return_url,
        }
        session = start(request=request)
    else:
        request = {
            "Body": body.model_dump(mode="json", by_alias=True),
            "TraceId": trace_id,
            "Owner": subject,
            "ReturnUrl": return_url,
        }
        session = start_keyed(request=request)
    # The session's ledger item: its owner reads it, its outcome is announced once, and the return route
    # sends the browser on to the app's own page (checked by the start).
    record_session(
        container.ledger(),
        container.settings(),
        session=session,
        owner=subject,
        source=SessionSource(Type="http"),
        app_redirect=body.RedirectUrl,
    )
    # Serialized here (the documented 201 schema is Session, above): the validation middleware's
    # generic encoder is the costliest step of a warm request (bench/README.md).
    return Response(
        status_code=HTTPStatus.CREATED, content_type=content_types.APPLICATION_JSON, body=session.model_dump_json()
    )


@router.get(
    "/verifications/<biz_token>",
    summary="Read the outcome of a FaceID web verification",
    responses={
        200: {"description": "The outcome", "content": {"application/json": {"model": VerificationResult}}},
        **{k: v for k, v in ERROR_RESPONSES.items() if k != 409},
        404: {"description": "Unknown BizToken", "content": {"application/json": {"model": ErrorBody}}},
        410: {
            "description": "FaceID no longer keeps this result (3 days: ResultNoLongerAvailable), or its owner "
            "had it redacted (SessionRedacted)",
            "content": {"application/json": {"model": ErrorBody}},
        },
        413: {
            "description": "With include=media: the answer would exceed Lambda's 6 MB response limit",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def get_verification(
    biz_token: Annotated[str, Path(pattern=BIZ_TOKEN_PATTERN, description="The session's BizToken")],
    include: Annotated[
        Literal["media"] | None,
        Query(description="`media`: also return BestFrameBase64/VideoBase64 (intl flow; personal data)"),
    ] = None,
) -> VerificationResult:
    event = router.current_event.raw_event
    subject = require_caller(event)  # before the ledger or FaceID
    settings, ledger = container.settings(), container.ledger()
    request_id = logger.get_correlation_id() or request_id_of(event, router.lambda_context)
    record = None
    if settings.auth_required:  # only the session's owner reads it; others get "unknown"
        record = check_owner(biz_token, subject, ledger)
    elif ledger is not None:  # every session is in the ledger from its start: another token is unknown
        record = ledger.get(biz_token)
        if record is None:
            raise unknown_token()
    check_not_redacted(record)  # nothing of the person is read again once its owner had it deleted
    if ledger is not None and record is not None:
        # What the ledger knows is answered from it: FaceID's 20 reads a second are about one per session.
        if answers_from_ledger(record, include == "media"):
            return ledger_result(record, request_id)
        now = time.time()
        if not is_final(record.Status) and not ledger.take_read(
            record, now=now, then=now + owner_read_gap(record.OwnerReads)
        ):
            return ledger_result(record, request_id)  # read moments ago: still pending
    result = read_result(
        biz_token,
        settings=settings,
        faceid=container.faceid(),
        trace_id=request_id,
        include_media=include == "media",
        region=record.Region if record is not None else None,
    )
    result = held_status(result, record)  # a canceled session stays canceled, whatever FaceID says now
    announced = record is not None and is_final(record.Status)
    if not announced:  # the first final status read is announced, once
        offer_result(result, ledger=ledger, publisher=container.publisher())
    if include == "media" and len(result.model_dump_json()) > MAX_BODY_BYTES:
        # Lambda would refuse the answer with a platform error (a bare 502/500 at the gateway).
        raise ResponseTooLarge(
            "ResponseTooLarge",
            "The result with its media is larger than a Lambda response may be (6 MB): "
            "read it without include=media (Status, ErrorCode and the details stay readable)",
            result.RequestId,
        )
    return result


def start_keyed(*, request: dict[str, Any]) -> Session:
    """Start a session for a request body; the idempotent form of the route calls this once per key."""
    settings = container.settings()
    photo_limit = min(settings.upload_max_bytes, INTL_MAX_PHOTO_BYTES)
    return start_verification(
        StartVerification.model_validate(request["Body"]),
        settings=settings,
        faceid=container.faceid(),
        trace_id=str(request["TraceId"]),
        read_photo=lambda url: read_photo_at(container.cos(), url, photo_limit),
        owner=request.get("Owner"),
        starts=container.owner_starts(),  # counted here, once per Idempotency-Key: replays do not count
        return_url=request.get("ReturnUrl"),
    )
