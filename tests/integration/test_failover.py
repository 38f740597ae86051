"""Start-region failover (FACEID_FAILOVER_REGIONS): when FaceID fails in FACEID_REGION, a start is made in
the next region within the same request's budget; the ledger records where, and every read of the
session (the owner's GET, the sweep) goes there. FaceID is the emulator, which can fail a whole region and
keeps each session in the region that started it (a read elsewhere is its unknown-token answer)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.emulator import RegionFailure
from local.sample_photo import png
from tests.aws import AWS_REGION, EVENT_BUS, PACING_TABLE, SESSIONS_TABLE, completion_events, cos_put
from tests.aws import create_ledger_and_bus as ledger_and_bus
from tests.conftest import Emulator, LogLines, Response, http_event
from tests.integration.test_results import finish
from tests.integration.test_sessions import (
    PHOTO_KEY,
    get,
    invoke_raw,
    item,
    scheduled_event,
    set_item,
    start_as,
    start_body,
)

pytestmark = pytest.mark.usefixtures("aws")

Invoke = Callable[[dict[str, Any]], Response]
PRIMARY, SECONDARY = "ap-singapore", "ap-jakarta"
START, RESULT = "ApplyWebVerificationBizTokenIntl", "GetWebVerificationResultIntl"


@pytest.fixture
def failover(configure: Callable[..., None], cos_server: str) -> Callable[..., str]:
    """The function (intl) with the ledger, the bus and FACEID_FAILOVER_REGIONS=ap-jakarta; returns the
    URL of the queue that collects completion events."""
    cos_put(cos_server, PHOTO_KEY, png())
    queue = ledger_and_bus()

    def apply(**overrides: str) -> str:
        base = {
            "SESSIONS_TABLE": SESSIONS_TABLE,
            "EVENT_BUS_NAME": EVENT_BUS,
            "COS_ENDPOINT": cos_server,
            "FACEID_FAILOVER_REGIONS": SECONDARY,
        }
        configure(**{**base, **overrides})
        return queue

    return apply


def outcomes(emulator: Emulator, action: str = START) -> list[tuple[str, str]]:
    return [(c["region"], c["outcome"]) for c in emulator.calls if c["action"] == action]


def settled(emulator: Emulator, region: str, timeout_s: float = 10.0) -> list[str]:
    """The outcomes of the starts tried in `region`, once at least one is listed (the emulator lists a call
    when it has answered it)."""
    deadline = time.monotonic() + timeout_s
    while not (tried := [outcome for where, outcome in outcomes(emulator) if where == region]):
        assert time.monotonic() < deadline, f"no start listed in {region}"
        time.sleep(0.01)
    return tried


def emitted_metrics(out: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return {name: value for line in lines for name, value in line.items() if name != "_aws"}


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("http", "UpstreamUnavailable"),
        ("internal", "InternalError"),
        ("timeout", "UpstreamTimeout"),
        ("reset", "UpstreamUnavailable"),
    ],
)
def test_a_failing_region_is_left_for_the_next_and_the_session_is_read_there(
    failover: Callable[..., str],
    invoke: Invoke,
    emulator: Emulator,
    logs: LogLines,
    capsys: pytest.CaptureFixture[str],
    how: str,
    error: str,
) -> None:
    # GIVEN FaceID failing in the primary region (5xx, InternalError, no answer, reset connections)
    failover(FACEID_TIMEOUT_S="3")
    emulator.state.fail_region(PRIMARY, RegionFailure(how=how, latency_ms=20_000))
    # WHEN a session is started
    session = start_as(invoke, None)
    # THEN the next region started it, within the one request, and says so
    assert session["Region"] == SECONDARY
    # AND the primary failed as it was made to, every time it was tried (a reset connection is retried there
    # within its share; a call hanging there is listed once it ends: restoring the region releases it)
    emulator.state.restore_region(PRIMARY)
    assert set(settled(emulator, PRIMARY)) == {f"region-down:{how}"}
    assert [outcome for region, outcome in outcomes(emulator) if region == SECONDARY] == ["ok"]
    assert item(session["BizToken"])["Region"] == {"S": SECONDARY}
    [line] = logs.records("FaceID failed in this region: starting in the next one")
    assert (line["level"], line["region"], line["next_region"], line["error"]) == ("WARNING", PRIMARY, SECONDARY, error)
    assert emitted_metrics(capsys.readouterr().out)["RegionFailover"] == [1.0]
    # AND once the person passes, the result is read where the session lives (there only, it exists)
    finish(session, "pass")
    result = get(invoke, session["BizToken"])
    assert (result.status, result.body["Status"]) == (200, "passed")
    assert outcomes(emulator, RESULT) == [(SECONDARY, "ok")]


def test_the_owner_and_the_sweep_read_in_the_sessions_region(
    failover: Callable[..., str], invoke: Invoke, emulator: Emulator
) -> None:
    # GIVEN the authorizer on, and two of alice's sessions started while the primary region failed
    queue = failover(AUTH_REQUIRED="true")
    emulator.state.fail_region(PRIMARY, RegionFailure(how="http"))
    read_by_owner, swept = start_as(invoke, "alice"), start_as(invoke, "alice")
    assert read_by_owner["Region"] == swept["Region"] == SECONDARY
    # AND the primary back (a read there would answer that it does not know these sessions)
    emulator.state.restore_region(PRIMARY)
    finish(read_by_owner, "pass")
    finish(swept, "compare")
    # WHEN alice reads the first, and the schedule sweeps the second
    result = get(invoke, read_by_owner["BizToken"], "alice")
    set_item(swept["BizToken"], SweepAt=0)
    summary = invoke_raw(scheduled_event())
    # THEN both were read in ap-jakarta, and each outcome announced
    assert (result.status, result.body["Status"]) == (200, "passed")
    assert (summary["Read"], summary["Final"]) == (1, 1)
    assert outcomes(emulator, RESULT) == [(SECONDARY, "ok"), (SECONDARY, "ok")]
    statuses = {e["detail"]["BizToken"]: e["detail"]["Status"] for e in completion_events(queue)}
    assert statuses == {read_by_owner["BizToken"]: "passed", swept["BizToken"]: "failed"}


def test_a_region_that_failed_is_skipped_by_the_next_starts(
    failover: Callable[..., str], invoke: Invoke, emulator: Emulator
) -> None:
    failover()
    emulator.state.fail_region(PRIMARY, RegionFailure(how="http"))
    start_as(invoke, None)
    emulator.state.restore_region(PRIMARY)
    calls = len(outcomes(emulator))
    # the next starts of this instance go to ap-jakarta first (its breaker is open for a while)
    assert [start_as(invoke, None)["Region"] for _ in range(2)] == [SECONDARY, SECONDARY]
    assert outcomes(emulator)[calls:] == [(SECONDARY, "ok"), (SECONDARY, "ok")]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"code": "InvalidParameterValue", "count": 100}, 400),  # FaceID refuses the request: so would the next
        ({"code": "RequestLimitExceeded", "count": 100}, 429),  # the region works; it is busy
        ({"code": "FailedOperation.RequestLimitExceeded", "count": 100}, 429),
        ({"code": "AuthFailure.SignatureFailure"}, 502),
    ],
)
def test_a_refusal_or_a_throttle_is_not_failed_over(
    failover: Callable[..., str], invoke: Invoke, emulator: Emulator, fault: dict[str, Any], status: int
) -> None:
    # GIVEN FaceID failing once in the primary region: the start moved on, and ap-jakarta is now tried first
    failover(FACEID_TIMEOUT_S="1")
    emulator.fault(region=PRIMARY, action=START, code="InternalError")
    assert start_as(invoke, None)["Region"] == SECONDARY
    calls = len(outcomes(emulator))
    # WHEN ap-jakarta refuses the next start, or throttles it
    emulator.fault(region=SECONDARY, action=START, **fault)
    response = invoke(http_event(body=start_body()))
    # THEN that is the answer: no other region is asked
    assert response.status == status
    assert response.body["Error"]["Code"] == fault["code"]
    assert {region for region, _ in outcomes(emulator)[calls:]} == {SECONDARY}


def test_when_every_region_fails_the_answer_is_the_last_ones(
    failover: Callable[..., str], invoke: Invoke, emulator: Emulator
) -> None:
    failover()
    emulator.state.fail_region(PRIMARY, RegionFailure(how="http"))
    emulator.state.fail_region(SECONDARY, RegionFailure(how="internal"))
    response = invoke(http_event(body=start_body()))
    assert (response.status, response.body["Error"]["Code"]) == (502, "InternalError")
    assert outcomes(emulator) == [(PRIMARY, "region-down:http"), (SECONDARY, "region-down:internal")]


def test_send_slots_are_booked_per_region(failover: Callable[..., str], invoke: Invoke, emulator: Emulator) -> None:
    # GIVEN the pacing table, the primary region down, and FaceID throttling the first start in ap-jakarta
    failover(FACEID_PACING_TABLE=PACING_TABLE)
    emulator.state.fail_region(PRIMARY, RegionFailure(how="http"))
    emulator.fault(region=SECONDARY, action=START, code="RequestLimitExceeded")
    # WHEN a session is started THEN it is, after a send slot booked on ap-jakarta's item only
    assert start_as(invoke, None)["Region"] == SECONDARY
    slots = boto3.client("dynamodb", region_name=AWS_REGION).scan(TableName=PACING_TABLE)["Items"]
    assert [slot["id"]["S"] for slot in slots] == [f"faceid#{SECONDARY}#{START}"]
