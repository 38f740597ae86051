"""The shapes of API Gateway and Function URL events: which trigger sent one, whether it is
well-formed, and its Content-Type."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


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
