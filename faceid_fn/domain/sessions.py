"""A session as the ledger records it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PENDING = "pending"
# The shape of a BizToken the API accepts: anything else names no session (and is not looked up).
BIZ_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"  # noqa: S105 - a pattern, not a secret


@dataclass(frozen=True)
class SessionRecord:
    """One ledger item, as read back."""

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

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        code = item.get("ErrorCode", {}).get("N")
        return cls(
            BizToken=item["BizToken"]["S"],
            Owner=item.get("Owner", {}).get("S"),
            Source={k: v.get("S", "") for k, v in item.get("Source", {}).get("M", {}).items()},
            Flow=item.get("Flow", {}).get("S", ""),
            Region=item.get("Region", {}).get("S", ""),
            CreatedAt=item.get("CreatedAt", {}).get("S", ""),
            TokenExpiresAt=int(item.get("TokenExpiresAt", {}).get("N", "0")),
            Status=item.get("Status", {}).get("S", PENDING),
            ErrorCode=int(code) if code is not None else None,
            CompletedAt=item.get("CompletedAt", {}).get("S"),
            ErrorMsg=item.get("ErrorMsg", {}).get("S"),
            Extra=item.get("Extra", {}).get("S"),
            ResultRequestId=item.get("ResultRequestId", {}).get("S"),
            SweepAt=int(item["SweepAt"]["N"]) if "SweepAt" in item else None,
        )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
