"""End to end: the COS path on the local stack. `events/cos-upload.json` goes through the COS forwarder's
handler (deploy/cos_forwarder/index.py, as SCF runs it) to serverless-offline's Lambda port, an asynchronous
Invoke of the API function, and a session starts: the emulator sees the start, the ledger holds it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from deploy.cos_forwarder import index as forwarder
from tests.conftest import EVENTS
from tests.e2e.conftest import LocalStack
from tests.e2e.test_sweep_local import ledger

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def eventually(stack: LocalStack, check: Callable[[], T | None], what: str, timeout_s: float = 30) -> T:
    """The asynchronous invocation runs after the forwarder has its 202: wait for what it does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # serverless-offline 14 does not await an asynchronous invocation: one that fails stops osls offline
        if stack.process.poll() is not None:
            pytest.fail("the local stack stopped: see .local-logs/offline.log")
        found = check()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"not within {timeout_s:.0f} s: {what}")


def test_the_sample_cos_event_through_the_forwarder_starts_a_session(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the sample COS upload, as a new upload of its photo (its own upload request ids: the sample as it
    # is may already have started its session on this stack, and a repeat is absorbed by the idempotency table)
    event: dict[str, Any] = json.loads((EVENTS / "cos-upload.json").read_text())
    [record] = event["Records"]
    reqid = str(uuid.uuid4().int % 10**12)
    record["event"]["reqid"] = int(reqid)
    record["cos"]["cosObject"]["meta"]["x-cos-request-id"] = f"e2e-forwarder-{reqid}"
    # AND the forwarder configured for the local stack: serverless-offline's Invoke API, which knows the API
    # function by its name (the stack's key is moto's "local")
    for name, value in {
        forwarder.FUNCTION_ENV: "faceid-fn-dev-cosUploads",
        forwarder.REGION_ENV: "ap-southeast-1",
        forwarder.KEY_ID_ENV: "local",
        forwarder.SECRET_ENV: "local",
        forwarder.ENDPOINT_ENV: f"http://127.0.0.1:{stack.ports['OFFLINE_LAMBDA_PORT']}",
    }.items():
        monkeypatch.setenv(name, value)
    # WHEN SCF would run the forwarder with it
    result = forwarder.main_handler(event, None)
    # THEN Lambda (serverless-offline) queued the invocation
    assert (result["Forwarded"], result["StatusCode"]) == (1, 202)
    # AND the API function started the session: FaceID got the start, traced by the upload's request id
    [start] = eventually(
        stack,
        lambda: [
            c
            for c in stack.calls()
            if c["action"] == stack.apply_action and c["trace_id"] == reqid and c.get("outcome") == "ok"
        ],
        "the emulator sees the session start",
    )
    # AND the ledger holds it, naming the uploaded object
    item = eventually(
        stack,
        lambda: (
            ledger(stack)
            .get_item(TableName="faceid-fn-sessions-dev", Key={"BizToken": {"S": start["biz_token"]}})
            .get("Item")
        ),
        "the ledger holds the session",
    )
    assert item["Status"] == {"S": "pending"}
    source = item["Source"]["M"]
    assert (source["Bucket"], source["Key"]) == ({"S": "photos-1250000000"}, {"S": "reference/alice.png"})
