"""A session as the ledger records it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

PENDING = "pending"
# The shape of a BizToken the API accepts: anything else names no session (and is not looked up).
BIZ_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"  # noqa: S105 - a pattern, not a secret


@dataclass(frozen=True)
class SessionRecord:
    """One session, as the ledger holds it."""

    BizToken: str
    Owner: str | None
    Source: dict[str, str]
    Flow: str
    Region: str
    CreatedAt: str
    TokenExpiresAt: int
    Status: str
    ErrorCode: int | None = None
    CompletedAt: str | None = None
    ErrorMsg: str | None = None
    Extra: str | None = None
    ResultRequestId: str | None = None  # FaceID's RequestId of the read that found the final status
    SweepAt: int | None = None  # set while the session is in the sweep's index (not yet announced)
    AppRedirect: str | None = None  # where the return route sends the browser (the app's own page)
    Details: str | None = None  # the final result's VerificationDetailList, as JSON
    HasOcr: bool = False  # the final result carried OCRResult, which the ledger does not keep
    OwnerReads: int = 0  # FaceID reads the owner's reads made while it was pending (each spaces the next)
    NextReadAt: float | None = None  # an owner's read of it pending reaches FaceID again from then on

    RedactedAt: str | None = None  # its personal data deleted (POST .../redact): reads answer 410
    RedactionUnsent: int | None = None  # set while its `Verification Redacted` event is not yet out


def sweep_shard(biz_token: str, shards: int) -> str:
    """The sweep index's partition a session is in (spread so that runs can take shards in parallel)."""
    return f"{PENDING}-{zlib.crc32(biz_token.encode()) % shards}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
