"""Send-slot booking on DynamoDB (moto in-process), and how the FaceID gateway uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from faceid_fn.adapters.aws.dynamodb import DynamoDB
from faceid_fn.adapters.aws.pacing import PACING_HOLD_S, Pacer, Saturated
from faceid_fn.adapters.tencent.faceid_client import FaceId
from faceid_fn.domain.errors import UpstreamError
from tests.aws import AWS_REGION, PACING_TABLE, create_table
from tests.unit.test_faceid_retry import OK, FakeClock, ScriptedClient, throttled

ACTION = "ApplyWebVerificationToken"


class Wall:
    """A wall clock (seconds) that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["thin", "boto3"])
def dynamodb(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The pacer's own client (faceid_fn.adapters.aws.dynamodb, what it builds) and boto3's: the same bookings."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": AWS_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        create_table(PACING_TABLE, "expires_at")
        yield DynamoDB() if request.param == "thin" else boto3.client("dynamodb", region_name=AWS_REGION)


def pacer(client: Any, wall: Wall, *, rps: float = 20, max_wait_s: float = 1.0) -> Pacer:
    return Pacer(PACING_TABLE, "ap-singapore", rps=rps, max_wait_s=max_wait_s, client=client, wall_clock=wall)


def test_bookings_from_several_instances_are_spaced_by_one_interval(dynamodb: Any) -> None:
    # GIVEN two function instances sharing the table, and a clock that stands still
    wall = Wall()
    first, second = pacer(dynamodb, wall), pacer(dynamodb, wall)
    # WHEN they book in turn
    waits = [(first if n % 2 else second).book(ACTION) for n in range(6)]
    # THEN the first goes at once and each next one 50 ms (1/20 s) after the previous
    assert waits == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]


def test_an_idle_action_sends_at_once_again(dynamodb: Any) -> None:
    wall = Wall()
    pacing = pacer(dynamodb, wall)
    assert [pacing.book(ACTION) for _ in range(3)] == [0.0, 0.05, 0.1]
    wall.now += 0.5  # the booked slots have passed
    assert pacing.book(ACTION) == 0.0
    assert pacing.book(ACTION) == 0.05


def test_actions_and_regions_are_paced_separately(dynamodb: Any) -> None:
    wall = Wall()
    singapore = pacer(dynamodb, wall)
    jakarta = Pacer(PACING_TABLE, "ap-jakarta", rps=20, max_wait_s=1, client=dynamodb, wall_clock=wall)
    assert singapore.book(ACTION) == 0.0
    assert singapore.book("CreateUploadUrl") == 0.0
    assert jakarta.book(ACTION) == 0.0
    assert singapore.book(ACTION) == 0.05


def test_a_slot_beyond_the_allowed_wait_is_refused_with_a_retry_after(dynamodb: Any) -> None:
    # GIVEN at most 0.2 s of wait at 20 requests/s: five slots (0, 50, ..., 200 ms)
    wall = Wall()
    pacing = pacer(dynamodb, wall, max_wait_s=0.2)
    assert [pacing.book(ACTION) for _ in range(5)] == [0.0, 0.05, 0.1, 0.15, 0.2]
    # WHEN a sixth request books, THEN it is refused with a whole number of seconds to wait
    with pytest.raises(Saturated) as refused:
        pacing.book(ACTION)
    assert refused.value.retry_after_s == 1
    # AND nothing was booked for it: once time moves on, the next free slot is the one it was refused
    wall.now += 0.05
    assert pacing.book(ACTION) == 0.2


def test_time_already_waited_counts_against_the_allowed_wait(dynamodb: Any) -> None:
    wall = Wall()
    pacing = pacer(dynamodb, wall, max_wait_s=1.0)
    for _ in range(4):
        pacing.book(ACTION)  # the next free slot is 200 ms away
    with pytest.raises(Saturated):
        pacing.book(ACTION, waited_s=0.9)
    assert pacing.book(ACTION, waited_s=0.7) == 0.2


