"""AWS and COS stand-ins for tests: moto in-process for S3 and DynamoDB, and a moto server on
127.0.0.1 playing Tencent COS's S3-compatible endpoint (real HTTP)."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import boto3

AWS_REGION = "ap-southeast-1"
UPLOAD_BUCKET = "faceid-fn-uploads-test"
IDEMPOTENCY_TABLE = "faceid-fn-idempotency-test"
PACING_TABLE = "faceid-fn-pacing-test"
SESSIONS_TABLE = "faceid-fn-sessions-test"
EVENT_BUS = "faceid-fn-test"


def jpeg_like(size: int = 2048) -> bytes:
    """Bytes with a JPEG signature (the function checks magic bytes; FaceID decodes)."""
    return b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(i % 251 for i in range(size))


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


COS_BUCKET = "photos-1250000000"


def cos_put(cos_server: str, key: str, data: bytes) -> None:
    """Put an object in the COS stand-in (a moto server speaking COS's S3-compatible API)."""
    from botocore.config import Config

    client: Any = boto3.client(
        "s3",
        endpoint_url=cos_server,
        region_name="ap-singapore",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(s3={"addressing_style": "path"}),
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=COS_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-singapore"})
    client.put_object(Bucket=COS_BUCKET, Key=key, Body=data)


def create_table(name: str, ttl_attribute: str) -> None:
    """A table as serverless.yml declares both of ours: partition key `id` (string), TTL on one attribute."""
    dynamodb = boto3.client("dynamodb", region_name=AWS_REGION)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
    )


def create_idempotency_table(name: str = IDEMPOTENCY_TABLE) -> None:
    create_table(name, "expiration")


def s3_record(
    bucket: str, key: str, data: bytes, *, request_id: str = "REQ1", event: str = "ObjectCreated:Put"
) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": AWS_REGION,
        "eventTime": "2026-11-25T04:00:00.000Z",
        "eventName": event,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "faceid-fn-uploads",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {"key": quote_plus(key, safe="/"), "size": len(data), "eTag": md5(data), "sequencer": "00AB"},
        },
    }


def cos_record(
    key: str, *, size: int, md5_meta: str | None = None, region: str = "sg", vid: str = ""
) -> dict[str, Any]:
    meta = {"x-cos-request-id": "NWMxOWY4MGFf", "Content-Type": "image/png"}
    if md5_meta:
        meta["x-cos-meta-md5"] = md5_meta
    return {
        "cos": {
            "cosSchemaVersion": "1.0",
            "cosObject": {
                "url": f"http://photos-1250000000.cos.ap-singapore.myqcloud.com/{key}",
                "meta": meta,
                "vid": vid,
                "key": f"/1250000000/photos/{key}",
                "size": size,
            },
            "cosBucket": {"region": region, "name": "photos", "appid": "1250000000"},
            "cosNotificationId": "faceid-fn",
        },
        "event": {
            "eventName": "cos:ObjectCreated:Put",
            "eventVersion": "1.0",
            "eventTime": 1795665600,
            "eventSource": "qcs::cos",
            "requestParameters": {
                "requestSourceIP": "203.0.113.10",
                "requestHeaders": {
                    "Authorization": "q-sign-algorithm=sha1&q-ak=AKIDuploader&q-sign-time=1;2&q-key-time=1;2"
                    "&q-header-list=host&q-url-param-list=&q-signature=0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked"
                },
            },
            "reqid": 179398952,
        },
    }


def create_ledger_and_bus() -> str:
    """The session ledger (as serverless.yml declares it), the event bus, and an SQS queue that a rule
    fills with every `Verification Completed` event (what the tests count). Returns the queue's URL."""
    import json

    from local.seed import create_sessions_table

    create_sessions_table(boto3.client("dynamodb", region_name=AWS_REGION), SESSIONS_TABLE)
    events = boto3.client("events", region_name=AWS_REGION)
    sqs = boto3.client("sqs", region_name=AWS_REGION)
    events.create_event_bus(Name=EVENT_BUS)
    queue = sqs.create_queue(QueueName="completions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["faceid-fn"], "detail-type": ["Verification Completed"]}
    events.put_rule(Name="completions", EventBusName=EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="completions", EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return str(queue)


def completion_events(queue: str) -> list[dict[str, Any]]:
    """Every completion event put on the bus so far (drains the queue)."""
    import json

    sqs = boto3.client("sqs", region_name=AWS_REGION)
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
