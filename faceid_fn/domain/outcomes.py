"""What a read of a session costs FaceID: a final session is answered from the ledger, a pending one reaches
FaceID at most once per few seconds (more seldom the more it was read), and the person's return, which says
the check has ended, reads it at once.

FaceID allows 20 result reads a second, about one per session at its full start rate: every other read
comes out of someone's start (docs/http.md, "Reads and the ledger")."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from faceid_fn.domain.models import VerificationDetail, VerificationResult
from faceid_fn.domain.sessions import SessionRecord

# Where FaceID sends the person's browser (the return route), under the function's public URL.
RETURN_PATH = "/return"
# The owners' reads of a pending session reach FaceID at most once in this long, doubled after each such
# read: an app that polls every 2 s costs a handful of reads, not one per poll.
OWNER_READ_GAP_S = 5.0
MAX_DOUBLINGS = 8
# However often a return URL is hit, its session is read at most once in this long.
RETURN_READ_GAP_S = 5.0
# A return read that found no final outcome (FaceID down, or not final yet): the sweep looks this soon.
RETURN_RETRY_S = 60


def owner_read_gap(reads: int) -> float:
    """How long after an owner's read reached FaceID (the `reads`-th of a pending session) the next may."""
    return OWNER_READ_GAP_S * float(2 ** min(reads, MAX_DOUBLINGS))


def answers_from_ledger(record: SessionRecord, include_media: bool) -> bool:
    """A final session's read without media is the ledger's, unless its result had OCR (identity fields,
    which the ledger does not keep)."""
    return record.Status != "pending" and not include_media and not record.HasOcr


def ledger_result(record: SessionRecord, request_id: str) -> VerificationResult:
    """The owner's read answered from the ledger (a final session: what the read that found it kept, with that
    read's RequestId; a pending one: `pending`, with this request's id)."""
    details = [VerificationDetail.model_validate(d) for d in json.loads(record.Details or "[]")]
    final = record.Status != "pending"
    return VerificationResult(
        BizToken=record.BizToken,
        Status=record.Status,
        ErrorCode=record.ErrorCode if final else None,
        ErrorMsg=record.ErrorMsg if final else None,
        VerificationDetailList=details,
        Extra=record.Extra,
        RequestId=(record.ResultRequestId if final else None) or request_id,
    )


def with_token(url: str, biz_token: str) -> str:
    """The app's page with `token=<BizToken>` in its query (as FaceID appends it), any other `token` replaced."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("token", biz_token)])))
