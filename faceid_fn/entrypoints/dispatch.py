"""Route one Lambda event to the code for its trigger.

Each function takes its own triggers only (serverless.yml gives each its own role): the API function
HTTP requests and upload records, the COS uploads function COS upload records only (the COS forwarder's),
the sweep function the schedule, the delivery function the completion rule's events. Anything else is
answered `UnsupportedEvent`, never run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn.entrypoints.http import app, events
from faceid_fn.observability import logger, metrics


def dispatch(event: Any, context: LambdaContext) -> dict[str, Any]:
    """The API function: HTTP requests (API Gateway, Function URLs) and upload records (S3, COS)."""
    kind = events.http_kind(event) if isinstance(event, dict) else None
    if kind is not None:
        return app.handle(kind, event, context)
    if is_upload_event(event):
        from faceid_fn.entrypoints import uploads  # S3/COS parsing, storage and idempotency: upload events only

        return uploads.handle(event, context)
    return unsupported(event)


def dispatch_cos_uploads(event: Any, context: LambdaContext) -> dict[str, Any]:
    """The COS uploads function: COS upload records only, as the COS forwarder hands them on. Its invoker
    holds a key outside AWS: an HTTP event, with whatever authorizer claims it made up, is never run here."""
    if is_upload_event(event) and all("cos" in record and "eventSource" not in record for record in event["Records"]):
        from faceid_fn.entrypoints import uploads

        return uploads.handle(event, context)
    return unsupported(event)


def dispatch_sweep(event: Any, context: LambdaContext) -> dict[str, Any]:
    """The sweep function: EventBridge's `Scheduled Event`."""
    if _is_eventbridge(event, "aws.events", "Scheduled Event"):
        from faceid_fn.entrypoints import sweep  # the scheduled sweep of sessions nobody has read yet

        return sweep.handle(event, context)
    return unsupported(event)


def dispatch_delivery(event: Any, context: LambdaContext) -> dict[str, Any]:
    """The delivery function: the webhook rule's `Verification Completed` and `Verification Redacted` events."""
    if _is_eventbridge(event, "faceid-fn", "Verification Completed") or _is_eventbridge(
        event, "faceid-fn", "Verification Redacted"
    ):
        from faceid_fn.entrypoints import webhooks  # the EventBridge rule's hand-off: one signed webhook

        return webhooks.handle(event)
    return unsupported(event)


def unsupported(event: Any) -> dict[str, Any]:
    metrics.add_metric(name="UnsupportedEvent", unit="Count", value=1)
    logger.warning("event of an unknown trigger ignored", extra={"event_keys": _keys(event)})
    return {"Error": {"Code": "UnsupportedEvent", "Message": "This function does not handle this event"}}


def _is_eventbridge(event: Any, source: str, detail_type: str) -> bool:
    return isinstance(event, dict) and event.get("source") == source and event.get("detail-type") == detail_type


def is_upload_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return isinstance(records, list) and bool(records) and all(isinstance(r, dict) for r in records)


def _keys(event: Any) -> list[str]:
    return sorted(str(k) for k in event)[:20] if isinstance(event, dict) else [type(event).__name__]
