"""The soak's end: what is left to settle, the drain (the people finish, the sweep reads until nothing final
is left), and the redrive of the on-failure queue through the harness's Invoke API."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from soak_lambda import payload_kind
from soak_procs import AWS, PYTHON
from soak_stack import REGION, ROOT

if TYPE_CHECKING:
    from soak import Soak

# A never-finished session should be settled this long after its token's end at the latest (issue 26): the
# sweep's last look is 4 minutes after it, and it runs every minute.
SETTLED_WITHIN_S = 360


def queued(soak: Soak, queue: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = soak.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def index_counts(soak: Soak) -> dict[str, int]:
    """Sessions in the sweep's index (not announced yet), those due, those past their token's end, and those
    past it by more than SETTLED_WITHIN_S: read from DynamoDB (moto) directly."""
    now = time.time()
    counts = {"index": 0, "due": 0, "past_token_end": 0, "past_token_end_6min": 0}
    pages = soak.dynamodb.get_paginator("scan").paginate(
        TableName=soak.index["table"],
        IndexName=soak.index["name"],
        ProjectionExpression="#s, TokenExpiresAt",
        ExpressionAttributeNames={"#s": soak.index["sort"]},
    )
    for page in pages:
        for item in page.get("Items", []):
            counts["index"] += 1
            counts["due"] += int(item.get(soak.index["sort"], {}).get("N", now + 1)) <= now
            end = int(item.get("TokenExpiresAt", {}).get("N", now + 1))
            counts["past_token_end"] += end <= now
            counts["past_token_end_6min"] += end + SETTLED_WITHIN_S <= now
    return counts


def index_items(soak: Soak) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in soak.dynamodb.get_paginator("scan").paginate(
        TableName=soak.index["table"], IndexName=soak.index["name"]
    ):
        items += page.get("Items", [])
    return items


def unsettled(soak: Soak) -> str:
    """What is left to do ("" when nothing): a person or an app still to act, an asynchronous invocation
    other than a sweep pending, an event on the rule's queue, or a session in the sweep's index (not announced
    yet: its token may not have ended, or the sweep has not looked since)."""
    if soak.load.scheduled():
        return f"{soak.load.scheduled()} people's and apps' actions to come"
    running = [i.kind for i in soak.lam.invocations if i.final is None and i.kind != "sweep"]
    if running:
        return f"asynchronous invocations pending: {dict(Counter(running))}"
    if queued(soak, soak.created.delivery_queue):
        return "events on the rule's queue"
    waiting = len(index_items(soak))
    return f"{waiting} sessions in the sweep's index" if waiting else ""


def drain(soak: Soak, deadline_s: float) -> None:
    """After the load: nothing is hurried. The people finish what they planned, the apps poll, the tokens
    of those who never finish run out in FaceID's time, and the sweep runs on its schedule as deployed, until
    every session is announced and delivered (or `deadline_s` passes: what is left is then in the report)."""
    deadline = time.time() + deadline_s
    left = "not looked at yet"
    while time.time() < deadline:
        left = unsettled(soak)
        if not left:
            break
        time.sleep(2.0)
    else:
        print(f"soak: the drain's deadline passed with {left}", flush=True)
    while time.time() < deadline + 60:
        pending = Counter(i.kind for i in soak.lam.invocations if i.final is None and i.kind != "sweep")
        if not pending:
            break
        time.sleep(0.5)
    else:
        print(f"soak: still pending after the drain: {dict(pending)}", flush=True)
    print(f"soak: drained at {time.time() - soak.t0:.0f} s", flush=True)


def redrive(soak: Soak) -> dict[str, Any]:
    """tools/redrive.py against the on-failure queue, with Lambda's Invoke API played by the harness."""
    queue = soak.created.queues[soak.lam.functions[soak.lam.by_trigger("uploads")].on_failure or ""]
    done = subprocess.run(
        [PYTHON, "-m", "tools.redrive", "--queue-url", queue, "--region", REGION],
        cwd=ROOT,
        env={
            **os.environ,
            **AWS,
            "AWS_ENDPOINT_URL_SQS": soak.sqs.meta.endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": soak.lambda_api,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    try:
        return dict(json.loads(lines[-1]))
    except (IndexError, ValueError):
        return {"error": (done.stderr or done.stdout)[-500:]}


def left_on_failure(soak: Soak) -> list[dict[str, Any]]:
    queue = soak.created.queues[soak.lam.functions[soak.lam.by_trigger("uploads")].on_failure or ""]
    left, seen = [], set()
    while True:
        messages = soak.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return left
        for message in fresh:
            seen.add(message["MessageId"])
            left.append({"kind": payload_kind(json.loads(message["Body"]).get("requestPayload") or {})})
