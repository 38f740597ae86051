"""The delivery function: the webhook rule's `Verification Completed` (or `Verification Redacted`) event,
handed to the webhook sender (a WebhookFailed makes Lambda retry the invocation, then park it in the
on-failure queue)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from faceid_fn import container
from faceid_fn.domain.completion_events import REDACTED_DETAIL_TYPE, CompletionDetail, RedactionDetail
from faceid_fn.observability import logger, metrics


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Deliver one completion event to WEBHOOK_URL; raises WebhookFailed when the receiver did not take it."""
    if isinstance(event.get("id"), str):
        logger.set_correlation_id(event["id"])
    if event.get("detail-type") == REDACTED_DETAIL_TYPE:
        try:
            redaction = RedactionDetail.model_validate(event["detail"])
        except ValidationError:
            logger.warning("redaction event without the expected detail ignored")
            metrics.add_metric(name="UnsupportedEvent", unit="Count", value=1)
            return {"Error": {"Code": "MalformedEvent", "Message": "The event's detail is not a redaction"}}
        return container.webhook_sender().deliver_redaction(redaction)
    try:
        claimed = CompletionDetail.model_validate(event["detail"])
    except ValidationError:  # not one of ours: a retry cannot fix it, so it is not raised
        logger.warning("completion event without the expected detail ignored")
        metrics.add_metric(name="UnsupportedEvent", unit="Count", value=1)
        return {"Error": {"Code": "MalformedEvent", "Message": "The event's detail is not a completion"}}
    return container.webhook_sender().deliver(claimed)
