"""HTTP routes (Powertools Event Handler, validation on) and the error envelope.

The same routes serve API Gateway HTTP API (payload 2.0), REST API (1.0) and Lambda Function URL
events: `resolver_for(event)` picks (and builds once) the resolver that reads that event shape.
"""

from __future__ import annotations

import binascii
import functools
import json
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from re import Pattern
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import ValidationError

from faceid_fn import container
from faceid_fn.completion import SessionSource, check_owner, is_final, record_session, settle_result
from faceid_fn.config import ConfigError
from faceid_fn.errors import InvalidInput, ServiceError, UpstreamError
from faceid_fn.flows import INTL_MAX_PHOTO_BYTES
from faceid_fn.models import ErrorBody, ErrorDetail, Session, StartVerification, VerificationResult
from faceid_fn.observability import logger, metrics
from faceid_fn.service import read_result, start_verification
from faceid_fn.storage import read_photo_at

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
BIZ_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"  # noqa: S105 - a pattern, not a secret

_FIELD_RULES = {
    "BizToken": "The BizToken in the path is not valid",
    "include": "include may only be `media`",
    "Extra": "Extra must be a string of at most 1000 characters",
    "CompareImageUrl": "CompareImageUrl must be a non-empty string of at most 4096 characters",
    "CompareImageMd5": "CompareImageMd5 must be 32 hexadecimal digits",
    "RedirectUrl": "RedirectUrl must be a string of at most 2048 characters",
    "Config": "Config must be an object with Language (th, en, zh-cn, zh-tc, id) and/or ThemeColor (#RRGGBB)",
}


# The claims that name a caller, in order: `sub`, else `client_id` (OAuth client-credentials tokens of
# Cognito and others carry no `sub`: the client is the caller).
CALLER_CLAIMS = ("sub", "client_id")


