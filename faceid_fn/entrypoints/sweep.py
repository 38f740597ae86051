"""The scheduled sweep: reads the outcome of sessions nobody has read, so that every session is announced.

Each run emits `SweepOldestUnsettledAge`: how long ago the oldest session it took from the index and did not
settle was started (0 when it settled them all), what an operators' alarm watches."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn import container
from faceid_fn.adapters.aws.ledger import SHARDS, Ledger
from faceid_fn.adapters.aws.pacing import Saturated
from faceid_fn.domain.completion import UNKNOWN_TOKEN_CODE, is_final, offer_result, offer_status, publish_claimed
from faceid_fn.domain.errors import ServiceError
from faceid_fn.domain.flows import FLOWS
from faceid_fn.domain.results import read_result
from faceid_fn.domain.sessions import PENDING, SessionRecord, sweep_shard
from faceid_fn.observability import logger, metrics

# A session FaceID still calls pending this long after its token ran out is settled as `expired`: its
# second and last look (the first is at the token's end and FIRST_LOOK_AFTER_END_S, ledger.py).
EXPIRY_GRACE_S = 240
# The next look at a session FaceID could not be asked about (an error).
LOOK_AGAIN = timedelta(seconds=60)
# A run whose backlog is larger than this reads each shard of the index in a thread of its own.
SESSIONS_PER_WORKER = 50
# A run stops when less than FACEID_TIMEOUT_S + this is left of the invocation.
RUN_MARGIN_S = 3.0
# A result FaceID no longer keeps (read_result's 410 for FaceID's InvalidParameterValue.BizTokenExpired).
NO_LONGER_AVAILABLE = ("InvalidParameterValue.BizTokenExpired", "ResultNoLongerAvailable")


class _Run:
    """One run's shared state: its counts, the spacing of its FaceID reads (SWEEP_RPS across every shard's
    thread) and why it stopped."""

    def __init__(self, rps: float, sleep: Any) -> None:
        self.counts = {"Due": 0, "Read": 0, "Final": 0, "StillPending": 0, "Resent": 0, "Errors": 0}
        self.unsettled: dict[str, SessionRecord] = {}  # taken from the index, not yet settled
        self.stopped: str | None = None
        self._interval, self._next, self._sleep = 1.0 / rps, 0.0, sleep
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        with self._lock:
            at = max(self._next, time.monotonic())
            self._next = at + self._interval
        pause = at - time.monotonic()
        if pause > 0:
            self._sleep(pause)

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def count(self, record: SessionRecord, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1
            if outcome in ("Final", "StillPending"):
                self.counts["Read"] += 1
            if outcome in ("Final", "Resent"):
                self.unsettled.pop(record.BizToken, None)

    def stop(self, reason: str) -> None:
        with self._lock:
            self.stopped = self.stopped or reason


def handle(event: dict[str, Any], context: LambdaContext, *, sleep: Any = time.sleep) -> dict[str, Any]:
    settings = container.settings()
    if isinstance(event.get("id"), str):
        logger.set_correlation_id(event["id"])
    ledger = container.ledger()
    run = _Run(settings.sweep_rps, sleep)
    if ledger is None:
        logger.info("no SESSIONS_TABLE: nothing to sweep")
        return {**run.counts, "Stopped": "NoLedger"}
    now = datetime.now(UTC)
    # A large backlog's shards are read by a thread each, at SWEEP_RPS for the whole run, each read still
    # booking its slot with the pacer beside the live traffic's.
    found = [record for shard in shards() for record in ledger.due(now, settings.sweep_max_sessions, shard)]
    taken = sorted(found, key=lambda record: record.SweepAt or 0)[: settings.sweep_max_sessions]  # most overdue
    backlog: dict[str, list[SessionRecord]] = {}
    for record in taken:  # a small backlog is one thread's, most overdue first
        shard = sweep_shard(record.BizToken, SHARDS) if len(taken) > SESSIONS_PER_WORKER else "all"
        backlog.setdefault(shard, []).append(record)
    run.counts["Due"] = len(taken)
    run.unsettled.update({record.BizToken: record for record in taken})
    if backlog:
        with ThreadPoolExecutor(max_workers=len(backlog), thread_name_prefix="sweep") as pool:
            correlation_id = logger.get_correlation_id()
            for due in backlog.values():
                pool.submit(_sweep_shard, due, run, ledger, context, correlation_id)
    oldest = max((_age_s(record) for record in run.unsettled.values()), default=0)
    metrics.add_metric(name="SweepSessionsRead", unit="Count", value=run.counts["Read"])
    metrics.add_metric(name="SweepOldestUnsettledAge", unit="Seconds", value=oldest)
    logger.info(
        "sweep finished",
        extra={
            **{k.lower(): v for k, v in run.counts.items()},
            "stopped": run.stopped,
            "oldest_unsettled_age_s": oldest,
        },
    )
    return {**run.counts, "Stopped": run.stopped, "OldestUnsettledAgeS": oldest}


def shards() -> list[str]:
    return [f"{PENDING}-{n}" for n in range(SHARDS)]


def _sweep_shard(
    due: list[SessionRecord], run: _Run, ledger: Ledger, context: LambdaContext, correlation_id: str | None
) -> None:
    settings, faceid = container.settings(), container.faceid()
    logger.set_correlation_id(correlation_id)
    action = FLOWS[settings.faceid_flow].result_action
    for record in due:
        if run.stopped:
            return
        if context.get_remaining_time_in_millis() / 1000 < settings.faceid_timeout_s + RUN_MARGIN_S:
            run.stop("Time")
            return
        if not is_final(record.Status):
            run.wait_turn()
            try:
                pacer = faceid.pacer_for(record.Region or settings.faceid_region)  # the session's region's slots
                if pacer is not None:
                    wait = pacer.book(action)
                    if wait:
                        run.pause(wait)
            except Saturated:
                run.stop("FaceIdBusy")
                return
        try:
            outcome = _check_session(record, ledger, container.publisher(), datetime.now(UTC), context.aws_request_id)
        except Exception:  # one session's unforeseen failure must not stop the others
            logger.exception("sweep could not handle a session", extra={"biz_token": record.BizToken})
            outcome = "Errors"
        if outcome == "Throttled":
            run.stop("FaceIdBusy")
            return
        run.count(record, outcome)


def _age_s(record: SessionRecord) -> int:
    """Seconds since the session started (0 when its CreatedAt cannot be read)."""
    try:
        created = datetime.fromisoformat(record.CreatedAt)
    except ValueError:
        return 0
    return max(0, int((datetime.now(UTC) - created).total_seconds()))


def _check_session(record: SessionRecord, ledger: Ledger, publisher: Any, now: datetime, trace_id: str) -> str:
    settings = container.settings()
    if is_final(record.Status):  # claimed by someone whose event did not go out: send it again, once
        if ledger.lease(record, now):
            return "Resent" if publish_claimed(record, ledger=ledger, publisher=publisher) else "Errors"
        return "Errors"
    try:
        result = read_result(
            record.BizToken, settings=settings, faceid=container.faceid(), trace_id=trace_id, region=record.Region
        )
    except ServiceError as exc:
        if exc.status == 429:
            return "Throttled"
        if exc.code in NO_LONGER_AVAILABLE or exc.code == UNKNOWN_TOKEN_CODE:
            # Nothing more can be learnt about the person: `error` (no verdict), never `expired`, which
            # says the person never finished (docs/http.md, "Result codes"); ErrorMsg says why.
            offer_status(
                biz_token=record.BizToken,
                status="error",
                error_code=None,
                error_msg=exc.message,
                extra=None,
                request_id=exc.request_id,
                ledger=ledger,
                publisher=publisher,
                now=now,
            )
            return "Final"
        ledger.look_again(record.BizToken, now + LOOK_AGAIN)
        return "Errors"
    status = result.Status
    last_look = datetime.fromtimestamp(record.TokenExpiresAt + EXPIRY_GRACE_S, UTC)
    if not is_final(status) and now >= last_look:
        status = "expired"  # FaceID still says pending long after the token ran out: the person never finished
    if is_final(status):
        offer_result(result, ledger=ledger, publisher=publisher, status=status)
        return "Final"
    ledger.look_again(record.BizToken, max(last_look, now + LOOK_AGAIN))  # the second and last look
    return "StillPending"
