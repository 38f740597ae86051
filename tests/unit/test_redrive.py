"""tools/redrive.py against moto's SQS and a stubbed Lambda client (botocore's Stubber): each failed upload
and webhook delivery is re-invoked asynchronously with its event, and deleted only once Lambda took it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import EVENTS
from tools import redrive

REGION = "ap-southeast-1"
FUNCTION_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:faceid-fn-test-api:$LATEST"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url = client.create_queue(QueueName="faceid-fn-upload-failures-test")["QueueUrl"]
        yield client, url


def failure_record(payload: Any, function_arn: str = FUNCTION_ARN) -> str:
    """What Lambda puts on an on-failure destination after the last retry (Lambda's documented record)."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-25T04:05:00.000Z",
            "requestContext": {
                "requestId": "c5e2a7f0-0000-4000-8000-000000000001",
                "functionArn": function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "webhook not taken", "errorType": "WebhookFailed"},
        }
    )


def event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def count(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_uploads_and_deliveries_are_reinvoked_with_their_event_and_deleted_once_accepted(
    sqs: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, url = sqs
    # GIVEN an upload, a webhook delivery and a sweep run that failed every attempt, and a stray message
    upload, delivery = event("s3-put.json"), event("verification-completed.json")
    for body in (failure_record(upload), failure_record(delivery), failure_record(event("scheduled-sweep.json"))):
        client.send_message(QueueUrl=url, MessageBody=body)
    client.send_message(QueueUrl=url, MessageBody="not a Lambda record")
    lambda_client = boto3.client("lambda", region_name=REGION)
    with Stubber(lambda_client) as stub:
        # THEN Lambda is asked to run the upload and the delivery again, asynchronously, with their events
        for payload in (upload, delivery):
            stub.add_response(
                "invoke",
                {"StatusCode": 202},
                {"FunctionName": FUNCTION_ARN, "InvocationType": "Event", "Payload": json.dumps(payload)},
            )
        # WHEN the queue is redriven
        summary = redrive.redrive(client, lambda_client, url)
        stub.assert_no_pending_responses()
    # AND the accepted ones and the sweep run are gone, the stray message is left and reported
    assert summary.as_dict() == {"Redriven": {"upload": 1, "delivery": 1}, "Superseded": 1, "Left": 1}
    assert count(client, url) == 1
    out = capsys.readouterr().out
    assert "upload" in out
    assert "alice" not in out  # one line per record, without its payload (the object's key names a person)


def test_a_refused_invocation_leaves_its_record_for_the_next_redrive(
    sqs: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, url = sqs
    monkeypatch.setattr(redrive, "VISIBILITY_TIMEOUT_S", 0)  # a record left is visible again at once
    delivery = event("verification-completed.json")
    client.send_message(QueueUrl=url, MessageBody=failure_record(delivery))
    lambda_client = boto3.client("lambda", region_name=REGION)
    # WHEN Lambda refuses the invocation (throttled)
    with Stubber(lambda_client) as stub:
        stub.add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
        summary = redrive.redrive(client, lambda_client, url)
    # THEN the record stays on the queue (and the run ends instead of retrying it at once)
    assert summary.as_dict() == {"Redriven": {}, "Superseded": 0, "Left": 1}
    assert count(client, url) == 1
    # AND the next redrive delivers it (here to the function named on the command line)
    with Stubber(lambda_client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": "faceid-fn-test-deliver", "InvocationType": "Event", "Payload": json.dumps(delivery)},
        )
        summary = redrive.redrive(client, lambda_client, url, function="faceid-fn-test-deliver")
    assert summary.as_dict() == {"Redriven": {"delivery": 1}, "Superseded": 0, "Left": 0}
    assert count(client, url) == 0


def test_a_dry_run_invokes_and_deletes_nothing(sqs: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    client, url = sqs
    client.send_message(QueueUrl=url, MessageBody=failure_record(event("s3-put.json")))
    lambda_client = boto3.client("lambda", region_name=REGION)
    with Stubber(lambda_client):  # no response queued: any invoke would fail the test
        summary = redrive.redrive(client, lambda_client, url, dry_run=True)
    assert summary.as_dict() == {"Redriven": {}, "Superseded": 0, "Left": 0}
    assert count(client, url) == 1
    assert "would be re-invoked" in capsys.readouterr().out


def test_the_command_finds_the_queue_of_a_stage_and_exits_1_when_a_record_is_left(
    sqs: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, url = sqs
    client.send_message(QueueUrl=url, MessageBody="{}")
    assert redrive.main(["--stage", "test", "--region", REGION]) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"Redriven": {}, "Superseded": 0, "Left": 1}
