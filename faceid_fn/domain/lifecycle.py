"""The rest of a session's life after its start: its owner lists, cancels and redacts it.

Cancel goes through the one claim every final status goes through (`pending` -> final, conditional), so it
is announced once and nothing FaceID says later changes it. Redact deletes what faceid-fn holds of the
person, then marks the ledger item redacted with one conditional write: only the call that made that write
announces it (`Verification Redacted`), and a call that finds the announcement not yet sent sends it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from faceid_fn.domain.completion import CANCELED, check_owner, is_final, publish_claimed, unknown_token
from faceid_fn.domain.completion_events import RedactionDetail
from faceid_fn.domain.errors import InvalidInput, SessionFinal, SessionRedacted, StoreUnavailable
from faceid_fn.domain.models import Redaction, RetainedCopy, SessionList, SessionSummary
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN, SessionRecord, iso
from faceid_fn.observability import logger, metrics

if TYPE_CHECKING:
    from faceid_fn.domain.ports import AnswerEraser, LifecycleLedger, LifecyclePublisher, PhotoEraser

LIST_DEFAULT = 20
LIST_MAX = 100
# FaceID keeps a verification's result (and what it read of the person) this long, and offers no delete.
FACEID_KEEPS = timedelta(days=3)
# The ledger item (the redaction's audit record too) goes by its TTL, a day after FaceID's copy.
LEDGER_KEEPS = FACEID_KEEPS + timedelta(days=1)
BAD_CURSOR = "cursor is not one that this list gave to this caller"


# -- list -----------------------------------------------------------------------------------------------


def summary_of(record: SessionRecord) -> SessionSummary:
    expires = datetime.fromtimestamp(record.TokenExpiresAt, UTC) if record.TokenExpiresAt else None
    return SessionSummary(
        BizToken=record.BizToken,
        Status=record.Status,
        CreatedAt=record.CreatedAt,
        ExpiresAt=iso(expires) if expires else None,
        CompletedAt=record.CompletedAt,
        Region=record.Region or None,
        RedactedAt=record.RedactedAt,
    )


def encode_cursor(owner: str, after: dict[str, str]) -> str:
    """The position after which the next page starts. It names its owner, checked when it comes back."""
    text = json.dumps({"Owner": owner, "BizToken": after["BizToken"], "CreatedAt": after["CreatedAt"]})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, owner: str) -> dict[str, str]:
    """The position a cursor names; a 400 unless this list gave it to this caller. (The query is of the
    caller's own partition whatever the cursor says: a cursor is only a position in it.)"""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        token, created = value["BizToken"], value["CreatedAt"]
        ok = (
            value["Owner"] == owner
            and set(value) == {"Owner", "BizToken", "CreatedAt"}
            and isinstance(token, str)
            and re.fullmatch(BIZ_TOKEN_PATTERN, token) is not None
            and isinstance(created, str)
            and len(created) <= 40
            and datetime.fromisoformat(created) is not None
        )
    except (binascii.Error, ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        raise InvalidInput("InvalidParameterValue.cursor", BAD_CURSOR)
    return {"BizToken": token, "CreatedAt": created}


def list_sessions(
    owner: str, *, ledger: LifecycleLedger, limit: int, cursor: str | None, status: str | None
) -> SessionList:
    """The owner's sessions, newest first, a page at a time (a Query of the ledger's ByOwner index)."""
    after = decode_cursor(cursor, owner) if cursor else None
    records, next_after = ledger.list_by_owner(owner, limit=limit, after=after, status=status)
    return SessionList(
        Sessions=[summary_of(record) for record in records],
        NextCursor=encode_cursor(owner, next_after) if next_after else None,
    )


# -- one session ----------------------------------------------------------------------------------------


def find_session(
    biz_token: str, caller: str | None, *, ledger: LifecycleLedger | None, auth_required: bool
) -> SessionRecord:
    """The session a cancel or redact acts on: with auth on, only its owner's (else the unknown-token 404,
    as a read); with auth off, whoever has the token. Without a ledger there is nothing to act on."""
    if ledger is None:
        logger.error("cancel and redact need SESSIONS_TABLE: refused")
        raise unknown_token()
    if auth_required:
        return check_owner(biz_token, caller, ledger)
    record = ledger.get(biz_token)
    if record is None:
        raise unknown_token()
    return record


def cancel_session(
    record: SessionRecord, *, ledger: LifecycleLedger, publisher: LifecyclePublisher, now: datetime | None = None
) -> SessionRecord:
    """`pending` -> `canceled`, announced once like any final status; a canceled session again is the same
    answer; another final status is `409 SessionFinal`. FaceID is not asked: the ledger decides."""
    if record.RedactedAt:
        raise SessionRedacted(record.RedactedAt)
    if record.Status == CANCELED:
        return record
    if is_final(record.Status):
        raise SessionFinal(record.Status)
    claimed = ledger.cancel(record.BizToken, now=now)
    if claimed is not None:
        metrics.add_metric(name="VerificationCanceled", unit="Count", value=1)
        logger.info("verification canceled", extra={"biz_token": record.BizToken})
        # Never raises: an event that cannot be sent stays in the sweep's index, which sends it later.
        publish_claimed(claimed, ledger=ledger, publisher=publisher)
        return claimed
    current = ledger.get(record.BizToken)  # settled meanwhile, by a read, the sweep or another cancel
    if current is None:
        raise unknown_token()
    if not is_final(current.Status):  # the claim cannot fail on a pending item: the store misbehaved
        raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable")
    return cancel_session(current, ledger=ledger, publisher=publisher, now=now)


def redact_session(
    record: SessionRecord,
    *,
    ledger: LifecycleLedger,
    publisher: LifecyclePublisher,
    erase_photo: PhotoEraser | None,
    forget_answer: AnswerEraser | None,
    now: datetime | None = None,
) -> Redaction:
    """Delete what faceid-fn holds of the person (a pending session is canceled first), then announce it
    once. Every step can be done again: a call that fails half way (503) is retried whole."""
    moment = now or datetime.now(UTC)
    if not record.RedactedAt:
        if not is_final(record.Status):
            try:
                record = cancel_session(record, ledger=ledger, publisher=publisher, now=moment)
            except (SessionFinal, SessionRedacted):  # it ended (or was redacted) meanwhile: go on from there
                record = ledger.get(record.BizToken) or record
        if record.RedactedAt is None:
            # What lies outside the ledger goes first: the ledger item names it until it is redacted.
            bucket, key = record.Source.get("Bucket"), record.Source.get("Key")
            if record.Source.get("Type") == "s3" and bucket and key and erase_photo is not None:
                erase_photo(bucket, key)
            if forget_answer is not None:
                forget_answer(record.BizToken)
            redacted = ledger.redact(record.BizToken, source_type=record.Source.get("Type") or "http", now=moment)
            if redacted is not None:
                metrics.add_metric(name="VerificationRedacted", unit="Count", value=1)
                logger.info("verification redacted", extra={"biz_token": record.BizToken})
                _announce(redacted, ledger=ledger, publisher=publisher)
                return redaction_of(redacted)
            record = ledger.get(record.BizToken) or record  # redacted by a concurrent call
    if record.RedactionUnsent is not None and ledger.take_redaction(record, moment):
        _announce(record, ledger=ledger, publisher=publisher)  # an earlier call could not send it
    return redaction_of(record)


def _announce(record: SessionRecord, *, ledger: LifecycleLedger, publisher: LifecyclePublisher) -> None:
    """Send the redaction's event, then note that it is out. A 503 when it cannot be sent: the data is
    deleted already, and the caller's retry sends the event (the ledger still says it is not out)."""
    detail = RedactionDetail(
        BizToken=record.BizToken,
        Status=record.Status,
        Owner=record.Owner,
        RedactedAt=record.RedactedAt or iso(datetime.now(UTC)),
    )
    try:
        publisher.publish_redaction(detail)
    except Exception as exc:
        logger.warning(
            "redaction event not sent; a retry of the redact sends it",
            extra={"biz_token": record.BizToken, "error": type(exc).__name__},
        )
        raise StoreUnavailable(
            "StoreUnavailable", "The session is redacted, but its event could not be sent: retry to send it"
        ) from None
    try:
        ledger.redaction_sent(record.BizToken)
    except Exception as exc:  # the event is out; a later redact may send it once more (same webhook-id)
        logger.warning(
            "redaction event sent but not noted", extra={"biz_token": record.BizToken, "error": type(exc).__name__}
        )


def redaction_of(record: SessionRecord) -> Redaction:
    """The redact answer, from what the redacted item keeps only (so every call gets the same one)."""
    source = record.Source.get("Type") or "http"
    created = _moment(record.CreatedAt)
    deleted = [
        "the session's details in the ledger: Extra, FaceID's ErrorCode and ErrorMsg, the attempts' details, "
        "the redirect and where its photo lies",
        "the stored answer of its start (Idempotency-Key, or the upload's), if there was one",
    ]
    retained = [
        RetainedCopy(
            Where=f"Tencent FaceID ({record.Region or 'the region that started it'})",
            Until=iso(created + FACEID_KEEPS) if created else None,
            Why="FaceID keeps a verification's result (and the images and document fields it read) for 3 days "
            "and offers no way to delete it",
        ),
        RetainedCopy(
            Where="the session ledger: BizToken, Owner, Status, CreatedAt, CompletedAt, RedactedAt",
            Until=iso(created + LEDGER_KEEPS) if created else None,
            Why="what the answer to a later read (410) and the audit of the redaction need",
        ),
        RetainedCopy(
            Where="logs, the event bus's archive, the on-failure queue",
            Until=None,
            Why="they name the BizToken (and an upload's object) for their own retention: docs/deploying.md, Retention",
        ),
    ]
    if source == "s3":
        deleted.append("the uploaded reference photo (the object in the upload bucket)")
    elif source == "cos":
        retained.insert(
            1,
            RetainedCopy(
                Where="Tencent COS: the uploaded reference photo",
                Until=None,
                Why="faceid-fn does not delete objects in COS: delete it there, or let the bucket's lifecycle rule",
            ),
        )
    return Redaction(
        BizToken=record.BizToken,
        Status=record.Status,
        RedactedAt=record.RedactedAt or "",
        Deleted=deleted,
        Retained=retained,
    )


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def ledger_redaction(claimed: RedactionDetail, ledger: LifecycleLedger | None) -> RedactionDetail | None:
    """What the ledger holds of the redaction an event names, or None (logged, counted) when it does not
    hold that redaction (a redacted item, of that Owner, redacted at that time). As `ledger_detail`."""
    token = claimed.BizToken
    record = ledger.get(token) if ledger is not None and re.fullmatch(BIZ_TOKEN_PATTERN, token) else None
    if record is None:
        reason = "UnknownSession" if ledger is not None else "NoLedger"
    elif not record.RedactedAt:
        reason = "NotRedacted"
    elif record.RedactedAt != claimed.RedactedAt:
        reason = "RedactedAtDiffers"
    elif record.Owner != claimed.Owner:
        reason = "OwnerDiffers"
    else:
        return RedactionDetail(
            BizToken=record.BizToken,
            Status=record.Status,
            Owner=record.Owner,
            RedactedAt=record.RedactedAt,
        )
    metrics.add_metric(name="WebhookDropped", unit="Count", value=1)
    logger.warning(
        "redaction event not held by the ledger: dropped, not signed",
        extra={"biz_token": token[:128], "reason": reason},
    )
    return None
