"""Publishes completion events on EventBridge."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from faceid_fn.domain.completion_events import DETAIL_TYPE, EVENT_SOURCE, CompletionDetail
from faceid_fn.observability import logger, metrics


class Publisher:
    """Puts completion events on the bus; locally (no EventBridge) also hands them to the webhook code."""

    def __init__(self, bus: str | None, *, local_handoff: bool = False, client: Any = None) -> None:
        self.bus = bus
        self.local_handoff = local_handoff
        self._client = client
        self._lock = threading.Lock()

    def _events(self) -> Any:
        with self._lock:  # boto3's default session is not safe to build clients from in parallel
            if self._client is None:
                import boto3

                from faceid_fn.adapters.aws.client_config import bounded_config

                self._client = boto3.client("events", config=bounded_config())
            return self._client

    def publish(self, detail: CompletionDetail) -> None:
        """One event on the bus (raises when EventBridge did not take it)."""
        body = detail.model_dump_json()
        event_id = str(uuid.uuid4())
        if self.bus:
            answer = self._events().put_events(
                Entries=[{"Source": EVENT_SOURCE, "DetailType": DETAIL_TYPE, "Detail": body, "EventBusName": self.bus}]
            )
            entry = answer["Entries"][0] if answer.get("Entries") else {}
            if answer.get("FailedEntryCount") or "EventId" not in entry:
                raise RuntimeError(f"EventBridge did not take the event ({entry.get('ErrorCode', 'unknown')})")
            event_id = entry["EventId"]
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
        if self.local_handoff:
            self._hand_off(event_id, detail)

    @staticmethod
    def _hand_off(event_id: str, detail: CompletionDetail) -> None:
        """Local stack only: what the EventBridge rule would deliver, handed to the webhook code in
        process (once: a failed delivery is logged, not retried, since no Lambda retries it locally)."""
        from faceid_fn.entrypoints import webhooks

        envelope = {
            "version": "0",
            "id": event_id,
            "detail-type": DETAIL_TYPE,
            "source": EVENT_SOURCE,
            "account": "000000000000",
            "time": detail.CompletedAt,
            "region": "local",
            "resources": [],
            "detail": json.loads(detail.model_dump_json()),
        }
        try:
            webhooks.handle(envelope)
        except Exception as exc:
            logger.warning("local webhook hand-off failed", extra={"error": type(exc).__name__})
