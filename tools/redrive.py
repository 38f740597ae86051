"""Redrive the function's on-failure queue: re-invoke each failed upload and webhook delivery.

Lambda puts an asynchronous invocation that failed every attempt (an upload record FaceID could not
start, a webhook the receiver did not take) on the on-failure queue, as a record whose `requestPayload`
is the event and whose `requestContext.functionArn` names the function. Once the cause is fixed:

    python -m tools.redrive --stage prod [--region ap-southeast-1] [--dry-run]   # or: make redrive STAGE=prod
    python -m tools.redrive --queue-url https://sqs.../faceid-fn-upload-failures-prod

Each record is invoked again asynchronously (`InvocationType=Event`, so Lambda retries it and, should it
fail again, puts it back on the queue) and deleted only after Lambda accepted the new invocation (202):
a crash or a refused invocation leaves the record where it was. Replays are safe: an upload starts its
session once (idempotency: a redriven record replays its stored answer), and a webhook carries the same
`webhook-id` on every attempt. A sweep run on the queue is deleted without invoking it: the schedule runs
the sweep every minute and nothing of a session is lost with a failed run. A record of any other shape is
left on the queue and reported. Prints one line per record (its kind and message id, never its payload)
and exits 1 when any record was left.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

# serverless.yml's UploadFailuresQueue (the function's on-failure destination).
QUEUE_NAME = "faceid-fn-upload-failures-{stage}"
# How long a record received here stays invisible to other readers while it is being re-invoked.
VISIBILITY_TIMEOUT_S = 60


@dataclass
class Summary:
    redriven: dict[str, int] = field(default_factory=dict)  # kind -> records re-invoked and deleted
    superseded: int = 0  # sweep runs deleted (the schedule runs them again)
    left: int = 0  # records left on the queue (refused invocation, unknown shape)

    def as_dict(self) -> dict[str, Any]:
        return {"Redriven": self.redriven, "Superseded": self.superseded, "Left": self.left}


def kind_of(payload: Any) -> str:
    """What a failed invocation was: `upload`, `delivery`, `sweep`, or `unknown`."""
    if not isinstance(payload, dict):
        return "unknown"
    records = payload.get("Records")
    if isinstance(records, list) and records:
        return "upload"
    if payload.get("source") == "faceid-fn" and payload.get("detail-type") == "Verification Completed":
        return "delivery"
    if payload.get("source") == "aws.events" and payload.get("detail-type") == "Scheduled Event":
        return "sweep"
    return "unknown"


def redrive(
    sqs: Any, lambda_client: Any, queue_url: str, *, function: str | None = None, dry_run: bool = False
) -> Summary:
    """Re-invoke every record on the queue once (a record seen again in this run ends it)."""
    summary = Summary()
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY_TIMEOUT_S, WaitTimeSeconds=1
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return summary
        for message in fresh:
            seen.add(message["MessageId"])
            _one(sqs, lambda_client, queue_url, message, summary, function=function, dry_run=dry_run)


def _one(
    sqs: Any,
    lambda_client: Any,
    queue_url: str,
    message: dict[str, Any],
    summary: Summary,
    *,
    function: str | None,
    dry_run: bool,
) -> None:
    try:
        record = json.loads(message["Body"])
    except ValueError:
        record = None
    payload = record.get("requestPayload") if isinstance(record, dict) else None
    kind = kind_of(payload)
    target = function or (record or {}).get("requestContext", {}).get("functionArn")
    line = f"{kind} {message['MessageId']}"
    if kind == "unknown" or (kind != "sweep" and not target):
        summary.left += 1
        print(f"{line}: left on the queue (not an upload, delivery or sweep record)")
        return
    if dry_run:
        print(f"{line}: would be {'deleted' if kind == 'sweep' else 're-invoked'}")
        return
    if kind == "sweep":
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        summary.superseded += 1
        print(f"{line}: deleted (the schedule runs the sweep again)")
        return
    try:
        answer = lambda_client.invoke(FunctionName=target, InvocationType="Event", Payload=json.dumps(payload))
        accepted = answer.get("StatusCode") == 202
    except Exception as exc:  # botocore's errors: the record stays for the next redrive
        print(f"{line}: left on the queue (invocation refused: {type(exc).__name__})")
        summary.left += 1
        return
    if not accepted:
        print(f"{line}: left on the queue (invocation answered {answer.get('StatusCode')})")
        summary.left += 1
        return
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    summary.redriven[kind] = summary.redriven.get(kind, 0) + 1
    print(f"{line}: re-invoked and deleted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.redrive", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stage", help="the deployed stage: its queue is " + QUEUE_NAME.format(stage="<stage>"))
    where.add_argument("--queue-url", help="the on-failure queue's URL")
    parser.add_argument("--region", help="AWS region (default: the shell's)")
    parser.add_argument("--function", help="invoke this function instead of the one each record names")
    parser.add_argument("--dry-run", action="store_true", help="list what would be done, change nothing")
    args = parser.parse_args(argv)
    import boto3

    sqs = boto3.client("sqs", region_name=args.region)
    lambda_client = boto3.client("lambda", region_name=args.region)
    queue_url = args.queue_url or sqs.get_queue_url(QueueName=QUEUE_NAME.format(stage=args.stage))["QueueUrl"]
    summary = redrive(sqs, lambda_client, queue_url, function=args.function, dry_run=args.dry_run)
    print(json.dumps(summary.as_dict()))
    return 1 if summary.left else 0


if __name__ == "__main__":
    sys.exit(main())
