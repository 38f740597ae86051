"""A burst past FaceID's 20 requests/s through the handler: with the pacing table, callers wait for a
send slot instead of being throttled (emulator over real HTTP, DynamoDB from moto)."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.aws import PACING_TABLE
from tests.conftest import Emulator, LambdaContext, Response, http_event, start_body

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

BURST = 60  # three seconds of FaceID capacity, sent at once


def burst(lambda_context: LambdaContext, size: int) -> list[Response]:
    import handler

    importlib.reload(handler)
    event = http_event(body=start_body())

    def one(_: int) -> Response:
        return Response.of(handler.handler(copy.deepcopy(event), lambda_context))

    with ThreadPoolExecutor(max_workers=30) as pool:
        return list(pool.map(one, range(size)))


@pytest.mark.usefixtures("aws")
def test_a_burst_waits_for_send_slots_and_every_request_gets_a_session(
    configure: Callable[..., None], emulator: Emulator, lambda_context: LambdaContext, logs: Any
) -> None:
    # GIVEN the pacing table, and FaceID enforcing its 20 requests/s
    configure(FACEID_PACING_TABLE=PACING_TABLE, FACEID_PACING_MAX_WAIT_S="10")
    # WHEN 60 requests arrive at once
    answers = burst(lambda_context, BURST)
    # THEN every one started its own session
    assert [a.status for a in answers] == [201] * BURST
    assert len({a.body["BizToken"] for a in answers}) == BURST
    # AND FaceID saw few attempts beyond one per request: after the first throttles, the rest booked slots
    attempts = [c for c in emulator.calls if c["action"] == "ApplyWebVerificationToken"]
    assert len(attempts) <= 1.5 * BURST
    calls = logs.records("FaceID call succeeded")
    assert any(r.get("paced_wait_ms", 0) > 500 for r in calls)


@pytest.mark.usefixtures("aws")
def test_a_burst_beyond_the_allowed_wait_is_answered_429_with_retry_after(
    configure: Callable[..., None], emulator: Emulator, lambda_context: LambdaContext
) -> None:
    # GIVEN requests may wait at most 0.5 s for a slot
    configure(FACEID_PACING_TABLE=PACING_TABLE, FACEID_PACING_MAX_WAIT_S="0.5", FACEID_TIMEOUT_S="1")
    # WHEN 60 arrive at once
    answers = burst(lambda_context, BURST)
    # THEN those that found a slot got a session, the rest a 429 with the error envelope and a Retry-After
    statuses = {a.status for a in answers}
    assert statuses <= {201, 429}, [a.body for a in answers if a.status not in (201, 429)][:3]
    refused = [a for a in answers if a.status == 429]
    assert refused, "60 requests cannot all fit in 20/s plus half a second"
    for answer in refused:
        assert answer.body["Error"]["Code"] == "RequestLimitExceeded"
        assert int(answer.headers["retry-after"]) >= 1
        assert json.dumps(answer.body).count("Traceback") == 0
