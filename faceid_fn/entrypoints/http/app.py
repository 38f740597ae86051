"""The HTTP entry point: picks the resolver for the event's trigger (HTTP API, REST API, Function
URL), refuses what must not reach a route (no caller, not JSON), resolves the rest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http import HTTPStatus
from re import Pattern
from typing import Any

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from faceid_fn import container
from faceid_fn.config import ConfigError
from faceid_fn.entrypoints.http import lifecycle, returns, verifications
from faceid_fn.entrypoints.http.auth import caller_subject
from faceid_fn.entrypoints.http.body import read_json_body
from faceid_fn.entrypoints.http.errors import malformed, register_error_handlers, unauthorized, unsupported_media_type
from faceid_fn.entrypoints.http.events import with_json_media_type
from faceid_fn.observability import logger


def _build(resolver: Callable[..., ApiGatewayResolver], base_paths: tuple[str, ...]) -> ApiGatewayResolver:
    # A custom domain's base path (API mapping) stays in the path the event carries: strip it.
    prefixes: list[str | Pattern[str]] = list(base_paths)
    app = resolver(enable_validation=True, strip_prefixes=prefixes or None, json_body_deserializer=read_json_body)
    app.include_router(verifications.router)
    app.include_router(returns.router)
    app.include_router(lifecycle.router)
    register_error_handlers(app)
    return app


def _base_paths() -> tuple[str, ...]:
    try:
        return container.settings().api_base_paths
    except ConfigError:  # only `make openapi` builds routes without a configuration (a function stops
        return ()  # at cold start on a bad one: handler.py, container.check_configuration)


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


# A resolver holds the route it matched for the request it is serving, and clears it when done. Lambda
# serves one request at a time per instance; threads of one process each get their own resolver, so one
# thread's end of a request does not clear another's route. Powertools keeps the current event itself on
# its class, shared by every thread: concurrent callers that need more run as processes, as on Lambda.
_RESOLVERS = threading.local()
_KINDS: dict[str, Callable[..., ApiGatewayResolver]] = {
    "rest": _RestResolver,
    "http": _HttpApiResolver,
    "function_url": _FunctionUrlResolver,
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


def resolver(kind: str) -> ApiGatewayResolver:
    key = (kind, _base_paths())
    built: dict[tuple[str, tuple[str, ...]], ApiGatewayResolver] = _RESOLVERS.__dict__.setdefault("built", {})
    if key not in built:
        built[key] = _build(_KINDS[kind], key[1])
    return built[key]
