"""The HTTP routes: start a verification, read its outcome."""

from __future__ import annotations

import binascii
import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import (
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import ValidationError

from faceid_fn import container
from faceid_fn.adapters.tencent.cos import read_photo_at
from faceid_fn.domain.completion import check_owner, is_final, offer_result, record_session
from faceid_fn.domain.completion_events import SessionSource
from faceid_fn.domain.errors import ServiceError, UpstreamError
from faceid_fn.domain.flows import INTL_MAX_PHOTO_BYTES
from faceid_fn.domain.models import ErrorBody, Session, StartVerification, VerificationResult
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN
from faceid_fn.domain.verification import read_result, start_verification
from faceid_fn.entrypoints.http.auth import Unauthorized, require_caller
from faceid_fn.entrypoints.http.body import MAX_REQUEST_BODY_BYTES
from faceid_fn.entrypoints.http.errors import (
    ERROR_RESPONSES,
    MAX_BODY_BYTES,
    ResponseTooLarge,
    error_response,
    request_id_of,
    unexpected_error,
    validation_error,
)
from faceid_fn.observability import logger


def register_routes(app: ApiGatewayResolver) -> None:

    def caller_first(handler: Callable[[Any], Response[dict[str, Any]]]) -> Callable[[Any], Response[dict[str, Any]]]:
        """A route refuses a request (its body, its parameters, its shape) only to a caller it would
        serve: without one, the answer is the operation's 401, so that an anonymous request learns
        nothing about its other faults (the request validation runs before the operation's own check)."""

        @functools.wraps(handler)
        def answer(exc: Any) -> Response[dict[str, Any]]:
            try:
                require_caller(app.current_event.raw_event)
            except Unauthorized as refused:
                return error_response(app, refused.status, refused.code, refused.message)
            return handler(exc)

        return answer

    @app.post(
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
        subject = require_caller(app.current_event.raw_event)  # before the photo, the ledger or FaceID
        trace_id = logger.get_correlation_id() or request_id_of(app)
        if idempotency_key and container.idempotency().enabled:
            # one session per key; the same key with another body is a conflict
            start = container.idempotency().once(start_keyed, model=Session, key_path="Key", payload_path="Body")
            container.idempotency().register(app.lambda_context)
            # A key is the caller's own: with the JWT authorizer on, another caller's same key is another key.
            key = f"{subject}\n{idempotency_key}" if subject else idempotency_key
            request = {
                "Key": key,
                "Body": body.model_dump(mode="json", by_alias=True),
                "TraceId": trace_id,
                "Owner": subject,
            }
            session = start(request=request)
        else:
            request = {"Body": body.model_dump(mode="json", by_alias=True), "TraceId": trace_id, "Owner": subject}
            session = start_keyed(request=request)
        # Issue 11 hook: the session's ledger item (its owner reads it; its outcome is announced once).
        record_session(
            container.ledger(), container.settings(), session=session, owner=subject, source=SessionSource(Type="http")
        )
        # Serialized here (the documented 201 schema is Session, above): the validation middleware's
        # generic encoder is the costliest step of a warm request (bench/warm.py).
        return Response(
            status_code=HTTPStatus.CREATED, content_type=content_types.APPLICATION_JSON, body=session.model_dump_json()
        )

    @app.get(
        "/verifications/<biz_token>",
        summary="Read the outcome of a FaceID web verification",
        responses={
            200: {"description": "The outcome", "content": {"application/json": {"model": VerificationResult}}},
            **{k: v for k, v in ERROR_RESPONSES.items() if k != 409},
            404: {"description": "Unknown BizToken", "content": {"application/json": {"model": ErrorBody}}},
            410: {
                "description": "FaceID no longer keeps this result (3 days)",
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
        subject = require_caller(app.current_event.raw_event)  # before the ledger or FaceID
        settings, ledger = container.settings(), container.ledger()
        announced = False
        if settings.auth_required:  # issue 11 hook: only the session's owner reads it; others get "unknown"
            record = check_owner(biz_token, subject, ledger)
            announced = is_final(record.Status)
        result = read_result(
            biz_token,
            settings=settings,
            faceid=container.faceid(),
            trace_id=logger.get_correlation_id() or request_id_of(app),
            include_media=include == "media",
        )
        if not announced:  # issue 11 hook: the first final status read is announced, once
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

    @app.exception_handler(ServiceError)
    @caller_first
    def on_service_error(exc: ServiceError) -> Response[dict[str, Any]]:
        # FaceID's own refusals were logged with their code by the call (faceid.py): not twice.
        logged = isinstance(exc, UpstreamError)
        return error_response(app, exc.status, exc.code, exc.message, exc.request_id, exc.headers, logged=logged)

    @app.exception_handler(RequestValidationError)
    @caller_first
    def on_validation_error(exc: RequestValidationError) -> Response[dict[str, Any]]:
        code, message = validation_error(exc.errors())
        return error_response(app, HTTPStatus.BAD_REQUEST, code, message)

    @app.exception_handler([binascii.Error, UnicodeDecodeError])
    @caller_first
    def on_undecodable_body(_: Exception) -> Response[dict[str, Any]]:
        return error_response(app, HTTPStatus.BAD_REQUEST, "InvalidParameter", "The body is not valid base64 or UTF-8")

    @app.exception_handler(ValueError)
    @caller_first
    def on_unreadable_body(exc: ValueError) -> Response[dict[str, Any]]:
        # Powertools raises bare ValueErrors while reading a body it cannot parse (e.g. multipart without
        # a boundary, found by schemathesis); nothing of ours raises one on purpose. A pydantic
        # ValidationError is a ValueError too: one of our models refusing our own data is our fault.
        if isinstance(exc, ValidationError):
            return unexpected_error(app, exc)
        return error_response(
            app, HTTPStatus.BAD_REQUEST, "InvalidParameter", "The body could not be read", cause=type(exc).__name__
        )

    @app.exception_handler(RequestUnsupportedContentType)
    @caller_first
    def on_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
        return error_response(
            app, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "Send the body as application/json"
        )

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response[dict[str, Any]]:
        return error_response(app, HTTPStatus.NOT_FOUND, "ResourceNotFound", "No such route")

    @app.exception_handler(Exception)
    @caller_first
    def on_unexpected(exc: Exception) -> Response[dict[str, Any]]:
        return unexpected_error(app, exc)


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
    )
