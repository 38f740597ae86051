"""The per-owner limit's window: counted in fixed windows of the ledger's table, one conditional write a start."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from faceid_fn.adapters.aws.owner_starts import OwnerStarts, owner_key
from faceid_fn.domain.errors import StoreUnavailable, TooManySessions
from tests.aws import AWS_REGION, SESSIONS_TABLE


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(aws: None) -> Any:
    from local.seed import create_sessions_table

    client = boto3.client("dynamodb", region_name=AWS_REGION)
    create_sessions_table(client, SESSIONS_TABLE)
    return client


def test_a_window_holds_the_limit_and_the_next_one_starts_afresh(table: Any) -> None:
    clock = Clock(7200 + 100.0)  # 100 s into a window of 3600 s
    starts = OwnerStarts(SESSIONS_TABLE, 2, 3600, client=lambda: table, clock=clock)
    starts.admit("user-a")
    starts.admit("user-a")
    with pytest.raises(TooManySessions) as refused:
        starts.admit("user-a")
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "3500"}  # until the window ends
    starts.admit("user-b")  # each owner has a count of their own
    clock.now = 7200 + 3599.5
    with pytest.raises(TooManySessions) as refused:
        starts.admit("user-a")
    assert refused.value.headers == {"Retry-After": "1"}  # never 0
    clock.now = 7200 + 3600
    starts.admit("user-a")


def test_the_count_item_names_no_one_in_clear_and_expires_with_its_window(table: Any) -> None:
    starts = OwnerStarts(SESSIONS_TABLE, 5, 60, client=lambda: table, clock=Clock(125.0))
    long_sub = "u" * 5000  # longer than a DynamoDB key may be: hashed, it still makes one
    starts.admit(long_sub)
    starts.admit(None)
    items = {i["BizToken"]["S"]: i for i in table.scan(TableName=SESSIONS_TABLE)["Items"]}
    assert set(items) == {owner_key(long_sub, 60, 2), owner_key(None, 60, 2)}
    assert owner_key(None, 60, 2) == "starts#60#2#anonymous"
    assert all(long_sub not in key and len(key) < 100 for key in items)
    assert items[owner_key(long_sub, 60, 2)]["Starts"] == {"N": "1"}
    assert items[owner_key(long_sub, 60, 2)]["RemoveAt"] == {"N": "180"}  # the table's TTL: the window's end
    assert "SweepShard" not in items[owner_key(None, 60, 2)]  # never in the sweep's index
    # an owner named "anonymous" is not the anonymous count
    assert owner_key("anonymous", 60, 2) != owner_key(None, 60, 2)


def test_a_store_that_fails_refuses_the_start(aws: None) -> None:
    client = boto3.client("dynamodb", region_name=AWS_REGION)  # no table
    with pytest.raises(StoreUnavailable):
        OwnerStarts(SESSIONS_TABLE, 5, 60, client=lambda: client).admit("user-a")