class PastSlotStore:
    """A store that answers a booking with a slot already past, as one racing another instance's write can
    (moto's server applied a reset between our condition check and our update; an instance whose clock
    lags writes slots in our past)."""

    class exceptions:  # noqa: N801 - the shape of a boto3 client's `exceptions`
        ConditionalCheckFailedException = type("ConditionalCheckFailedException", (Exception,), {})

    def __init__(self, wall: Wall, slot_offset_s: float) -> None:
        self.wall, self.slot_offset_s = wall, slot_offset_s

    def update_item(self, **_: Any) -> dict[str, Any]:
        slot_ms = int((self.wall() + self.slot_offset_s) * 1000)
        return {"Attributes": {"next_slot": {"N": str(slot_ms)}}}


@pytest.mark.parametrize("offset_s", [-0.25, -5.0])
def test_a_slot_already_past_is_never_a_negative_wait(offset_s: float) -> None:
    # GIVEN a store whose booked slot lies in this instance's past
    wall = Wall()
    pacing = Pacer(
        PACING_TABLE, "ap-singapore", rps=20, max_wait_s=1, client=PastSlotStore(wall, offset_s), wall_clock=wall
    )
    # WHEN it books THEN it goes at once: time.sleep would raise on a negative length
    assert pacing.book(ACTION) == 0.0


def test_a_slot_past_the_allowed_wait_is_never_slept_past_it() -> None:
    # GIVEN a store that answers a slot 30 s away although at most 1 s (0.4 s of it left) may be waited
    wall = Wall()
    pacing = Pacer(
        PACING_TABLE, "ap-singapore", rps=20, max_wait_s=1, client=PastSlotStore(wall, 30.0), wall_clock=wall
    )
    # THEN the wait ends at the request's deadline
    assert pacing.book(ACTION, waited_s=0.6) == pytest.approx(0.4)


def test_a_missing_table_makes_pacing_step_aside(dynamodb: Any) -> None:
    pacing = Pacer("no-such-table", "ap-singapore", rps=20, max_wait_s=1, client=dynamodb, wall_clock=Wall())
    assert pacing.book(ACTION) is None


def test_waiting_for_a_slot_keeps_an_instance_booking(dynamodb: Any) -> None:
    # GIVEN an instance that was throttled a while ago, while other instances keep the queue full
    now, wall = [0.0], Wall()
    pacing = Pacer(
        PACING_TABLE, "ap-singapore", rps=20, max_wait_s=5, client=dynamodb, wall_clock=wall, clock=lambda: now[0]
    )
    other = pacer(dynamodb, wall, max_wait_s=5)
    pacing.engage(ACTION)
    now[0] = PACING_HOLD_S - 1
    for _ in range(10):
        other.book(ACTION)
    # WHEN it books and has to wait THEN it stays engaged for another hold time
    assert pacing.book(ACTION) > 0
    now[0] = PACING_HOLD_S + 5
    assert pacing.engaged(ACTION)


def test_engagement_lasts_the_hold_time() -> None:
    now = [0.0]
    pacing = Pacer(PACING_TABLE, "ap-singapore", rps=20, max_wait_s=1, client=object(), clock=lambda: now[0])
    assert not pacing.engaged(ACTION)
    pacing.engage(ACTION)
    now[0] = PACING_HOLD_S - 0.1
    assert pacing.engaged(ACTION)
    assert not pacing.engaged("CreateUploadUrl")
    now[0] = PACING_HOLD_S + 0.1
    assert not pacing.engaged(ACTION)


class ScriptedPacer:
    """Stands in for Pacer in the gateway's loop: books from a script of waits (or Saturated)."""

    def __init__(self, bookings: list[Any]) -> None:
        self.bookings = bookings
        self.engaged_actions: set[str] = set()
        self.booked = 0

    def engage(self, action: str) -> None:
        self.engaged_actions.add(action)

    def engaged(self, action: str) -> bool:
        return action in self.engaged_actions

    def book(self, action: str, *, waited_s: float = 0.0) -> float | None:
        step = self.bookings[self.booked]
        self.booked += 1
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[no-any-return]


