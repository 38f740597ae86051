"""Owner-only reads, and exactly one `Verification Completed` event per session.

- `check_owner`: with AUTH_REQUIRED, a result is read only by the session's owner (the ledger's
  `Owner`, the JWT `sub` that started it). Anyone else, and any token the ledger does not know, gets
  exactly the answer FaceID gives an unknown token (404 `InvalidParameterValue.BizTokenIllegal`, the
  same message, a fresh RequestId of the same shape) without FaceID being asked: nothing tells a
  stranger that a token exists.
- `settle`: whoever first reads a final Status (the owner's GET, or the sweep) offers it here; the
  ledger's conditional write (`Ledger.claim`) lets exactly one of them announce it: one EventBridge event
  on EVENT_BUS_NAME, `source` `faceid-fn`, `detail-type` `Verification Completed`, detail `CompletionDetail`
  (no media, no OCR fields, no photo). Announcing never fails the read that found the status: an event
  that could not be sent stays in the sweep's index and is sent again later.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from faceid_fn.config import Settings
from faceid_fn.errors import UpstreamError
from faceid_fn.ledger import Ledger, SessionRecord, iso
from faceid_fn.models import FinalStatusName, Session, VerificationResult
from faceid_fn.observability import logger, metrics

EVENT_SOURCE = "faceid-fn"
DETAIL_TYPE = "Verification Completed"
WEBHOOK_TYPE = "verification.completed"
# FaceID's answer for a BizToken it does not know (what the emulator answers too; a test compares them).
UNKNOWN_TOKEN_CODE = "InvalidParameterValue.BizTokenIllegal"  # noqa: S105 - an error code
UNKNOWN_TOKEN_MESSAGE = "The BizToken is invalid."  # noqa: S105 - a message


def is_final(status: str) -> bool:
    """Every status but `pending` is final (docs/http.md, "Result codes")."""
    return status != "pending"


class SessionSource(BaseModel):
    """Where the session was started: over HTTP, or by an uploaded object."""

    Type: Literal["http", "s3", "cos"]
    Bucket: str | None = None
    Key: str | None = None


class CompletionDetail(BaseModel):
    """What the `Verification Completed` event (and the webhook's `data`) says about a finished session."""

    model_config = ConfigDict(defer_build=True)  # built when a session first completes, not at cold start

    BizToken: str
    Status: FinalStatusName = Field(description="The final Status (docs/http.md, Result codes: all but pending)")
    ErrorCode: int | None = Field(description="FaceID's result code (null when FaceID never gave one)")
    ErrorMsg: str | None
    Owner: str | None = Field(description="The JWT `sub` that started the session, or the upload's owner")
    Source: SessionSource
    Extra: str | None = Field(description="The caller's reference (intl flow), or the uploaded object's name")
    RequestId: str | None = Field(description="FaceID's RequestId of the read that found the final status")
    CompletedAt: str = Field(description="When the final status was found (UTC, ISO 8601)")


class WebhookPayload(BaseModel):
    """The body POSTed to WEBHOOK_URL (Standard Webhooks: `type`, `timestamp`, `data`)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["verification.completed"]
    timestamp: str
    data: CompletionDetail


def detail_of(record: SessionRecord) -> CompletionDetail:
    source = record.Source or {"Type": "http"}
    return CompletionDetail(
        BizToken=record.BizToken,
        Status=record.Status,
        ErrorCode=record.ErrorCode,
        ErrorMsg=record.ErrorMsg,
        Owner=record.Owner,
        Source=SessionSource.model_validate(source),
        Extra=record.Extra,
        RequestId=record.ResultRequestId,
        CompletedAt=record.CompletedAt or iso(datetime.now(UTC)),
    )


def record_session(
    ledger: Ledger | None, settings: Settings, *, session: Session, owner: str | None, source: SessionSource
) -> None:
    """The ledger item of a session just started (a no-op without SESSIONS_TABLE)."""
    if ledger is not None:
        ledger.record_start(
            biz_token=session.BizToken,
            owner=owner,
            source=source.model_dump(exclude_none=True),
            flow=settings.faceid_flow,
            region=settings.faceid_region,
            expires_at=session.ExpiresAt,
        )


def unknown_token() -> UpstreamError:
    """The unknown-token answer, exactly as FaceID's comes through our API (a RequestId of its shape)."""
    return UpstreamError(UNKNOWN_TOKEN_CODE, UNKNOWN_TOKEN_MESSAGE, str(uuid.uuid4()))


def check_owner(biz_token: str, caller: str | None, ledger: Ledger | None) -> SessionRecord:
    """The session's ledger item; the unknown-token answer unless `caller` owns it (AUTH_REQUIRED only)."""
    if ledger is None:
        logger.error("owner-only reads need SESSIONS_TABLE: result read refused")
        raise unknown_token()
    record = ledger.get(biz_token)
    if record is None or caller is None or record.Owner != caller:
        logger.warning("result read refused: not the session's owner", extra={"biz_token": biz_token})
        metrics.add_metric(name="ResultReadRefused", unit="Count", value=1)
        raise unknown_token()
    return record


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

                from faceid_fn.aws import bounded_config

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
        from faceid_fn import webhooks

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


def settle(
    *,
    biz_token: str,
    status: str,
    error_code: int | None,
    error_msg: str | None,
    extra: str | None,
    request_id: str | None,
    ledger: Ledger,
    publisher: Publisher,
    now: datetime | None = None,
) -> bool:
    """Offer a status just read from FaceID; True when this call announced it. Never raises."""
    if not is_final(status):
        return False
    try:
        record = ledger.claim(
            biz_token,
            status=status,
            error_code=error_code,
            error_msg=error_msg,
            extra=extra,
            request_id=request_id,
            now=now,
        )
    except Exception as exc:  # DynamoDB unavailable: the session stays pending; the sweep comes back to it
        logger.warning(
            "completion not recorded; the sweep will retry", extra={"biz_token": biz_token, "error": type(exc).__name__}
        )
        return False
    if record is None:
        return False  # someone else announced it (or the ledger does not know the session)
    return announce(record, ledger=ledger, publisher=publisher)


def settle_result(
    result: VerificationResult, *, ledger: Ledger | None, publisher: Publisher, status: str | None = None
) -> bool:
    """`settle` a result just read (optionally under another final `status`, e.g. the sweep's `expired`)."""
    if ledger is None:
        return False
    return settle(
        biz_token=result.BizToken,
        status=status or result.Status,
        error_code=result.ErrorCode,
        error_msg=result.ErrorMsg,
        extra=result.Extra,
        request_id=result.RequestId,
        ledger=ledger,
        publisher=publisher,
    )


def announce(record: SessionRecord, *, ledger: Ledger, publisher: Publisher) -> bool:
    """Send the event of a claimed session, then take it out of the sweep's index. Never raises."""
    try:
        publisher.publish(detail_of(record))
    except Exception as exc:
        logger.warning(
            "completion event not sent; the sweep will send it again",
            extra={"biz_token": record.BizToken, "error": type(exc).__name__},
        )
        return False
    try:
        ledger.announced(record.BizToken)
    except Exception as exc:  # the event is out; the sweep may send it once more (same webhook-id)
        logger.warning(
            "announced session still indexed", extra={"biz_token": record.BizToken, "error": type(exc).__name__}
        )
    return True
