"""Seed the local moto server: the upload bucket with the sample photo that events/s3-put.json names,
the COS stand-in bucket with the photo of events/cos-upload.json, the idempotency and pacing tables, the
session ledger (as serverless.yml declares it) and the completion events' bus."""

from __future__ import annotations

import os
import sys
from typing import Any

import boto3
from botocore.config import Config

from local.sample_photo import png


def main() -> None:
    if sys.argv[1:2] == ["--table"]:  # just one table (bench/: the pacing table)
        create_table(boto3.client("dynamodb"), sys.argv[2])
        return
    s3: Any = boto3.client("s3")
    region = os.environ["AWS_DEFAULT_REGION"]
    bucket = os.environ["UPLOAD_BUCKET"]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=bucket, Key="reference/alice smith.png", Body=png(), ContentType="image/png")

    cos: Any = boto3.client(
        "s3",
        endpoint_url=os.environ["COS_ENDPOINT"],
        region_name="ap-singapore",
        config=Config(s3={"addressing_style": "path"}),
    )
    cos.create_bucket(Bucket="photos-1250000000", CreateBucketConfiguration={"LocationConstraint": "ap-singapore"})
    cos.put_object(Bucket="photos-1250000000", Key="reference/alice.png", Body=png(), ContentType="image/png")

    dynamodb = boto3.client("dynamodb")
    tables = [os.environ["IDEMPOTENCY_TABLE"], os.environ["FACEID_PACING_TABLE"]]
    for table in tables:
        create_table(dynamodb, table)
    # The session ledger, exactly as serverless.yml declares it (index and TTL), and the event bus.
    tables.append(os.environ["SESSIONS_TABLE"])
    create_sessions_table(dynamodb, os.environ["SESSIONS_TABLE"])
    boto3.client("events").create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
    print(
        f"seeded s3://{bucket}/reference/alice smith.png, cos photos-1250000000/reference/alice.png, "
        f"tables {', '.join(tables)}"
    )


def create_table(dynamodb: Any, name: str) -> None:
    """A table keyed by the string `id`, the shape of both the idempotency and the pacing table."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def declared_resources() -> dict[str, Any]:
    """serverless.yml's CloudFormation resources (short-form tags such as !GetAtt read as None)."""
    from pathlib import Path

    import yaml  # type: ignore[import-untyped,unused-ignore]

    class Loader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (Path(__file__).resolve().parent.parent / "serverless.yml").read_text()
    config = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    resources: dict[str, Any] = config["resources"]["Resources"]
    return resources


def create_sessions_table(dynamodb: Any, name: str) -> None:
    """The session ledger as serverless.yml's `SessionsTable` declares it: key, Pending index, TTL."""
    spec = declared_resources()["SessionsTable"]["Properties"]
    dynamodb.create_table(
        TableName=name,
        KeySchema=spec["KeySchema"],
        AttributeDefinitions=spec["AttributeDefinitions"],
        GlobalSecondaryIndexes=spec["GlobalSecondaryIndexes"],
        BillingMode=spec["BillingMode"],
    )
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec["TimeToLiveSpecification"])


if __name__ == "__main__":
    main()
