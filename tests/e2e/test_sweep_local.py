"""End to end: `make sweep` against the local stack announces a session nobody read, once, with a webhook."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.e2e.test_local_stack import SAMPLE_PHOTO_MD5, SAMPLE_PHOTO_URL

pytestmark = pytest.mark.e2e


def ledger(stack: LocalStack) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{stack.ports['MOTO_PORT']}",
        region_name="ap-southeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def make_sweep(stack: LocalStack) -> dict[str, Any]:
    return stack.make("sweep")


def test_make_sweep_announces_a_finished_session_nobody_read(stack: LocalStack) -> None:
    # GIVEN a session the person finished, that the app never read
    session = requests.post(
        f"{stack.http}/verifications",
        json={"CompareImageUrl": SAMPLE_PHOTO_URL, "CompareImageMd5": SAMPLE_PHOTO_MD5},
        timeout=30,
    ).json()
    token = session["BizToken"]
    requests.post(session["VerificationUrl"], data={"outcome": "pass"}, allow_redirects=False, timeout=5)
    # AND due for the sweep (its first look is a minute after the start: move that into the past)
    ledger(stack).update_item(
        TableName="faceid-fn-sessions-dev",
        Key={"BizToken": {"S": token}},
        UpdateExpression="SET SweepAt = :now",
        ExpressionAttributeValues={":now": {"N": "0"}},
    )
    # WHEN the sweep runs, as docs/operations.md says (`make sweep`), twice
    first, second = make_sweep(stack), make_sweep(stack)
    # THEN the first run announced it and the receiver got its webhook, once; the second did not resend it
    assert first["Final"] >= 1, first
    assert second["Resent"] == 0, second
    [delivery] = requests.get(stack.webhooks, params={"token": token}, timeout=5).json()
    assert delivery["verified"]
    assert delivery["duplicates"] == 0
    assert delivery["payload"]["data"]["Status"] == "passed"
    stored = ledger(stack).get_item(TableName="faceid-fn-sessions-dev", Key={"BizToken": {"S": token}})["Item"]
    assert stored["Status"] == {"S": "passed"}
    assert "SweepShard" not in stored
