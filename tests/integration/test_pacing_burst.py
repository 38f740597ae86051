"""A burst past FaceID's 20 requests/s: with the pacing table, callers wait for a send slot instead of
being throttled. Each concurrent caller is served by its own instance (a process, as on Lambda); FaceID is
the emulator over real HTTP, DynamoDB a moto server on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.aws import AWS_REGION
from tests.conftest import Emulator, Response, function_environment, http_event, start_body
from tests.instances import instances, serve

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

BURST = 60  # three seconds of FaceID capacity, sent at once


INSTANCES = 20  # each serves three of the burst's requests in turn


@pytest.fixture
def pacing_table(cos_server: str) -> Iterator[str]:
    """A pacing table of this test's own on the moto server (declared as serverless.yml declares it)."""
    name = f"pacing-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=cos_server, region_name=AWS_REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


class FullOnce:
    """A clock for FaceID's rate window: it stands still for the first `limit` + 1 calls (the last of them
    finds the window full), then runs from a second later."""

    def __init__(self, limit: int) -> None:
        self._reads = itertools.count()
        self._limit = limit
        self._lock = threading.Lock()
        self._running_since: float | None = None

    def __call__(self) -> float:
        if next(self._reads) <= self._limit:
            return 1000.0
        with self._lock:
            if self._running_since is None:
                self._running_since = time.monotonic()
        return 1001.0 + time.monotonic() - self._running_since


def burst(emulator: Emulator, cos_server: str, size: int, **env: str) -> tuple[list[Response], list[dict[str, Any]]]:
    """`size` starts at once from INSTANCES instances: every answer, and every log line they wrote."""
    environment = function_environment(
        emulator.url,
        FACEID_FLOW="legacy",
        AWS_ENDPOINT_URL_DYNAMODB=cos_server,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="y",
        AWS_REGION=AWS_REGION,
        **env,
    )
    with instances(environment, INSTANCES) as pool:
        served = serve(pool, [http_event(body=start_body()) for _ in range(size)])
    logs = [line for _, lines in served for line in lines]
    print("\n".join(json.dumps(line) for line in logs))  # what the instances wrote goes through the secret scan
    return [Response.of(answer) for answer, _ in served], logs


def test_a_burst_waits_for_send_slots_and_every_request_gets_a_session(
    emulator: Emulator, cos_server: str, pacing_table: str
) -> None:
    # GIVEN the pacing table, and FaceID enforcing its 20 requests/s on a window that stands still until it
    # is full once: the 21st call is throttled however slowly the burst's instances send, then the window
    # runs (a call may take 10 s: the burst's cold instances and the emulator share two cores, and what is
    # tested here is the wait for a slot)
    emulator.state.rate_limit = 20
    emulator.state.monotonic = FullOnce(20)
    # WHEN 60 requests arrive at once
    answers, logs = burst(
        emulator,
        cos_server,
        BURST,
        FACEID_PACING_TABLE=pacing_table,
        FACEID_PACING_MAX_WAIT_S="10",
        FACEID_TIMEOUT_S="10",
    )
    # THEN every one started its own session
    assert [a.status for a in answers] == [201] * BURST
    assert len({a.body["BizToken"] for a in answers}) == BURST
    # AND FaceID saw few attempts beyond one per request: after the first throttles, the rest booked slots
    attempts = [c for c in emulator.calls if c["action"] == "ApplyWebVerificationToken"]
    assert len(attempts) <= 1.5 * BURST
    calls = [line for line in logs if line.get("message") == "FaceID call succeeded"]
    assert any(r.get("paced_wait_ms", 0) > 500 for r in calls)


def test_a_burst_beyond_the_allowed_wait_is_answered_429_with_retry_after(
    emulator: Emulator, cos_server: str, pacing_table: str
) -> None:
    # GIVEN FaceID's window of 20 requests/s (docs/configuration.md, Bursts) held at one instant: the first 20
    # calls pass, every later one is throttled, however slowly the burst's instances send them; and
    # requests may wait at most 0.5 s for a slot, while the first slot after a throttle is a second after it
    # (a call may take 10 s: what is tested is the refusal, not how fast the cold instances answer)
    emulator.state.rate_limit = 20
    emulator.state.monotonic = lambda: 1000.0
    # WHEN 60 arrive at once
    answers, _ = burst(
        emulator,
        cos_server,
        BURST,
        FACEID_PACING_TABLE=pacing_table,
        FACEID_PACING_MAX_WAIT_S="0.5",
        FACEID_TIMEOUT_S="10",
    )
    # THEN the 20 that FaceID let through got a session; the other 40 found no slot within their wait (once
    # an instance was throttled, its next requests book a slot before they send): a 429 with the error
    # envelope and a Retry-After
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 20 + [429] * 40, [a.body for a in answers if a.status not in (201, 429)][:3]
    for answer in (a for a in answers if a.status == 429):
        assert answer.body["Error"]["Code"] == "RequestLimitExceeded"
        assert int(answer.headers["retry-after"]) >= 1
        assert json.dumps(answer.body).count("Traceback") == 0
    attempts = [c["outcome"] for c in emulator.calls if c["action"] == "ApplyWebVerificationToken"]
    assert (attempts.count("ok"), set(attempts)) == (20, {"ok", "RequestLimitExceeded"})
