"""An uploader who may write only its own folder cannot start a session with another user's photo: a record whose
key climbs out of the folder that decides the owner is refused (InvalidObjectKey, permanent, no FaceID call).

handler -> upload records (COS through the moto server standing in for COS, S3 in moto) -> FaceID emulator, in
the default (intl) flow, where the photo's bytes are what FaceID compares the person with.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.sample_photo import png
from tests.aws import AWS_REGION, IDEMPOTENCY_TABLE, UPLOAD_BUCKET, cos_put, cos_record, s3_record
from tests.conftest import Emulator

pytestmark = pytest.mark.usefixtures("aws")

THEIRS = png(seed=2)  # user-b's reference photo


@pytest.fixture
def deliver(configure: Callable[..., None], cos_server: str, lambda_context: Any) -> Callable[..., dict[str, Any]]:
    configure(IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE, COS_ENDPOINT=cos_server, FACEID_FLOW="intl")
    cos_put(cos_server, "reference/user-a/a.png", png(seed=1))
    cos_put(cos_server, "reference/user-b/b.png", THEIRS)
    s3 = boto3.client("s3", region_name=AWS_REGION)
    s3.put_object(Bucket=UPLOAD_BUCKET, Key="reference/user-a/a.png", Body=png(seed=1))
    s3.put_object(Bucket=UPLOAD_BUCKET, Key="reference/user-b/b.png", Body=THEIRS)

    def call(record: dict[str, Any]) -> dict[str, Any]:
        import handler

        result: dict[str, Any] = handler.handler(json.loads(json.dumps({"Records": [record]})), lambda_context)
        return result

    return call


def cos_key(record: dict[str, Any], key: str) -> dict[str, Any]:
    record["cos"]["cosObject"]["key"] = f"/1250000000/photos/{key}"  # as the record carries it, unchanged
    return record


def applies(emulator: Emulator) -> list[dict[str, Any]]:
    return [c for c in emulator.calls if c["action"].startswith("ApplyWebVerification")]


CLIMBS = [
    "reference/user-a/../user-b/b.png",
    "reference/user-a/%2e%2e/user-b/b.png",  # dots COS delivers encoded
    "reference/user-a/..%2Fuser-b/b.png",  # an encoded slash
    "reference/user-a/.%2E/user-b/b.png",
    "reference/user-a/..\\user-b/b.png",  # a backslash some servers take for a slash
    "reference/user-a/%252e%252e/user-b/b.png",  # encoded twice
    "reference/user-a/\uff0e\uff0e/user-b/b.png",  # fullwidth dots
    "reference/user-a//../user-b/b.png",
    "/1250000000/photos/reference/user-b/b.png",  # a second bucket prefix
]


@pytest.mark.parametrize("key", CLIMBS)
def test_a_cos_record_climbing_into_another_owners_folder_starts_nothing(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, key: str
) -> None:
    # GIVEN an uploader of user-a's folder whose record's key climbs into user-b's
    summary = deliver(cos_key(cos_record("x", size=len(THEIRS)), key))
    # THEN the record is a permanent failure, and FaceID was never asked to start a session
    assert summary["Sessions"] == []
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "InvalidObjectKey"
    assert failure["Retryable"] is False
    assert applies(emulator) == []


@pytest.mark.parametrize("key", [k for k in CLIMBS if not k.startswith("/")])
def test_an_s3_record_climbing_into_another_owners_folder_starts_nothing(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, key: str
) -> None:
    summary = deliver(s3_record(UPLOAD_BUCKET, key, THEIRS))  # the key URL-encoded, as S3 writes it
    assert summary["Sessions"] == []
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "InvalidObjectKey"
    assert failure["Retryable"] is False
    assert applies(emulator) == []


@pytest.mark.parametrize("record", ["cos", "s3"])
def test_a_photo_in_the_uploaders_own_folder_still_starts_its_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, record: str
) -> None:
    # The control case: the same records without the climb start a session against user-a's own photo.
    key = "reference/user-a/a.png"
    made = cos_record(key, size=len(png(seed=1))) if record == "cos" else s3_record(UPLOAD_BUCKET, key, png(seed=1))
    summary = deliver(made)
    assert summary["Failures"] == []
    [session] = summary["Sessions"]
    assert session["Source"]["Key"] == key
    [apply] = applies(emulator)
    assert base64.b64decode(apply["params"]["CompareImageBase64"]) == png(seed=1)


@pytest.mark.parametrize(
    ("name", "appid"), [("evil.example.com/x?", "1250000000"), ("photos", "1250000000@evil"), ("Photos", "125")]
)
def test_a_cos_record_naming_no_valid_bucket_reads_nothing(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, name: str, appid: str
) -> None:
    # The bucket goes into the host of the signed read: a name that is no COS bucket would send it elsewhere.
    record = cos_record("reference/user-a/a.png", size=len(THEIRS))
    record["cos"]["cosBucket"].update(name=name, appid=appid)
    record["cos"]["cosObject"]["key"] = f"/{appid}/{name}/reference/user-a/a.png"
    summary = deliver(record)
    assert summary["Sessions"] == []
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "InvalidBucketName"
    assert failure["Retryable"] is False
    assert applies(emulator) == []


# -- the COS uploads function: what the COS forwarder's key may invoke ------------------------------------


def test_the_cos_uploads_function_runs_cos_records(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, lambda_context: Any
) -> None:
    import handler

    event = {"Records": [cos_record("reference/user-a/a.png", size=len(png(seed=1)))]}
    summary = handler.cos_uploads(json.loads(json.dumps(event)), lambda_context)
    assert summary["Failures"] == []
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["reference/user-a/a.png"]
    assert len(applies(emulator)) == 1


def test_the_cos_uploads_function_runs_nothing_else(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, lambda_context: Any
) -> None:
    # GIVEN the forwarder's key in someone else's hands: an HTTP request with made-up authorizer claims, an
    # S3 record, a scheduled sweep, and COS records mixed with an S3 one
    import handler
    from tests.conftest import http_event
    from tests.integration.test_auth import with_jwt_claims

    forged = with_jwt_claims(
        http_event(method="GET", path="/verifications/C0FFEE00-0000-4000-8000-000000000004"), "user-b"
    )
    s3 = {"Records": [s3_record(UPLOAD_BUCKET, "reference/user-a/a.png", png(seed=1))]}
    mixed = {"Records": [cos_record("reference/user-a/a.png", size=10), *s3["Records"]]}
    sweep = {"source": "aws.events", "detail-type": "Scheduled Event", "id": "x", "detail": {}}
    # THEN none is run: each is the UnsupportedEvent answer, and FaceID is never called
    for event in (forged, s3, mixed, sweep):
        answer = handler.cos_uploads(json.loads(json.dumps(event)), lambda_context)
        assert answer == {"Error": {"Code": "UnsupportedEvent", "Message": "This function does not handle this event"}}
    assert emulator.calls == []
