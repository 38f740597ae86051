"""Every throttling code FaceID documents takes the throttling path: retried after a back-off, or after a
send slot booked on the shared pacer, and a 429 with Retry-After once the budget is spent; the sweep
yields to it. handler -> SDK -> the emulator (which answers each code with its documented message)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.sample_photo import png
from tests.aws import AWS_REGION, EVENT_BUS, PACING_TABLE, SESSIONS_TABLE, cos_put, create_ledger_and_bus
from tests.conftest import Emulator, LogLines, Response, http_event
from tests.integration.test_sessions import PHOTO_KEY, invoke_raw, scheduled_event, set_item, start_as, start_body

Invoke = Callable[[dict[str, Any]], Response]
START = "ApplyWebVerificationBizTokenIntl"
# The throttling codes Tencent documents (docs/configuration.md, "Bursts past FaceID's 20 requests/s", and
# docs/http.md, Errors): API 3.0's common ones and FaceID's own.
CODES = [
    "RequestLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded",
    "FailedOperation.RequestLimitExceeded",
]
# "and any other RequestLimitExceeded.*" (the same pages): one Tencent has not added (yet)
ANOTHER = "RequestLimitExceeded.SomeLimitTencentAddsLater"


@pytest.fixture
def env(aws: None, configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    """The function (intl flow, the photo in the COS stand-in); `ledger=True` adds the ledger and the bus."""
    cos_put(cos_server, PHOTO_KEY, png())

    def apply(*, ledger: bool = False, **overrides: str) -> None:
        if ledger:
            create_ledger_and_bus()
            overrides = {"SESSIONS_TABLE": SESSIONS_TABLE, "EVENT_BUS_NAME": EVENT_BUS, **overrides}
        configure(COS_ENDPOINT=cos_server, **overrides)

    return apply


def emitted_metrics(out: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return {name: value for line in lines for name, value in line.items() if name != "_aws"}


@pytest.mark.parametrize("code", [*CODES, ANOTHER])
def test_each_throttling_code_is_retried_after_a_back_off(
    code: str,
    env: Callable[..., None],
    invoke: Invoke,
    emulator: Emulator,
    logs: LogLines,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN FaceID throttles the first start with this code (no pacing table: the instance backs off)
    env()
    emulator.fault(code=code, action=START)
    # WHEN a session is started
    response = invoke(http_event(body=start_body()))
    # THEN the second attempt started it, and the throttle was counted as one
    assert response.status == 201, response.body
    assert [c["outcome"] for c in emulator.calls] == [code, "ok"]
    [line] = logs.records("FaceID call succeeded")
    assert line["attempts"] == 2
    assert emitted_metrics(capsys.readouterr().out)["UpstreamThrottled"] == [1.0]


@pytest.mark.parametrize("code", [*CODES, ANOTHER])
def test_a_throttle_that_outlasts_the_budget_is_a_429_with_retry_after(
    code: str, env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    env(FACEID_TIMEOUT_S="1")
    emulator.fault(code=code, action=START, count=100)
    response = invoke(http_event(body=start_body()))
    assert response.status == 429, response.body
    assert response.body["Error"]["Code"] == code
    assert response.headers["retry-after"] == "1"
    assert len(emulator.calls) > 1  # retried within the budget


@pytest.mark.parametrize("code", CODES)
def test_each_throttling_code_engages_the_shared_pacer(
    code: str, env: Callable[..., None], invoke: Invoke, emulator: Emulator, logs: LogLines
) -> None:
    # GIVEN the pacing table, and FaceID's rate window answering this code
    env(FACEID_PACING_TABLE=PACING_TABLE)
    emulator.state.rate_limit_code = code
    emulator.fault(code=code, action=START)
    # WHEN a session is started
    assert invoke(http_event(body=start_body())).status == 201
    # THEN the retry waited for a send slot booked on the region's item, instead of backing off
    slot = boto3.client("dynamodb", region_name=AWS_REGION).get_item(
        TableName=PACING_TABLE, Key={"id": {"S": f"faceid#ap-singapore#{START}"}}
    )
    assert "next_slot" in slot.get("Item", {})
    [line] = logs.records("FaceID call succeeded")
    assert line["attempts"] == 2
    assert line["paced_wait_ms"] > 0


@pytest.mark.parametrize("code", CODES)
def test_the_sweep_stops_its_run_when_faceid_throttles(
    code: str, env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    # GIVEN two sessions due, and FaceID throttling every read for longer than the budget
    env(ledger=True, FACEID_TIMEOUT_S="1")
    for session in (start_as(invoke, None), start_as(invoke, None)):
        set_item(session["BizToken"], SweepAt=0)
    emulator.fault(code=code, action="GetWebVerificationResultIntl", count=100)
    # WHEN the schedule fires THEN the run ends at the first throttle (FaceID is busy), not one error per session
    summary = invoke_raw(scheduled_event())
    assert (summary["Read"], summary["Errors"], summary["Stopped"]) == (0, 0, "FaceIdBusy")
