"""The emulator's state: sessions, uploads, the calls it was asked, injected faults and the rate window,
the control tests use (reset, inject, clock offset, ageing), and the records it keeps (dataclasses)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from local.emulator.catalog import (
    DEFAULT_CHECK_MODE,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RULE_IDS,
    INTL_TOKEN_TTL_S,
    LOCAL_SECRET_ID,
    LOCAL_SECRET_KEY,
    NOT_FINISHED,
    OCR_CHECK_MODES,
    OUTCOMES,
    REGION_FAILURES,
    REGIONS,
    TOKEN_EXPIRED,
    TOKEN_TTL_S,
)


@dataclass
class Fault:
    code: str | None = None
    message: str | None = None  # default: the documented message of a throttling code, else "Injected fault."
    count: int = 1
    latency_ms: int = 0
    action: str | None = None
    region: str | None = None  # only calls signed for this region (X-TC-Region)
    http_status: int = 200
    content_type: str | None = None
    body: str | None = None
    reset: bool = False  # drop the connection (TCP RST) instead of answering


@dataclass
class WebSession:
    biz_token: str
    redirect_url: str
    compare_image_url: str
    compare_image_md5: str
    created_at: float
    outcome: str | None = None  # a key of OUTCOMES once the tester chose one on the page
    flow: str = "legacy"
    ttl_s: int = TOKEN_TTL_S
    extra: str | None = None
    opened: bool = False  # the person opened the verification page
    check_mode: int = DEFAULT_CHECK_MODE  # Config.CheckMode (intl): 1 and 4 read a document
    id_card_type: str | None = None
    finished_at: float | None = None
    region: str = ""  # where it was started: FaceID's regions do not share sessions
    rule_id: str | None = None
    photo_sent: bool = True  # a CompareImageBase64 came with the start (used in CheckMode 2 only)

    @property
    def reads_document(self) -> bool:
        return self.flow == "intl" and self.check_mode in OCR_CHECK_MODES


@dataclass
class Upload:
    """A CreateUploadUrl slot: the bytes arrive later with an HTTP PUT to the UploadUrl."""

    upload_id: str
    signature: str
    expires_at: float
    data: bytes | None = None


@dataclass
class Answer:
    """One HTTP answer of the emulator."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RegionFailure:
    """A region that answers every call signed for it the same failing way (until restored)."""

    how: str = "http"  # one of REGION_FAILURES
    http_status: int = 503
    latency_ms: int = 60_000  # "timeout": how long the call hangs at most
    released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.how not in REGION_FAILURES:
            raise ValueError(f"failure must be one of {', '.join(REGION_FAILURES)}")
        if not 500 <= self.http_status <= 599:
            raise ValueError("http_status must be a 5xx")


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class EmulatorState:
    """What the emulated service holds, and the control tests use; thread-safe."""

    def __init__(
        self,
        credentials: dict[str, str] | None = None,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rule_ids: tuple[str, ...] = DEFAULT_RULE_IDS,
    ) -> None:
        self._initial_credentials = dict(credentials or {LOCAL_SECRET_ID: LOCAL_SECRET_KEY})
        self.credentials = dict(self._initial_credentials)
        self.rate_limit = rate_limit
        self.rate_limit_code = "RequestLimitExceeded"  # what the rate window answers (THROTTLING_CODES)
        self._initial_rule_ids = frozenset(rule_ids)
        self.rule_ids = set(self._initial_rule_ids)  # the console's processes (RuleId)
        self.failed_regions: dict[str, RegionFailure] = {}
        self.clock_offset_s = 0.0
        # How long an intl BizToken lives (FaceID's 10 minutes; shorter where FaceID's and the caller's
        # clocks are moved together, as the soak's quick form does).
        self.intl_token_ttl_s = INTL_TOKEN_TTL_S
        self.monotonic = time.monotonic  # the rate window's clock; tests may freeze it
        self.offline_actions: set[str] = set()  # actions answered with ActionOffline (withdrawn)
        self.base_url = "http://127.0.0.1"
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._faults: list[Fault] = []
        self._window: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.sessions: dict[str, WebSession] = {}
        self.uploads: dict[str, Upload] = {}
        self.calls: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget everything, after the API calls still being answered (e.g. slowed by a fault) end."""
        for region in list(self.failed_regions):
            self.restore_region(region)  # releases calls hanging in a "timeout" region
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
        with self._lock:
            self._faults.clear()
            self._window.clear()
            self.sessions.clear()
            self.uploads.clear()
            self.calls.clear()
            self.clock_offset_s = 0.0
            self.intl_token_ttl_s = INTL_TOKEN_TTL_S
            self.monotonic = time.monotonic
            self.rate_limit = DEFAULT_RATE_LIMIT
            self.rate_limit_code = "RequestLimitExceeded"
            self.rule_ids = set(self._initial_rule_ids)
            self.credentials = dict(self._initial_credentials)
            self.offline_actions = set()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail_region(self, region: str, failure: RegionFailure) -> None:
        """Every call signed for `region` fails as `failure` says until `restore_region`."""
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}")
        with self._lock:
            previous = self.failed_regions.get(region)
            self.failed_regions[region] = failure
        if previous is not None:
            previous.released.set()

    def restore_region(self, region: str) -> None:
        with self._lock:
            failure = self.failed_regions.pop(region, None)
        if failure is not None:
            failure.released.set()

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def age_sessions(self, seconds: float) -> None:
        """Move every session `seconds` into the past (retention and token expiry without waiting)."""
        with self._lock:
            for session in self.sessions.values():
                session.created_at -= seconds
                if session.finished_at is not None:
                    session.finished_at -= seconds

    def result_code(self, session: WebSession) -> tuple[int | None, str | None]:
        """The ErrorCode and ErrorMsg a result read answers now: the outcome chosen on the page, else 17
        (opened or left unfinished), 15 once the token ran out, or nothing yet."""
        outcome = OUTCOMES.get(session.outcome or "")
        if outcome is not None and not outcome.get("stays"):
            return outcome["code"], outcome["msg"]
        if self.now() - session.created_at > session.ttl_s:
            return TOKEN_EXPIRED
        if session.opened or outcome is not None:
            return NOT_FINISHED
        return None, None

    def session_listing(self) -> list[dict[str, Any]]:
        """Every session FaceID has created, with what a result read would answer now (for accounting)."""
        with self._lock:
            sessions = list(self.sessions.values())
        return [
            {
                "BizToken": s.biz_token,
                "Flow": s.flow,
                "CreatedAt": s.created_at,
                "Outcome": s.outcome,
                "ErrorCode": self.result_code(s)[0],
            }
            for s in sessions
        ]
