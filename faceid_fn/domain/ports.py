"""What the domain needs from the outside, as Protocols: FaceID, the photo store, the ledger, the bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from faceid_fn.domain.completion_events import CompletionDetail, RedactionDetail
from faceid_fn.domain.sessions import SessionRecord


class FaceIdGateway(Protocol):
    def apply_web_verification_token(
        self, *, redirect_url: str, compare_image_url: str, compare_image_md5: str, trace_id: str
    ) -> dict[str, object]: ...

    def apply_web_verification_biz_token_intl(
        self,
        *,
        redirect_url: str,
        compare_image_base64: str | None,
        extra: str | None,
        config: dict[str, object],
        trace_id: str,
    ) -> tuple[dict[str, object], str]:
        """FaceID's answer, and the region that started the session (a failover region, maybe)."""


# Reads the photo behind a checked COS URL (intl flow): bytes, or StorageError / InvalidInput.
PhotoReader = Callable[[str], bytes]


class StartLimit(Protocol):
    """Counts a new session against its owner (None: no owner), or refuses it (FACEID_OWNER_STARTS)."""

    def admit(self, owner: str | None) -> None: ...


class ResultGateway(Protocol):
    def get_result(
        self,
        *,
        result_action: str,
        biz_token: str,
        trace_id: str,
        region: str | None = None,
        budget_s: float | None = None,
    ) -> dict[str, object]:
        """The session's result, read in `region` (the one that started it; None: FACEID_REGION), within
        `budget_s` seconds when given (else FACEID_TIMEOUT_S)."""


class SessionLedger(Protocol):
    """Where sessions are recorded and their final status claimed once (the DynamoDB ledger)."""

    def record_start(
        self,
        *,
        biz_token: str,
        owner: str | None,
        source: dict[str, str],
        flow: str,
        region: str,
        expires_at: datetime,
        app_redirect: str | None = None,
        now: datetime | None = None,
    ) -> None: ...

    def get(self, biz_token: str) -> SessionRecord | None: ...

    def claim(
        self,
        biz_token: str,
        *,
        status: str,
        error_code: int | None,
        error_msg: str | None,
        extra: str | None,
        request_id: str | None,
        details: list[dict[str, Any]] | None = None,
        has_ocr: bool = False,
        now: datetime | None = None,
    ) -> SessionRecord | None: ...

    def announced(self, biz_token: str) -> None: ...


class CompletionPublisher(Protocol):
    """Where a completed session is announced (the EventBridge bus)."""

    def publish(self, detail: CompletionDetail) -> None: ...


# -- the rest of a session's life (faceid_fn/domain/lifecycle.py) ------------------------------------------


class LifecycleLedger(SessionLedger, Protocol):
    """The ledger's writes for listing, canceling and redacting a session (StoreUnavailable when DynamoDB fails)."""

    def list_by_owner(
        self, owner: str, *, limit: int, after: dict[str, str] | None, status: str | None
    ) -> tuple[list[SessionRecord], dict[str, str] | None]:
        """Up to `limit` of the owner's sessions, newest first, after the key `after`; and the key to go on
        from, or None on the last page."""

    def cancel(self, biz_token: str, *, now: datetime | None = None) -> SessionRecord | None:
        """`pending` -> `canceled`: the item if this call did it, else None (the one claim of every final status)."""

    def redact(self, biz_token: str, *, source_type: str, now: datetime) -> SessionRecord | None:
        """Delete the final session's personal attributes: the item if this call did it, else None."""

    def take_redaction(self, record: SessionRecord, now: datetime) -> bool:
        """Take a redaction whose event is not yet out, to send it: True for exactly one caller."""

    def redaction_sent(self, biz_token: str) -> None: ...


class LifecyclePublisher(CompletionPublisher, Protocol):
    def publish_redaction(self, detail: RedactionDetail) -> None: ...


# Deletes an uploaded photo (bucket, key) from the watched upload bucket: StoreUnavailable when it cannot.
PhotoEraser = Callable[[str, str], None]
# Deletes the stored answer of a session's start (the idempotency record), if there is one.
AnswerEraser = Callable[[str], None]
