"""Send slots shared by every instance, booked on DynamoDB while FaceID throttles, so that a burst waits its
turn instead of being throttled (one item per region and action, GCRA without burst tolerance)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from faceid_fn.adapters.aws.client_config import error_code, store_errors
from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.observability import logger

# How long an instance keeps booking slots after FaceID last throttled it, or after it last had to wait
# for a slot.
PACING_HOLD_S = 10.0
# FaceID counts requests per second: after a throttle, the second it counted is full, so no slot is
# booked before it has passed (the calls that filled it were not booked).
WINDOW_S = 1.0
# Items of an idle action expire (DynamoDB TTL) this long after their last booking.
ITEM_TTL_S = 3600


class Saturated(Exception):
    """Every slot within the allowed wait is taken."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"no FaceID send slot free; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Pacer:
    """Books FaceID send slots on a DynamoDB item per (region, action), at most `rps` a second."""

    def __init__(
        self,
        table: str,
        region: str,
        *,
        rps: float,
        max_wait_s: float,
        client: Any = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._region = region
        self._interval_ms = math.ceil(1000 / rps)
        self._max_wait_ms = int(max_wait_s * 1000)
        self._client: LazyClient[Any] = LazyClient(_thin_client, client)
        self._wall_clock = wall_clock
        self._clock = clock
        self._engaged_until: dict[str, float] = {}
        self._throttled_at_ms: dict[str, int] = {}

    def engage(self, action: str) -> None:
        """FaceID throttled this action: book slots for it for the next PACING_HOLD_S."""
        self._engaged_until[action] = self._clock() + PACING_HOLD_S
        self._throttled_at_ms[action] = int(self._wall_clock() * 1000)

    def engaged(self, action: str) -> bool:
        return self._engaged_until.get(action, 0.0) > self._clock()

    def book(self, action: str, *, waited_s: float = 0.0) -> float | None:
        """Book the next free slot; return the seconds to sleep until it (never negative, never past the
        allowed wait), or None if DynamoDB failed.

        Raises Saturated when the slot is further away than the request may still wait (FACEID_PACING_MAX_WAIT_S
        in all, `waited_s` of it already spent).
        """
        limit_ms = max(0, self._max_wait_ms - int(waited_s * 1000))
        try:
            for _ in range(3):  # another instance may move an idle item between our two writes
                not_before_ms = self._throttled_at_ms.get(action, 0) + int(WINDOW_S * 1000)
                wait = self._book_once(f"faceid#{self._region}#{action}", limit_ms, not_before_ms)
                if wait is not None:
                    if wait > 0:  # a queue of booked slots: the burst goes on, keep booking
                        self._engaged_until[action] = self._clock() + PACING_HOLD_S
                    # A slot already past (the store raced, or another instance's clock lags) means go now;
                    # one further away than allowed is never slept past the request's deadline.
                    return min(max(wait, 0.0), limit_ms / 1000)
        except store_errors() as exc:
            logger.warning("pacing store unavailable; backing off instead", extra={"error": error_code(exc)})
            return None
        return 0.0  # three lost races in a row: the item is being reset as fast as we read it; just go

    def _book_once(self, key: str, limit_ms: int, not_before_ms: int) -> float | None:
        client = self._client.get()
        now = int(self._wall_clock() * 1000)
        start = max(now, not_before_ms)  # the earliest slot this instance may take
        expires = str(now // 1000 + ITEM_TTL_S)
        try:
            # Busy: the next free slot is at `start` or later; take it and move it on by one interval.
            answer = client.update_item(
                TableName=self._table,
                Key={"id": {"S": key}},
                UpdateExpression="SET next_slot = next_slot + :interval, expires_at = :expires",
                ConditionExpression="next_slot BETWEEN :start AND :latest",
                ExpressionAttributeValues={
                    ":interval": {"N": str(self._interval_ms)},
                    ":start": {"N": str(start)},
                    ":latest": {"N": str(now + limit_ms)},
                    ":expires": {"N": expires},
                },
                ReturnValues="UPDATED_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            slot = answer.get("Attributes", {}).get("next_slot", {}).get("N", start)
            return (int(slot) - now) / 1000
        except client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item", {}).get("next_slot", {}).get("N")
        if old is not None and int(old) > now + limit_ms:
            raise Saturated(max(1, math.ceil((int(old) - now - limit_ms) / 1000)))
        if start > now + limit_ms:
            raise Saturated(max(1, math.ceil((start - now - limit_ms) / 1000)))
        try:
            # Idle: the next free slot is before `start` (or there is none yet); this request goes at `start`.
            client.update_item(
                TableName=self._table,
                Key={"id": {"S": key}},
                UpdateExpression="SET next_slot = :next, expires_at = :expires",
                ConditionExpression="attribute_not_exists(next_slot) OR next_slot < :start",
                ExpressionAttributeValues={
                    ":next": {"N": str(start + self._interval_ms)},
                    ":start": {"N": str(start)},
                    ":expires": {"N": expires},
                },
            )
            return (start - now) / 1000
        except client.exceptions.ConditionalCheckFailedException:
            return None

    @property
    def built_client(self) -> Any:
        """The DynamoDB client if it was built (or given), else None (builds nothing)."""
        return self._client.current

    def close(self) -> None:
        """Close the DynamoDB client's pooled connections (SnapStart); it reconnects on next use."""
        self._client.close()


def _thin_client() -> Any:
    # The session ledger's thin client (same calls and errors as boto3's), imported on the first booking:
    # an instance's first booking, in the middle of a burst, does not import boto3 and build a client first.
    from faceid_fn.adapters.aws.dynamodb import DynamoDB

    return DynamoDB()
