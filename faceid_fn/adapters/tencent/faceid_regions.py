"""FaceID's regions as the client sees them: an SDK client and a send-slot pacer per region, a start's
time budget shared by the regions it may try, and the circuit breaker that skips a failing region."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from faceid_fn.adapters.aws.pacing import Pacer
from faceid_fn.adapters.tencent.credentials import SecretsManagerCredential
from faceid_fn.domain.errors import UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, UpstreamError
from faceid_fn.observability import logger, metrics

if TYPE_CHECKING:
    from faceid_fn.config import Settings

SERVICE = "faceid"
API_VERSION = "2018-03-01"

# A region that failed a start is skipped by this instance's next starts for this long, then tried again.
BREAKER_COOLDOWN_S = 30.0
# A start that may move on keeps this much of its budget for each region after the one it tries (all of
# them together at most half the budget): a region that hangs leaves the next one time to answer.
FAILOVER_RESERVE_S = 3.0
# FaceID in that region is failing, not refusing this request: an HTTP error status, no answer, a
# connection that failed, an answer that could not be read, or FaceID's own internal error. Never a
# refusal (InvalidParameter*, AuthFailure*, ...), never a throttle (the region answers; it is busy).
FAILOVER_CODES = frozenset({UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, "InternalError", "InternalError.UnKnown"})


def fails_over(code: str) -> bool:
    return code in FAILOVER_CODES


@dataclass
class Budget:
    """One request's time with FaceID: ends at `deadline` (monotonic), which moves later by the time spent
    waiting for send slots; `reserve_s` of it is kept for the regions still to try."""

    deadline: float
    reserve_s: float = 0.0
    waited_s: float = 0.0

    @property
    def end(self) -> float:
        return self.deadline - self.reserve_s

    def waited(self, seconds: float) -> None:
        self.waited_s += seconds
        self.deadline += seconds


T = TypeVar("T")


def start_in_order(
    start: Callable[[str, Budget], T], regions: tuple[str, ...], breaker: RegionBreaker, budget: Budget, budget_s: float
) -> tuple[T, str]:
    """`start` in the first region, then in the next while FaceID fails (`fails_over`), all within one
    `budget` (of `budget_s`): what the first region that answers said, and that region. A single region
    is just called."""
    if len(regions) == 1:
        return start(regions[0], budget), regions[0]
    order = breaker.order(regions)
    reserve_s = min(FAILOVER_RESERVE_S, budget_s / 2 / (len(order) - 1))
    for n, region in enumerate(order):
        budget.reserve_s = reserve_s * (len(order) - 1 - n)
        try:
            answer = start(region, budget)
        except UpstreamError as exc:
            if not fails_over(exc.code):
                raise
            breaker.failed(region)
            if n == len(order) - 1:
                raise
            metrics.add_metric(name="RegionFailover", unit="Count", value=1)
            logger.warning(
                "FaceID failed in this region: starting in the next one",
                extra={"region": region, "next_region": order[n + 1], "error": exc.code},
            )
            continue
        breaker.succeeded(region)
        return answer, region
    raise AssertionError("unreachable: the last region's failure is raised")


class RegionBreaker:
    """Per instance, in memory: a region that failed a start is tried last until BREAKER_COOLDOWN_S has
    passed (never left out: when every region failed, the one that reopens first is tried first)."""

    def __init__(self, cooldown_s: float = BREAKER_COOLDOWN_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def failed(self, region: str) -> None:
        with self._lock:
            self._open_until[region] = self._clock() + self._cooldown_s

    def succeeded(self, region: str) -> None:
        with self._lock:
            self._open_until.pop(region, None)

    def order(self, regions: tuple[str, ...]) -> tuple[str, ...]:
        now = self._clock()
        with self._lock:
            open_until = {r: t for r, t in self._open_until.items() if t > now}
        closed = [r for r in regions if r not in open_until]
        return (*closed, *sorted((r for r in regions if r in open_until), key=open_until.__getitem__))


class RegionalClients:
    """The SDK client and the pacer of each region: the primary's given (built at cold start), another
    region's built on its first use with the same profile and credentials (the SDK signs each call for its
    client's region, X-TC-Region; the endpoint is the same)."""

    def __init__(
        self,
        client: Any,
        pacer: Pacer | None,
        *,
        failover_regions: tuple[str, ...] = (),
        build_client: Callable[[str], Any] | None = None,
        build_pacer: Callable[[str], Pacer | None] | None = None,
    ) -> None:
        self.primary: str = getattr(client, "region", None) or ""
        self.start_regions = (self.primary, *failover_regions)  # where a start may be made, in order
        self._clients: dict[str, Any] = {self.primary: client}
        self._pacers: dict[str, Pacer | None] = {self.primary: pacer}
        self._build_client = build_client
        self._build_pacer = build_pacer or (lambda region: None)
        self._lock = threading.Lock()

    def client(self, region: str | None) -> Any:
        region = region or self.primary
        with self._lock:
            if region not in self._clients:
                if self._build_client is None:
                    raise ValueError(f"no FaceID client for {region}")
                self._clients[region] = self._build_client(region)
            return self._clients[region]

    def pacer(self, region: str | None) -> Pacer | None:
        region = region or self.primary
        with self._lock:
            if region not in self._pacers:
                self._pacers[region] = self._build_pacer(region)
            return self._pacers[region]

    @classmethod
    def from_settings(cls, settings: Settings) -> RegionalClients:
        build_client, build_pacer = sdk_client_builder(settings), pacer_builder(settings)
        return cls(
            build_client(settings.faceid_region),
            build_pacer(settings.faceid_region),
            failover_regions=settings.faceid_failover_regions,
            build_client=build_client,
            build_pacer=build_pacer,
        )

    def close(self) -> None:
        """Close each built client's pooled connections (the SDK's requests.Session) and pacer, and let
        the credentials (one object for every region) be read again."""
        with self._lock:
            clients, pacers = list(self._clients.values()), [p for p in self._pacers.values() if p is not None]
        for client in clients:
            session = getattr(getattr(getattr(client, "request", None), "conn", None), "_session", None)
            if isinstance(session, requests.Session):
                session.close()
        expire = getattr(getattr(clients[0], "credential", None), "expire", None)
        if callable(expire):
            expire()
        for pacer in pacers:
            pacer.close()


