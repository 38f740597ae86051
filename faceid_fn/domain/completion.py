"""Owner-only reads, and exactly one completion event per session: whoever first reads a final
status claims it in the ledger and publishes it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from faceid_fn.domain.completion_events import CompletionDetail, SessionSource
from faceid_fn.domain.errors import SessionRedacted, UpstreamError
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN, SessionRecord, iso
from faceid_fn.observability import logger, metrics

if TYPE_CHECKING:
    from faceid_fn.config import Settings
    from faceid_fn.domain.models import Session, VerificationResult
    from faceid_fn.domain.ports import CompletionPublisher, SessionLedger


# FaceID's answer for a BizToken it does not know (what the emulator answers too; a test compares them).
UNKNOWN_TOKEN_CODE = "InvalidParameterValue.BizTokenIllegal"  # noqa: S105 - an error code
UNKNOWN_TOKEN_MESSAGE = "The BizToken is invalid."  # noqa: S105 - a message


def is_final(status: str) -> bool:
    """Every status but `pending` is final (docs/http.md, "Result codes")."""
    return status != "pending"


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
    ledger: SessionLedger | None,
    settings: Settings,
    *,
    session: Session,
    owner: str | None,
    source: SessionSource,
    app_redirect: str | None = None,
) -> None:
    """The ledger item of a session just started (a no-op without SESSIONS_TABLE). `app_redirect`: the app's
    page the return route sends the browser on to (FACEID_REDIRECT_URL unless the start named another)."""
    if ledger is not None:
        ledger.record_start(
            biz_token=session.BizToken,
            owner=owner,
            source=source.model_dump(exclude_none=True),
            flow=settings.faceid_flow,
            region=session.Region or settings.faceid_region,  # where it was started, and is read
            expires_at=session.ExpiresAt,
            app_redirect=app_redirect or settings.faceid_redirect_url,
        )


def ledger_detail(claimed: CompletionDetail, ledger: SessionLedger | None) -> CompletionDetail | None:
    """What the ledger holds for the session an event names, or None (logged, counted) when the ledger
    does not hold that final Status for that Owner. StoreUnavailable when DynamoDB fails (retried)."""
    token = claimed.BizToken
    record = ledger.get(token) if ledger is not None and re.fullmatch(BIZ_TOKEN_PATTERN, token) else None
    if record is None:
        reason = "UnknownSession" if ledger is not None else "NoLedger"
    elif not is_final(record.Status):
        reason = "NotFinal"
    elif record.Status != claimed.Status:
        reason = "StatusDiffers"
    elif record.Owner != claimed.Owner:
        reason = "OwnerDiffers"
    else:
        return detail_of(record)
    metrics.add_metric(name="WebhookDropped", unit="Count", value=1)
    logger.warning(
        "completion event not held by the ledger: dropped, not signed",
        extra={"biz_token": token[:128], "reason": reason},
    )
    return None


def unknown_token() -> UpstreamError:
    """The unknown-token answer, exactly as FaceID's comes through our API (a RequestId of its shape)."""
    return UpstreamError(UNKNOWN_TOKEN_CODE, UNKNOWN_TOKEN_MESSAGE, str(uuid.uuid4()))


def check_owner(biz_token: str, caller: str | None, ledger: SessionLedger | None) -> SessionRecord:
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


def offer_status(
    *,
    biz_token: str,
    status: str,
    error_code: int | None,
    error_msg: str | None,
    extra: str | None,
    request_id: str | None,
    ledger: SessionLedger,
    publisher: CompletionPublisher,
    details: list[dict[str, Any]] | None = None,
    has_ocr: bool = False,
    now: datetime | None = None,
) -> bool:
    """Offer a status just read from FaceID (with what the ledger keeps of the result for the owner's reads);
    True when this call announced it. Never raises."""
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
            details=details,
            has_ocr=has_ocr,
            now=now,
        )
    except Exception as exc:  # DynamoDB unavailable: the session stays pending; the sweep comes back to it
        logger.warning(
            "completion not recorded; the sweep will retry", extra={"biz_token": biz_token, "error": type(exc).__name__}
        )
        return False
    if record is None:
        return False  # someone else announced it (or the ledger does not know the session)
    return publish_claimed(record, ledger=ledger, publisher=publisher)


def offer_result(
    result: VerificationResult,
    *,
    ledger: SessionLedger | None,
    publisher: CompletionPublisher,
    status: str | None = None,
) -> bool:
    """`offer_status` for a result just read (optionally under another final `status`, e.g. the sweep's
    `expired`)."""
    if ledger is None:
        return False
    return offer_status(
        biz_token=result.BizToken,
        status=status or result.Status,
        error_code=result.ErrorCode,
        error_msg=result.ErrorMsg,
        extra=result.Extra,
        request_id=result.RequestId,
        ledger=ledger,
        publisher=publisher,
        details=[detail.model_dump(mode="json") for detail in result.VerificationDetailList],
        has_ocr=bool(result.OCRResult),
    )


def publish_claimed(record: SessionRecord, *, ledger: SessionLedger, publisher: CompletionPublisher) -> bool:
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


# -- the rest of a session's life (faceid_fn/domain/lifecycle.py): what a read of a session must respect ------

CANCELED = "canceled"


def check_not_redacted(record: SessionRecord | None) -> None:
    """`410 SessionRedacted` for a session whose personal data its owner had deleted: a read of it (GET
    /verifications/{BizToken}) calls this with the ledger item before FaceID is asked, so that nothing of
    the person is read again (FaceID still holds its copy for 3 days, and would answer)."""
    if record is not None and record.RedactedAt:
        raise SessionRedacted(record.RedactedAt)


def held_status(result: VerificationResult, record: SessionRecord | None) -> VerificationResult:
    """The result as the ledger holds it: a canceled session reads `canceled` whatever FaceID later says
    of its token (FaceID has no cancel; the person may still finish the page until the token expires)."""
    if record is not None and record.Status == CANCELED:
        return result.model_copy(update={"Status": CANCELED})
    return result
