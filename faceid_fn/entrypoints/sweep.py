"""The scheduled sweep: reads the outcome of sessions nobody has read, so that every session is announced.

Each run emits `SweepOldestUnsettledAge`: how long ago the oldest session it took from the index and did not
settle was started (0 when it settled them all), what an operators' alarm watches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn import container
from faceid_fn.adapters.aws.ledger import Ledger
from faceid_fn.adapters.aws.pacing import Saturated
from faceid_fn.domain.completion import UNKNOWN_TOKEN_CODE, is_final, offer_result, offer_status, publish_claimed
from faceid_fn.domain.errors import ServiceError
from faceid_fn.domain.flows import FLOWS
from faceid_fn.domain.results import read_result
from faceid_fn.domain.sessions import SessionRecord
from faceid_fn.observability import logger, metrics

# A session FaceID still calls pending this long after its token expired is settled as `expired`.
EXPIRY_GRACE_S = 300
# The next look at a session still pending.
LOOK_AGAIN = timedelta(seconds=60)
# A run stops when less than FACEID_TIMEOUT_S + this is left of the invocation.
RUN_MARGIN_S = 3.0
# A result FaceID no longer keeps (read_result's 410 for FaceID's InvalidParameterValue.BizTokenExpired).
NO_LONGER_AVAILABLE = ("InvalidParameterValue.BizTokenExpired", "ResultNoLongerAvailable")


def handle(event: dict[str, Any], context: LambdaContext, *, sleep: Any = time.sleep) -> dict[str, Any]:
    settings = container.settings()
    if isinstance(event.get("id"), str):
        logger.set_correlation_id(event["id"])
    ledger = container.ledger()
    counts = {"Due": 0, "Read": 0, "Final": 0, "StillPending": 0, "Resent": 0, "Errors": 0}
    if ledger is None:
        logger.info("no SESSIONS_TABLE: nothing to sweep")
        return {**counts, "Stopped": "NoLedger"}
    publisher = container.publisher()
    faceid = container.faceid()
    action = FLOWS[settings.faceid_flow].result_action
    interval = 1.0 / settings.sweep_rps
    last_read = 0.0
    stopped = None
    due = ledger.due(datetime.now(UTC), settings.sweep_max_sessions)
    counts["Due"] = len(due)
    unsettled = {record.BizToken: record for record in due}  # taken from the index, not yet settled
    for record in due:
        if context.get_remaining_time_in_millis() / 1000 < settings.faceid_timeout_s + RUN_MARGIN_S:
            stopped = "Time"
            break
        now = datetime.now(UTC)
        if not is_final(record.Status):
            pause = last_read + interval - time.monotonic()
            if pause > 0:
                sleep(pause)
            try:
                pacer = faceid.pacer_for(record.Region or settings.faceid_region)  # the session's region's slots
                if pacer is not None:
                    wait = pacer.book(action)
                    if wait:
                        sleep(wait)
            except Saturated:
                stopped = "FaceIdBusy"
                break
            last_read = time.monotonic()
        try:
            outcome = _check_session(record, ledger, publisher, now, context.aws_request_id)
        except Exception:  # one session's unforeseen failure must not stop the others
            logger.exception("sweep could not handle a session", extra={"biz_token": record.BizToken})
            outcome = "Errors"
        if outcome == "Throttled":
            stopped = "FaceIdBusy"
            break
        counts[outcome] += 1
        if outcome in ("Final", "StillPending"):
            counts["Read"] += 1
        if outcome in ("Final", "Resent"):
            unsettled.pop(record.BizToken)
    oldest = max((_age_s(record) for record in unsettled.values()), default=0)
    metrics.add_metric(name="SweepSessionsRead", unit="Count", value=counts["Read"])
    metrics.add_metric(name="SweepOldestUnsettledAge", unit="Seconds", value=oldest)
    logger.info(
        "sweep finished",
        extra={**{k.lower(): v for k, v in counts.items()}, "stopped": stopped, "oldest_unsettled_age_s": oldest},
    )
    return {**counts, "Stopped": stopped, "OldestUnsettledAgeS": oldest}


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
    if not is_final(status) and now.timestamp() > record.TokenExpiresAt + EXPIRY_GRACE_S:
        status = "expired"  # FaceID still says pending long after the token ran out: the person never finished
    if is_final(status):
        offer_result(result, ledger=ledger, publisher=publisher, status=status)
        return "Final"
    ledger.look_again(record.BizToken, now + LOOK_AGAIN)
    return "StillPending"
