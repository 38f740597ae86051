"""A limit per owner: at most N new sessions in each window of S seconds (FACEID_OWNER_STARTS), across instances.

The count lives in the session ledger's table (SESSIONS_TABLE, which AUTH_REQUIRED already needs), one
item per owner and window: key `starts#<S>#<window>#<owner>` (the owner as a SHA-256, so that any
caller, however long its `sub`, makes a valid key, and no caller's id is written in clear; `anonymous`
for requests and uploads that have no owner, all together), `Starts` (the count) and `RemoveAt` (the
table's TTL, the window's end). Windows are fixed (they start at multiples of S since the epoch): an
owner may start up to 2N across a window's edge, never more than N in one window.

One conditional UpdateItem per start (ADD unless the count has reached N): a start over the limit writes
nothing and gets `TooManySessions` with the seconds until the window ends. If DynamoDB cannot be used the
start is refused (`StoreUnavailable`): a limit that cannot be checked does not hold, and a start needs the
same table moments later for its ledger item anyway.
"""

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.limit = limit
        self.window_s = window_s
        self._client = client
        self._clock = clock

    def admit(self, owner: str | None) -> None:
        """Count one new session for `owner` (None: no owner); TooManySessions or StoreUnavailable instead."""
        now = self._clock()
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
