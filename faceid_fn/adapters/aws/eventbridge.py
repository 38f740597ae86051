"""Publishes completion events on EventBridge."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.domain.completion_events import (
    DETAIL_TYPE,
    EVENT_SOURCE,
    REDACTED_DETAIL_TYPE,
    CompletionDetail,
    RedactionDetail,
)
from faceid_fn.observability import logger, metrics


class Publisher:
    """Puts completion events on the bus; locally (no EventBridge) also hands them to a local sink."""

    def __init__(
        self,
        bus: str | None,
        *,
        local_sink: Callable[[CompletionDetail], object] | None = None,
        local_redaction_sink: Callable[[RedactionDetail], object] | None = None,
        client: Any = None,
    ) -> None:
        self.bus = bus
        self._local_sink = local_sink
        self._local_redaction_sink = local_redaction_sink
        self._client: LazyClient[Any] = LazyClient(_events_client, client)

    def prime(self) -> None:
        if self.bus:
            self._client.get()

    def close(self) -> None:
        self._client.close()

    def publish(self, detail: CompletionDetail) -> None:
        """One event on the bus (raises when EventBridge did not take it)."""
        event_id = self._put(DETAIL_TYPE, detail.model_dump_json())
        metrics.add_metric(name="VerificationCompleted", unit="Count", value=1)
        logger.info(
            "verification completed",
            extra={
                "biz_token": detail.BizToken,
                "status": detail.Status,
                "error_code": detail.ErrorCode,
                "event_id": event_id,
            },
        )
        if self._local_sink is not None:
            # Local stack only (no EventBridge rule): the event goes to the webhook sender in process, once (a
            # failed delivery is logged, not retried: no Lambda retries it locally).
            try:
                self._local_sink(detail)
            except Exception as exc:
                logger.warning("local webhook hand-off failed", extra={"error": type(exc).__name__})

    def publish_redaction(self, detail: RedactionDetail) -> None:
        """One `Verification Redacted` event on the bus (raises when EventBridge did not take it)."""
        event_id = self._put(REDACTED_DETAIL_TYPE, detail.model_dump_json())
        logger.info("redaction announced", extra={"biz_token": detail.BizToken, "event_id": event_id})
        if self._local_redaction_sink is not None:  # local stack only, as publish's
            try:
                self._local_redaction_sink(detail)
            except Exception as exc:
                logger.warning("local webhook hand-off failed", extra={"error": type(exc).__name__})

    def _put(self, detail_type: str, body: str) -> str:
        """Put one event on the bus; its id (a local one without a bus)."""
        if not self.bus:
            return str(uuid.uuid4())
        answer = self._client.get().put_events(
            Entries=[{"Source": EVENT_SOURCE, "DetailType": detail_type, "Detail": body, "EventBusName": self.bus}]
        )
        entry = answer["Entries"][0] if answer.get("Entries") else {}
        if answer.get("FailedEntryCount") or "EventId" not in entry:
            raise RuntimeError(f"EventBridge did not take the event ({entry.get('ErrorCode', 'unknown')})")
        return str(entry["EventId"])


def _events_client() -> Any:
    import boto3

    from faceid_fn.adapters.aws.client_config import bounded_config

    return boto3.client("events", config=bounded_config())
