"""A session as the ledger records it."""

from __future__ import annotations

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
    RedactedAt: str | None = None  # its personal data deleted (POST .../redact): reads answer 410
    RedactionUnsent: int | None = None  # set while its `Verification Redacted` event is not yet out


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