def paced_gateway(client: ScriptedClient, pacing: ScriptedPacer, sleeps: list[float]) -> FaceId:
    clock = FakeClock(sleeps)
    return FaceId(
        client,  # type: ignore[arg-type]
        timeout_s=2.0,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
        clock=lambda: clock.now,
        pacer=pacing,  # type: ignore[arg-type]
    )


def test_a_throttled_call_waits_for_its_booked_slot_instead_of_backing_off() -> None:
    # GIVEN FaceID throttles once, and the booked slot is 1.5 s away (more than the 2 s budget minus back-off)
    client = ScriptedClient([throttled(), OK])
    pacing = ScriptedPacer([1.5])
    sleeps: list[float] = []
    # WHEN a call is made
    answer = paced_gateway(client, pacing, sleeps).call(ACTION, {}, trace_id="t", idempotent=False)
    # THEN pacing was engaged, the second attempt went at its slot, and the wait did not eat the budget
    assert answer["RequestId"] == "rid-ok"
    assert client.calls == 2
    assert sleeps == [1.5]
    assert pacing.engaged(ACTION)


def test_a_call_while_engaged_books_before_its_first_attempt() -> None:
    client = ScriptedClient([OK])
    pacing = ScriptedPacer([0.3])
    pacing.engage(ACTION)
    sleeps: list[float] = []
    paced_gateway(client, pacing, sleeps).call(ACTION, {}, trace_id="t", idempotent=False)
    assert sleeps == [0.3]
    assert client.calls == 1


def test_no_free_slot_answers_429_with_the_pacers_retry_after_and_sends_nothing() -> None:
    client = ScriptedClient([OK])
    pacing = ScriptedPacer([Saturated(4)])
    pacing.engage(ACTION)
    with pytest.raises(UpstreamError) as refused:
        paced_gateway(client, pacing, []).call(ACTION, {}, trace_id="t", idempotent=False)
    assert client.calls == 0
    assert refused.value.status == 429
    assert refused.value.code == "RequestLimitExceeded"
    assert refused.value.headers == {"Retry-After": "4"}


def test_throttled_in_spite_of_a_slot_books_the_next_one_instead_of_backing_off() -> None:
    # Callers that do not book (instances not yet throttled, the console) can take a slot; the next
    # booking is a second after the throttle at the earliest (see the Pacer tests), so no back-off is added.
    client = ScriptedClient([throttled(), throttled(), OK])
    pacing = ScriptedPacer([0.1, 1.2])
    sleeps: list[float] = []
    paced_gateway(client, pacing, sleeps).call(ACTION, {}, trace_id="t", idempotent=False)
    assert client.calls == 3
    assert sleeps == [0.1, 1.2]


def test_a_booking_after_a_throttle_is_a_second_later_at_the_earliest(dynamodb: Any) -> None:
    wall = Wall()
    pacing = pacer(dynamodb, wall, max_wait_s=2)
    assert pacing.book(ACTION) == 0.0
    pacing.engage(ACTION)  # FaceID throttled this instance now
    assert pacing.book(ACTION) == 1.0
    assert pacing.book(ACTION) == 1.05


def test_an_unusable_pacing_store_falls_back_to_backing_off() -> None:
    client = ScriptedClient([throttled(), throttled(), OK])
    pacing = ScriptedPacer([None, None])
    sleeps: list[float] = []
    paced_gateway(client, pacing, sleeps).call(ACTION, {}, trace_id="t", idempotent=False)
    assert client.calls == 3
    assert len(sleeps) == 1  # one back-off, between the second and third attempt
    assert sleeps[0] > 0


def test_a_pacer_without_a_client_books_through_the_thin_client(dynamodb: Any) -> None:
    # GIVEN a pacer as the container builds it (no client given)
    wall = Wall()
    built = pacer(None, wall)
    # WHEN it books twice
    waits = [built.book(ACTION), built.book(ACTION)]
    # THEN its own thin DynamoDB client made the bookings (no boto3 client), spaced as with any client
    assert waits == [0.0, 0.05]
    assert isinstance(built.built_client, DynamoDB)
