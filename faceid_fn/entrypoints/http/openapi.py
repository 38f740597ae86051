"""Print the OpenAPI document Powertools generates from the routes (`make openapi` -> openapi.json)."""

from __future__ import annotations

import json
from typing import Any

from faceid_fn.adapters.webhook_sender import ATTEMPT_DEADLINE_S, MAX_ANSWER_BYTES
from faceid_fn.entrypoints.http import app

TITLE = "faceid-fn"
VERSION = "1.0.0"


def document() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        app.resolver("http").get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            summary="Start a Tencent Cloud FaceID web verification and read its outcome",
        )
    )
    # Powertools documents its default 422 for validation errors; ours answer 400 with ErrorBody
    # (listed on every route), so the 422 and its schemas would describe answers that never come.
    # ResponseValidationError is never sent either (Powertools raises it only for a resolver given a
    # response_validation_error_http_code, which ours is not), and it refers to ValidationError: left
    # in, the document does not validate and client generators drop or refuse it.
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schema["components"]["schemas"].pop(name, None)
    _add_webhooks(schema)
    return schema


def _add_webhooks(schema: dict[str, Any]) -> None:
    """OpenAPI 3.1 `webhooks`: what faceid-fn POSTs to WEBHOOK_URL when a session is completed."""
    from faceid_fn.domain.completion_events import RedactionWebhookPayload, WebhookPayload

    for model in (WebhookPayload, RedactionWebhookPayload):
        payload = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema["components"]["schemas"].update(payload.pop("$defs", {}))
        schema["components"]["schemas"][model.__name__] = payload
    headers = {
        "webhook-id": "`msg_<BizToken>`: the same for every attempt at one session's webhook (drop duplicates)",
        "webhook-timestamp": "Seconds since the epoch when this attempt was signed (refuse if > 5 minutes off)",
        "webhook-signature": "`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` with the whsec_ secret",
    }
    delivery = (
        "Signed per Standard Webhooks (standardwebhooks.com). "
        f"Answer 2xx within {ATTEMPT_DEADLINE_S:g} s (connecting, the request and your status line and "
        f"headers together; headers within {MAX_ANSWER_BYTES // 1024} KiB, the "
        "body is not read); anything else is retried (Lambda's asynchronous retries), then parked in the "
        "on-failure queue. "
    )

    def webhook(operation: str, summary: str, description: str, payload: str) -> dict[str, Any]:
        parameters = [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
            for name, text in headers.items()
        ]
        return {
            "post": {
                "summary": summary,
                "description": delivery + description,
                "operationId": operation,
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}},
                },
                "responses": {"2XX": {"description": "Received (any 2xx; the body is ignored)"}},
            }
        }

    schema["webhooks"] = {
        "verificationCompleted": webhook(
            "verificationCompleted",
            "A verification session reached its final Status (sent once per session)",
            "Sent only for a session the ledger holds with that final Status and Owner.",
            "WebhookPayload",
        ),
        "verificationRedacted": webhook(
            "verificationRedacted",
            "A session's personal data was deleted on request (sent once per session)",
            "webhook-id is `msg_<BizToken>.redacted`. Sent only for a session the ledger holds as redacted, "
            "with that Owner and RedactedAt. FaceID still keeps its own copy of the result for 3 days.",
            "RedactionWebhookPayload",
        ),
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