def _authorizer(event: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """API Gateway's authorizer context, and the claims in it (a JWT authorizer's, or a Lambda authorizer's)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    if not isinstance(authorizer, dict):
        return None, None
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, dict) else authorizer.get("claims")
    return authorizer, claims if isinstance(claims, dict) else None


def caller_subject(event: dict[str, Any]) -> str | None:
    """The authenticated caller named by API Gateway's authorizer, if any: the JWT's `sub`, else its
    `client_id` (prefixed `client:` so that it never equals a user's `sub`), or a Lambda authorizer's
    principal."""
    authorizer, claims = _authorizer(event)
    if authorizer is None:
        return None
    if claims is None:
        subject = authorizer.get("principalId")
        return subject if isinstance(subject, str) and subject else None
    for claim in CALLER_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value if claim == "sub" else f"{claim.removesuffix('_id')}:{value}"
    return None


def has_claims(event: dict[str, Any]) -> bool:
    """Whether an authorizer passed claims at all (a token without a caller claim is another 401)."""
    return bool(_authorizer(event)[1])


class Unauthorized(ServiceError):
    """No identified caller while AUTH_REQUIRED is on."""

    status = HTTPStatus.UNAUTHORIZED


def not_a_caller(event: dict[str, Any]) -> Unauthorized:
    """The 401 for a request without the authorizer's claims, or with claims that name no caller
    (neither `sub` nor `client_id`)."""
    if has_claims(event):
        return Unauthorized("Unauthorized", "The token names no caller: it needs a sub or client_id claim")
    return Unauthorized("Unauthorized", "A valid bearer token is required")


def require_caller(event: dict[str, Any]) -> str | None:
    """The caller an operation acts for (None only with AUTH_REQUIRED off). Every operation that touches
    a session, a photo, the ledger or FaceID asks this first: whatever route or path brought the request
    (the catch-all route `$default` has no authorizer), a request without a caller goes no further."""
    subject = caller_subject(event)
    if subject is None and container.settings().auth_required:
        raise not_a_caller(event)
    return subject


def _register_routes(app: ApiGatewayResolver) -> None:

    def caller_first(handler: Callable[[Any], Response[dict[str, Any]]]) -> Callable[[Any], Response[dict[str, Any]]]:
        """A route refuses a request (its body, its parameters, its shape) only to a caller it would
        serve: without one, the answer is the operation's 401, so that an anonymous request learns
        nothing about its other faults (the request validation runs before the operation's own check)."""

        @functools.wraps(handler)
        def answer(exc: Any) -> Response[dict[str, Any]]:
            try:
                require_caller(app.current_event.raw_event)
            except Unauthorized as refused:
                return _error(app, refused.status, refused.code, refused.message)
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
        trace_id = logger.get_correlation_id() or _request_id(app)
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
            trace_id=logger.get_correlation_id() or _request_id(app),
            include_media=include == "media",
        )
        if not announced:  # issue 11 hook: the first final status read is announced, once
            settle_result(result, ledger=ledger, publisher=container.publisher())
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
        return _error(app, exc.status, exc.code, exc.message, exc.request_id, exc.headers, logged=logged)

    @app.exception_handler(RequestValidationError)
    @caller_first
    def on_validation_error(exc: RequestValidationError) -> Response[dict[str, Any]]:
        code, message = validation_error(exc.errors())
        return _error(app, HTTPStatus.BAD_REQUEST, code, message)

    @app.exception_handler([binascii.Error, UnicodeDecodeError])
    @caller_first
    def on_undecodable_body(_: Exception) -> Response[dict[str, Any]]:
        return _error(app, HTTPStatus.BAD_REQUEST, "InvalidParameter", "The body is not valid base64 or UTF-8")

    @app.exception_handler(ValueError)
    @caller_first
    def on_unreadable_body(exc: ValueError) -> Response[dict[str, Any]]:
        # Powertools raises bare ValueErrors while reading a body it cannot parse (e.g. multipart without
        # a boundary, found by schemathesis); nothing of ours raises one on purpose. A pydantic
        # ValidationError is a ValueError too: one of our models refusing our own data is our fault.
        if isinstance(exc, ValidationError):
            return _unexpected(app, exc)
        return _error(
            app, HTTPStatus.BAD_REQUEST, "InvalidParameter", "The body could not be read", cause=type(exc).__name__
        )

    @app.exception_handler(RequestUnsupportedContentType)
    @caller_first
    def on_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
        return _error(
            app, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "Send the body as application/json"
        )

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response[dict[str, Any]]:
        return _error(app, HTTPStatus.NOT_FOUND, "ResourceNotFound", "No such route")

    @app.exception_handler(Exception)
    @caller_first
    def on_unexpected(exc: Exception) -> Response[dict[str, Any]]:
        return _unexpected(app, exc)


class ResponseTooLarge(ServiceError):
    """The answer would not fit in a Lambda response."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class RequestTooLarge(ServiceError):
    """A body larger than any request of this API needs."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


# A start request's body is a few hundred bytes and three levels deep (the object, Config, its values);
# its longest fields (CompareImageUrl 4,096 characters, RedirectUrl 2,048, Extra 1,000) fit in 64 KiB
# even written as six-byte JSON `\uXXXX` escapes. Anything larger or deeper is refused before it is
# parsed (API Gateway and Lambda alone would pass up to 6 MB, and json's parser recurses once per level).
MAX_REQUEST_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
_JSON_STRUCTURE = re.compile(r'[\\"\[\]{}]')


def read_json_body(text: str) -> Any:
    """A request body as JSON (the resolvers' deserializer), size and depth checked first."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_REQUEST_BODY_BYTES:
        raise RequestTooLarge("RequestTooLarge", f"The body is larger than {MAX_REQUEST_BODY_BYTES:,} bytes")
    if json_depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidInput("InvalidParameter", f"The body is nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text)


def json_depth(text: str, stop_after: int) -> int:
    """How deeply JSON text nests arrays and objects (brackets inside strings do not count), in one pass
    over its structural characters; counting stops once past `stop_after`. Not a validator: the parser
    refuses what is not JSON."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:  # the character after a backslash in a string
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


# Lambda's limit for a synchronous answer is 6 MB (6,291,456 bytes) for the whole proxy response: keep
# the body well under it (the headers and the JSON envelope around the body take the rest).
MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024


def _unexpected(app: ApiGatewayResolver, exc: Exception) -> Response[dict[str, Any]]:
    """An exception nothing else answered: a malformed event (400), else our fault (500, logged)."""
    kind = http_kind(app.current_event.raw_event) or "http"
    if not has_shape(kind, app.current_event.raw_event):  # e.g. a body that is not a string
        message = f"The event is not a valid {kind} event"
        return _error(app, HTTPStatus.BAD_REQUEST, "MalformedEvent", message, cause=type(exc).__name__)
    logger.exception("unhandled error")
    return _error(app, HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "Internal error")


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


def validation_error(errors: Any) -> tuple[str, str]:
    """Our (code, message) for the first pydantic/Powertools validation error of a request."""
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        kind = err.get("type", "")
        if kind == "json_invalid":
            return "InvalidParameter", "The body is not valid JSON"
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


def _request_id(app: ApiGatewayResolver) -> str:
    context = app.current_event.raw_event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return str(request_id or getattr(app.lambda_context, "aws_request_id", "") or "unknown")


def _error(
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
    body = ErrorBody(Error=ErrorDetail(Code=code, Message=message), RequestId=request_id or _request_id(app))
    metrics.add_metric(name="RequestRejected" if status < 500 else "RequestFailed", unit="Count", value=1)
    if status < 500 and not logged:
        _log_rejected(status, code, cause)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(mode="json", by_alias=True),
        headers=headers or None,
    )


def _build(resolver: Callable[..., ApiGatewayResolver], base_paths: tuple[str, ...]) -> ApiGatewayResolver:
    # A custom domain's base path (API mapping) stays in the path the event carries: strip it.
    prefixes: list[str | Pattern[str]] = list(base_paths)
    app = resolver(enable_validation=True, strip_prefixes=prefixes or None, json_body_deserializer=read_json_body)
    _register_routes(app)
    return app


def _base_paths() -> tuple[str, ...]:
    try:
        return container.settings().api_base_paths
    except ConfigError:  # only `make openapi` builds routes without a configuration (a function stops
        return ()  # at cold start on a bad one: handler.py, container.warm_up)


# One trailing-slash rule for the three triggers: Powertools' REST resolver ignores trailing slashes
# (`/verifications/` is `/verifications`); the HTTP API and Function URL resolvers did not. The pattern
# ends at `\Z`, the end of the path: Powertools' `$` also matches before a final newline, and HTTP APIs
# pass a decoded `%0A` in the path (`/verifications\n` would have been `/verifications`).
_ANY_TRAILING_SLASHES = r"^{}/*\Z"


class _RestResolver(APIGatewayRestResolver):
    @staticmethod
    def _compile_regex(rule: str, base_regex: str = _ANY_TRAILING_SLASHES) -> Pattern[str]:
        return ApiGatewayResolver._compile_regex(rule, _ANY_TRAILING_SLASHES)  # type: ignore[no-any-return]


class _HttpApiResolver(APIGatewayHttpResolver):
    @staticmethod
    def _compile_regex(rule: str, base_regex: str = _ANY_TRAILING_SLASHES) -> Pattern[str]:
        return ApiGatewayResolver._compile_regex(rule, _ANY_TRAILING_SLASHES)  # type: ignore[no-any-return]


class _FunctionUrlResolver(LambdaFunctionUrlResolver):
    @staticmethod
    def _compile_regex(rule: str, base_regex: str = _ANY_TRAILING_SLASHES) -> Pattern[str]:
        return ApiGatewayResolver._compile_regex(rule, _ANY_TRAILING_SLASHES)  # type: ignore[no-any-return]


# A resolver holds the request it is serving (event, context, matched route). Lambda serves one request
# at a time per instance; threads of one process (the tests' concurrent callers, a threaded local server)
# each get resolvers of their own instead of sharing that state.
_RESOLVERS = threading.local()
_KINDS: dict[str, Callable[..., ApiGatewayResolver]] = {
    "rest": _RestResolver,
    "http": _HttpApiResolver,
    "function_url": _FunctionUrlResolver,
}


def has_shape(kind: str, event: dict[str, Any]) -> bool:
    """Whether the event has its trigger's shape, by Powertools' parser models (imported on this,
    the error path, only: the models package costs tens of milliseconds to import)."""
    from aws_lambda_powertools.utilities.parser import models

    shapes: dict[str, Any] = {
        "rest": models.APIGatewayProxyEventModel,
        "http": models.APIGatewayProxyEventV2Model,
        "function_url": models.LambdaFunctionUrlModel,
    }
    try:
        shapes[kind].model_validate(event)
    except ValidationError:
        return False
    return True


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


def handle(kind: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve an HTTP event. What escapes the resolver (not a route: those end in exception
    handlers) is an event it could not even read."""
    if _method(event) == "OPTIONS":
        # A CORS preflight that reached the function through the catch-all route (no token, no body):
        # API Gateway adds the configured CORS headers to this answer.
        return {"statusCode": HTTPStatus.NO_CONTENT, "headers": {}, "body": "", "isBase64Encoded": False}
    # Who may do what is decided by each operation (require_caller), not here: a path test here and the
    # resolver's route patterns could disagree about which paths name a route.
    subject = caller_subject(event)
    if subject:
        logger.append_keys(caller=subject)  # on every log line of this request
    event, media_type_ok = with_json_media_type(event)
    if not media_type_ok:
        return unsupported_media_type(event)
    try:
        return resolver(kind).resolve(event, context)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        if subject is None and container.settings().auth_required:
            return unauthorized(event)  # fail closed: an event that cannot be routed is said only to a caller
        return malformed(kind, event, type(exc).__name__)


def _method(event: dict[str, Any]) -> str:
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else event.get("httpMethod")
    return method.upper() if isinstance(method, str) else ""


def with_json_media_type(event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Whether a request's body is JSON by its Content-Type (media types are case-insensitive, RFC 9110;
    none at all is taken as JSON), and the event with the type spelled as Powertools expects it. A form
    or multipart body (what `curl -d` sends without -H) is refused with 415 instead of being read as
    form fields."""
    headers = event.get("headers")
    if not isinstance(headers, dict) or not event.get("body"):
        return event, True
    name = next((k for k in headers if isinstance(k, str) and k.lower() == "content-type"), None)
    value = headers.get(name) if name else None
    if not isinstance(value, str) or not value.strip():
        return event, True
    media_type, _, parameters = value.partition(";")
    if media_type.strip().lower() != "application/json":
        return event, False
    spelled = "application/json" + (f";{parameters}" if parameters else "")
    others = {k: v for k, v in headers.items() if k != name}
    return {**event, "headers": {**others, "content-type": spelled}}, True


def http_kind(event: dict[str, Any]) -> str | None:
    """Which HTTP trigger produced this event, or None when it is not an HTTP event."""
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return None
    if event.get("version") == "2.0" and isinstance(context.get("http"), dict):
        if ".lambda-url." in str(context.get("domainName", "")):
            return "function_url"
        return "http"
    if "httpMethod" in event:
        return "rest"
    return None


def resolver(kind: str) -> ApiGatewayResolver:
    key = (kind, _base_paths())
    built: dict[tuple[str, tuple[str, ...]], ApiGatewayResolver] = _RESOLVERS.__dict__.setdefault("built", {})
    if key not in built:
        built[key] = _build(_KINDS[kind], key[1])
    return built[key]
