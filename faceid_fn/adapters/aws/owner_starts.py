"""A limit per owner: at most N new sessions in each window of S seconds (FACEID_OWNER_STARTS), counted in
the session ledger's table for every instance, one conditional UpdateItem per start."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from faceid_fn.adapters.aws.client_config import error_code, store_errors
from faceid_fn.domain.errors import StoreUnavailable, TooManySessions
from faceid_fn.observability import logger, metrics

KEY_PREFIX = "starts#"
ANONYMOUS = "anonymous"


def wall_clock() -> float:
    """Seconds since the epoch: windows start at whole multiples of S (for an hour, at the top of each UTC
    hour). The default clock, looked up at every start, so that a test can place itself in a window."""
    return time.time()


def owner_key(owner: str | None, window_s: int, window: int) -> str:
    who = hashlib.sha256(owner.encode()).hexdigest() if owner else ANONYMOUS
    return f"{KEY_PREFIX}{window_s}#{window}#{who}"


class OwnerStarts:
    """Counts each owner's new sessions in DynamoDB (see the module's docstring)."""

    def __init__(
        self,
        table: str,
        limit: int,
        window_s: int,
        *,
        client: Callable[[], Any],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.table = table
        self.limit = limit
        self.window_s = window_s
        self._client = client
        self._clock = clock

    def admit(self, owner: str | None) -> None:
        """Count one new session for `owner` (None: no owner); TooManySessions or StoreUnavailable instead."""
        now = self._clock() if self._clock is not None else wall_clock()
        window = int(now // self.window_s)
        ends = (window + 1) * self.window_s
        client = self._client()
        try:
            client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": owner_key(owner, self.window_s, window)}},
                UpdateExpression="SET RemoveAt = :ends ADD Starts :one",
                ConditionExpression="attribute_not_exists(Starts) OR Starts < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.limit)},
                    ":ends": {"N": str(ends)},
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            metrics.add_metric(name="SessionLimitReached", unit="Count", value=1)
            logger.warning("session limit reached", extra={"limit": self.limit, "window_s": self.window_s})
            raise TooManySessions(self.limit, self.window_s, max(1, math.ceil(ends - now))) from None
        except store_errors() as exc:
            logger.warning("session limit store unavailable", extra={"error": error_code(exc)})
            raise StoreUnavailable("StoreUnavailable", "The session limit could not be checked") from None