def sdk_client_builder(settings: Settings) -> Callable[[str], CommonClient]:
    """Builds a region's SDK client: one HTTP profile (FACEID_ENDPOINT) and one credential for every region."""
    endpoint = urlsplit(settings.faceid_endpoint)
    profile = ClientProfile(
        httpProfile=HttpProfile(
            protocol=endpoint.scheme,
            endpoint=endpoint.netloc,  # host[:port], no scheme: the SDK signs it as Host
            reqTimeout=settings.faceid_timeout_s,
            keepAlive=True,
        ),
        language="en-US",
    )
    credential: Any
    if settings.faceid_credentials_secret:
        credential = SecretsManagerCredential(settings.faceid_credentials_secret, settings.faceid_credentials_max_age_s)
    else:
        credential = Credential(
            settings.tencentcloud_secret_id,
            settings.tencentcloud_secret_key.get_secret_value() if settings.tencentcloud_secret_key else None,
            settings.tencentcloud_session_token.get_secret_value() if settings.tencentcloud_session_token else None,
        )
    return lambda region: CommonClient(SERVICE, API_VERSION, credential, region, profile=profile)


def pacer_builder(settings: Settings) -> Callable[[str], Pacer | None]:
    """Builds a region's pacer (its own items, faceid#<region>#<action>), or None without FACEID_PACING_TABLE."""

    def build(region: str) -> Pacer | None:
        if not settings.faceid_pacing_table:
            return None
        return Pacer(
            settings.faceid_pacing_table,
            region,
            rps=settings.faceid_pacing_rps,
            max_wait_s=settings.faceid_pacing_max_wait_s,
        )

    return build
