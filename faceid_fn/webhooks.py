"""Signed webhooks: each `Verification Completed` event, POSTed to WEBHOOK_URL per Standard Webhooks.

An EventBridge rule hands the event to the function (asynchronously). The body is `WebhookPayload`
(`{"type": "verification.completed", "timestamp", "data": {...the event's detail}}`), signed with the
`standardwebhooks` package: `webhook-id` is `msg_<BizToken>` (the same for every attempt and every
resend, so a receiver drops duplicates), `webhook-timestamp` is the attempt's time, `webhook-signature`
is `v1,<base64 HMAC-SHA256>` over `id.timestamp.body` with the `whsec_...` secret (Secrets Manager
WEBHOOK_SECRET_NAME through Powertools Parameters, cached; WEBHOOK_SECRET locally).

A non-2xx answer, a redirect or no answer within the timeout raises `WebhookFailed`: Lambda retries the
asynchronous invocation, then sends it to the function's on-failure queue. Nothing but the event's
detail (no media, no OCR fields) is ever sent, and the secret is never logged.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from faceid_fn import container
from faceid_fn.completion import WEBHOOK_TYPE, CompletionDetail, WebhookPayload
from faceid_fn.observability import logger, metrics
from faceid_fn.redaction import redact_url

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0

_session: Any = None


class WebhookFailed(RuntimeError):
    """The receiver did not take the webhook (Lambda's asynchronous retries take over)."""


def webhook_id(biz_token: str) -> str:
    return f"msg_{biz_token}"


def signed_request(detail: CompletionDetail, secret: str, now: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt."""
    from standardwebhooks import Webhook

    moment = now or datetime.now(UTC)
    body = WebhookPayload(type=WEBHOOK_TYPE, timestamp=detail.CompletedAt, data=detail).model_dump_json()
    msg_id = webhook_id(detail.BizToken)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
    }
    return body.encode(), headers


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Deliver one completion event to WEBHOOK_URL; raises WebhookFailed when the receiver did not take it."""
    global _session
    settings = container.settings()
    if isinstance(event.get("id"), str):
        logger.set_correlation_id(event["id"])
    try:
        detail = CompletionDetail.model_validate(event["detail"])
    except ValidationError:  # not one of ours: a retry cannot fix it, so it is not raised
        logger.warning("completion event without the expected detail ignored")
        metrics.add_metric(name="UnsupportedEvent", unit="Count", value=1)
        return {"Error": {"Code": "MalformedEvent", "Message": "The event's detail is not a completion"}}
    if not settings.webhook_url:
        metrics.add_metric(name="WebhookSkipped", unit="Count", value=1)
        logger.info("no WEBHOOK_URL: completion event not delivered", extra={"biz_token": detail.BizToken})
        return {"Delivered": False, "BizToken": detail.BizToken}
    body, headers = signed_request(detail, container.webhook_secret())
    if _session is None:
        import requests

        _session = requests.Session()
    started = time.monotonic()
    fields: dict[str, Any] = {
        "biz_token": detail.BizToken,
        "webhook_id": headers["webhook-id"],
        "url": redact_url(settings.webhook_url),
    }
    try:
        answer = _session.post(
            settings.webhook_url,
            data=body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            allow_redirects=False,
        )
        status = answer.status_code
        answer.close()
    except Exception as exc:  # requests' network errors and timeouts
        fields["error"] = type(exc).__name__
        status = 0
    fields["status"] = status
    fields["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    if not 200 <= status < 300:
        metrics.add_metric(name="WebhookFailed", unit="Count", value=1)
        logger.warning("webhook not delivered; Lambda retries it", extra=fields)
        raise WebhookFailed(f"webhook {headers['webhook-id']} not taken (HTTP {status or 'no answer'})")
    metrics.add_metric(name="WebhookDelivered", unit="Count", value=1)
    logger.info("webhook delivered", extra=fields)
    return {"Delivered": True, "BizToken": detail.BizToken, "Status": status}
