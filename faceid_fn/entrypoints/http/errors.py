"""The error envelope of every HTTP answer: status, code and message, never the caller's values."""

from __future__ import annotations

import binascii
import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import (
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import ValidationError

from faceid_fn.domain.errors import ServiceError, UpstreamError
from faceid_fn.domain.models import PHOTO_PAIR, ErrorBody, ErrorDetail
from faceid_fn.entrypoints.http.auth import Unauthorized, not_a_caller, require_caller
from faceid_fn.entrypoints.http.events import has_shape, http_kind
from faceid_fn.observability import logger, metrics

ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    status: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for status, text in (
        (400, "Invalid input"),
        (401, "No authenticated caller (when the JWT authorizer is on)"),
        (415, "The body is not JSON"),
        (409, "Idempotency-Key reused with another body, or its first request still running"),
        (429, "FaceID rate limit reached; retry after Retry-After seconds"),
        (502, "FaceID failed or rejected our credentials"),
        (503, "FaceID is not available for this account"),
        (504, "FaceID did not answer in time"),
    )
}


# Messages for validation errors are ours: a caller's values are never echoed back (an unknown field's
# name is, truncated to 64 characters).
_FIELD_RULES = {
    "BizToken": "The BizToken in the path is not valid",
    "include": "include may only be `media`",
    "Extra": "Extra must be a string of at most 1000 characters",
    "CompareImageUrl": "CompareImageUrl must be a non-empty string of at most 4096 characters",
    "CompareImageMd5": "CompareImageMd5 must be 32 hexadecimal digits",
    "RedirectUrl": "RedirectUrl must be a string of at most 2048 characters",
    "Config": "Config must be an object with Language (th, en, zh-cn, zh-tc, id) and/or ThemeColor (#RRGGBB)",
    "limit": "limit must be a whole number from 1 to 100",
    "cursor": "cursor must be the NextCursor of a page before (1 to 1024 characters)",
    "status": "status must be one of pending, passed, failed, expired, abandoned, error, canceled",
}


class ResponseTooLarge(ServiceError):
    """The answer would not fit in a Lambda response."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


# Lambda's limit for a synchronous answer is 6 MB (6,291,456 bytes) for the whole proxy response: keep
# the body well under it (the headers and the JSON envelope around the body take the rest).
MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024


def unexpected_error(app: ApiGatewayResolver, exc: Exception) -> Response[dict[str, Any]]:
    """An exception nothing else answered: a malformed event (400), else our fault (500, logged)."""
    kind = http_kind(app.current_event.raw_event) or "http"
    if not has_shape(kind, app.current_event.raw_event):  # e.g. a body that is not a string
        message = f"The event is not a valid {kind} event"
        return error_response(app, HTTPStatus.BAD_REQUEST, "MalformedEvent", message, cause=type(exc).__name__)
    logger.exception("unhandled error")
    return error_response(app, HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "Internal error")


def validation_error(errors: Any) -> tuple[str, str]:
    """Our (code, message) for the first pydantic/Powertools validation error of a request."""
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        kind = err.get("type", "")
        if kind == "json_invalid":
            return "InvalidParameter", "The body is not valid JSON"
        if kind == "value_error" and loc == ["body"]:  # the body's own rule (StartVerification's only one)
            return "InvalidParameter", PHOTO_PAIR
        if loc == ["body"] or (kind == "model_attributes_type" and len(loc) <= 1):
            return "InvalidParameter", "The body must be a JSON object"
        field = loc[1] if len(loc) > 1 and loc[0] == "body" else loc[-1] if loc else ""
        field = {"biz_token": "BizToken"}.get(field, field)
        if kind == "missing":
            return "InvalidParameter", f"{field} is required"
        if kind == "extra_forbidden":
            if field == "Config" and len(loc) > 2:
                return "InvalidParameterValue.Config", (
                    f"Config.{loc[2][:64]} cannot be set per request: only Language and ThemeColor "
                    "(security options are set server-side)"
                )
            return "InvalidParameter", f"Unknown field {field[:64]!r}"
        if field in _FIELD_RULES:
            if kind.endswith("_type"):
                return "InvalidParameter", _FIELD_RULES[field]
            return f"InvalidParameterValue.{field}", _FIELD_RULES[field]
    return "InvalidParameter", "The request is not valid"


def request_id_of(event: dict[str, Any], context: Any) -> str:
    """API Gateway's id of the request, else the invocation's."""
    request_context = event.get("requestContext")
    request_id = request_context.get("requestId") if isinstance(request_context, dict) else None
    return str(request_id or getattr(context, "aws_request_id", "") or "unknown")


def error_response(
    app: ApiGatewayResolver,
    status: int,
    code: str,
    message: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    logged: bool = False,
    cause: str | None = None,
) -> Response[dict[str, Any]]:
    body = ErrorBody(
        Error=ErrorDetail(Code=code, Message=message),
        RequestId=request_id or request_id_of(app.current_event.raw_event, app.lambda_context),
    )
    metrics.add_metric(name="RequestRejected" if status < 500 else "RequestFailed", unit="Count", value=1)
    if status < 500 and not logged:
        _log_rejected(status, code, cause)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(mode="json", by_alias=True),
        headers=headers or None,
    )


def register_error_handlers(app: ApiGatewayResolver) -> None:
    """Every error answer of the app, in our envelope. On the app, not on a Router: a Router's handlers
    apply only to its own routes, and these answer for every route and for requests that match none."""

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

    @app.exception_handler(ServiceError)
    @caller_first
    def on_service_error(exc: ServiceError) -> Response[dict[str, Any]]:
        # FaceID's own refusals were logged with their code by the call (faceid_client.py): not twice.
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


def malformed(kind: str, event: dict[str, Any], cause: str | None = None) -> dict[str, Any]:
    """The 400 answer to an event without its trigger's shape (only direct invocations make them)."""
    message = f"The event is not a valid {kind} event"
    return _direct_error(event, HTTPStatus.BAD_REQUEST, "MalformedEvent", message, cause)


def unauthorized(event: dict[str, Any]) -> dict[str, Any]:
    """The 401 of `require_caller`, for an event refused before routing."""
    refused = not_a_caller(event)
    return _direct_error(event, refused.status, refused.code, refused.message)


def unsupported_media_type(event: dict[str, Any]) -> dict[str, Any]:
    return _direct_error(
        event, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "Send the body as application/json"
    )


def _log_rejected(status: int, code: str, cause: str | None = None) -> None:
    """The one WARNING line of a request we refuse: its status and code (never the caller's values)."""
    extra: dict[str, Any] = {"status": int(status), "error": code}
    if cause:
        extra["cause"] = cause
    logger.warning("request rejected", extra=extra)


def _direct_error(
    event: dict[str, Any], status: HTTPStatus, code: str, message: str, cause: str | None = None
) -> dict[str, Any]:
    """An error answer built without the resolver (the request is refused before routing)."""
    context = event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, dict) else None
    body = ErrorBody(Error=ErrorDetail(Code=code, Message=message), RequestId=str(request_id or "unknown"))
    metrics.add_metric(name="RequestRejected", unit="Count", value=1)
    _log_rejected(status, code, cause)
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(),
        "isBase64Encoded": False,
    }
