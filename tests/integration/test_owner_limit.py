"""A limit per owner (FACEID_OWNER_STARTS, default 10 new sessions an hour), kept in the session ledger's
table for every instance: HTTP starts and uploads count against their owner, Idempotency-Key replays and
redelivered uploads do not.

handler -> SDK -> FaceID emulator, the default (intl) flow reading photos from the COS stand-in (a moto
server), S3 and DynamoDB in moto, API Gateway's HTTP API event with the JWT authorizer's claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.sample_photo import png
from tests.aws import (
    AWS_REGION,
    COS_BUCKET,
    EVENT_BUS,
    IDEMPOTENCY_TABLE,
    SESSIONS_TABLE,
    UPLOAD_BUCKET,
    cos_put,
    create_ledger_and_bus,
    md5,
    s3_record,
)
from tests.clock import Clock
from tests.conftest import Emulator, LambdaContext, Response, http_event
from tests.integration.test_auth import with_jwt_claims

Invoke = Callable[[dict[str, Any]], Response]
FOLDER = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/reference"
CALLERS = ("user-a", "user-b", "anonymous")
HOUR = 3600.0
TOP_OF_AN_HOUR = 1_893_456_000.0  # 2030-01-01T00:00:00Z


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The limit's clock, 100 s into an hour: the counts of a test never straddle a window's edge unless
    the test moves the clock there."""
    from faceid_fn.adapters.aws import owner_starts

    now = Clock(TOP_OF_AN_HOUR + 100)
    monkeypatch.setattr(owner_starts, "wall_clock", now)
    return now


@pytest.fixture
def env(
    aws: None, configure: Callable[..., None], cos_server: str, emulator: Emulator, clock: Clock
) -> Callable[..., None]:
    """Auth on (with the ledger it needs), the intl flow, a photo in each caller's folder, the limit's clock
    100 s into an hour."""
    create_ledger_and_bus()
    for caller in CALLERS:
        cos_put(cos_server, f"reference/{caller}/p.png", png())
    emulator.state.rate_limit = 10**6  # FaceID's own 20/s is not what is tested here

    def apply(**overrides: str) -> None:
        base = {
            "AUTH_REQUIRED": "true",
            "SESSIONS_TABLE": SESSIONS_TABLE,
            "EVENT_BUS_NAME": EVENT_BUS,
            "COS_ENDPOINT": cos_server,
        }
        configure(**{**base, **overrides})

    apply()
    return apply


def start(invoke: Invoke, caller: str | None, key: str | None = None) -> Response:
    body = {"CompareImageUrl": f"{FOLDER}/{caller or 'anonymous'}/p.png", "CompareImageMd5": md5(png())}
    event = http_event(body=body, headers={"idempotency-key": key} if key else None)
    return invoke(with_jwt_claims(event, caller) if caller else event)


def started(emulator: Emulator) -> int:
    return len([c for c in emulator.calls if c["action"] == "ApplyWebVerificationBizTokenIntl"])


def test_one_owner_gets_at_most_ten_new_sessions_an_hour(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    # WHEN one owner starts 13 sessions 100 s into an hour (the default FACEID_OWNER_STARTS, 10/3600)
    answers = [start(invoke, "user-a") for _ in range(13)]
    # THEN the first 10 start, the next 3 get 429 TooManySessions with the seconds left in the hour
    assert [a.status for a in answers] == [201] * 10 + [429] * 3
    for refused in answers[10:]:
        assert refused.body["Error"]["Code"] == "TooManySessions"
        assert refused.body["Error"]["Message"] == (
            "At most 10 new sessions per caller every 3600 s: retry after Retry-After seconds"
        )
        assert refused.headers["retry-after"] == "3500"
    # AND FaceID was asked for the 10 only
    assert started(emulator) == 10
    # AND another owner is not held back by the first
    assert start(invoke, "user-b").status == 201


def test_the_count_starts_afresh_at_the_top_of_the_hour(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator, clock: Clock
) -> None:
    # GIVEN an owner who started her 10 sessions in the last seconds of an hour
    clock.now = TOP_OF_AN_HOUR + HOUR - 10
    assert [start(invoke, "user-a").status for _ in range(10)] == [201] * 10
    clock.now = TOP_OF_AN_HOUR + HOUR - 0.5
    refused = start(invoke, "user-a")
    assert (refused.status, refused.headers["retry-after"]) == (429, "1")  # never 0
    # WHEN the next hour begins (windows start at whole multiples of the period: docs/http.md)
    clock.now = TOP_OF_AN_HOUR + HOUR
    # THEN she starts 10 more, the limit's 2 x 10 across a window's edge, and no more
    answers = [start(invoke, "user-a") for _ in range(11)]
    assert [a.status for a in answers] == [201] * 10 + [429]
    assert answers[-1].headers["retry-after"] == "3600"
    assert started(emulator) == 20


def test_replays_of_an_idempotency_key_do_not_count(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    env(IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE, FACEID_OWNER_STARTS="2/3600")
    first = start(invoke, "user-a", key="order-1")
    replays = [start(invoke, "user-a", key="order-1") for _ in range(3)]
    assert first.status == 201
    assert all(r.status == 201 and r.body == first.body for r in replays)
    # the replays took no place: a second key still starts, a third is over the limit
    assert start(invoke, "user-a", key="order-2").status == 201
    assert start(invoke, "user-a", key="order-3").status == 429
    assert started(emulator) == 2


def test_uploads_count_against_their_owner_and_a_refused_one_is_not_retried(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator, lambda_context: LambdaContext
) -> None:
    env(IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE, FACEID_OWNER_STARTS="1/3600")
    s3 = boto3.client("s3", region_name=AWS_REGION)
    photo = png()
    for key in ("reference/user-a/1.png", "reference/user-a/2.png", "reference/user-b/1.png"):
        s3.put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=photo)
    import handler

    def deliver(*keys: str) -> dict[str, Any]:
        event = {"Records": [s3_record(UPLOAD_BUCKET, key, photo, request_id=f"REQ-{key}") for key in keys]}
        result: dict[str, Any] = handler.handler(json.loads(json.dumps(event)), lambda_context)
        return result

    # GIVEN user-a's first upload started her one session of the hour (delivered twice: replayed, counted once)
    first = deliver("reference/user-a/1.png")
    assert deliver("reference/user-a/1.png") == first
    # WHEN her second upload and user-b's arrive
    summary = deliver("reference/user-a/2.png", "reference/user-b/1.png")
    # THEN hers is a recorded failure, not retried (the invocation did not raise); user-b's starts
    [failure] = summary["Failures"]
    assert failure["Source"]["Key"] == "reference/user-a/2.png"
    assert failure["Error"]["Code"] == "TooManySessions"
    assert failure["Retryable"] is False
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["reference/user-b/1.png"]
    assert started(emulator) == 2
    # AND her uploads and her HTTP starts share one count
    assert start(invoke, "user-a").status == 429


def test_with_auth_off_every_caller_shares_one_anonymous_count(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    env(AUTH_REQUIRED="false", FACEID_OWNER_STARTS="2/3600")
    assert [start(invoke, None).status for _ in range(3)] == [201, 201, 429]
    assert started(emulator) == 2


def test_when_the_limit_cannot_be_checked_nothing_is_started(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    # GIVEN the table that keeps the counts is not usable
    boto3.client("dynamodb", region_name=AWS_REGION).delete_table(TableName=SESSIONS_TABLE)
    # WHEN an owner starts a session THEN it is refused like a ledger that cannot be written, before FaceID
    answer = start(invoke, "user-a")
    assert answer.status == 503
    assert answer.body["Error"] == {"Code": "StoreUnavailable", "Message": "The session limit could not be checked"}
    assert answer.headers["retry-after"] == "1"  # a store failure passes: the caller may try again
    assert emulator.calls == []
