"""Upload events -> sessions, with moto (S3, DynamoDB), a moto server as COS, and the FaceID emulator.

Every uploaded photo starts exactly one session: duplicate deliveries, concurrent deliveries and
Lambda's retries replay the stored answer (Powertools Idempotency on DynamoDB).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from local.sample_photo import png
from tests.aws import (
    AWS_REGION,
    EVENT_BUS,
    IDEMPOTENCY_TABLE,
    SESSIONS_TABLE,
    UPLOAD_BUCKET,
    cos_put,
    cos_record,
    create_ledger_and_bus,
    jpeg_like,
    md5,
    s3_record,
)
from tests.conftest import Emulator, LambdaContext, LogLines
from tests.secret_scan import find_secrets

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.legacy_flow]


@pytest.fixture
def upload_env(configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    def apply(**overrides: str) -> None:
        configure(**{"IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE, "COS_ENDPOINT": cos_server, **overrides})

    apply()
    return apply


@pytest.fixture
def deliver(upload_env: Callable[..., None], lambda_context: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke handler.handler with an event, the way Lambda delivers an upload notification."""

    def call(event: dict[str, Any]) -> dict[str, Any]:
        import handler

        result: dict[str, Any] = handler.handler(json.loads(json.dumps(event)), lambda_context)
        return result

    return call


def put(key: str, data: bytes) -> None:
    boto3.client("s3", region_name=AWS_REGION).put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=data)


def applied(emulator: Emulator) -> list[dict[str, Any]]:
    return [c for c in emulator.calls if c["action"] == "ApplyWebVerificationToken" and c["outcome"] == "ok"]


# -- S3 ----------------------------------------------------------------------------------------------


def test_s3_upload_goes_through_create_upload_url_and_starts_a_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    # GIVEN a photo uploaded under a key with a space (S3 sends it URL-encoded, `+` for space)
    photo = png()
    put("reference/alice smith.png", photo)
    # WHEN the upload notification arrives
    summary = deliver({"Records": [s3_record(UPLOAD_BUCKET, "reference/alice smith.png", photo)]})
    # THEN one session names its source, and FaceID got the bytes through its own upload slot
    assert summary["Failures"] == []
    [session] = summary["Sessions"]
    assert session["Source"] == {
        "Storage": "s3",
        "Bucket": UPLOAD_BUCKET,
        "Key": "reference/alice smith.png",
        "Version": md5(photo),
        "VersionId": None,
        "Region": AWS_REGION,
        "Size": len(photo),
        "Md5": None,
    }
    assert [c["action"] for c in emulator.calls] == ["CreateUploadUrl", "ApplyWebVerificationToken"]
    apply_params = emulator.calls[-1]["params"]
    assert apply_params["CompareImageMd5"] == md5(photo)
    assert urlsplit(apply_params["CompareImageUrl"]).hostname.endswith(".cos.ap-singapore.myqcloud.com")
    upload_id = urlsplit(apply_params["CompareImageUrl"]).path.removeprefix("/uploads/")
    assert emulator.state.uploads[upload_id].data == photo
    assert session["BizToken"] in emulator.state.sessions
    assert emulator.calls[-1]["trace_id"] == "REQ1"  # the upload's request id travels upstream


def test_one_bad_record_does_not_lose_the_others(deliver: Callable[..., dict[str, Any]], emulator: Emulator) -> None:
    # GIVEN three uploads, the middle one a text file
    good_a, text, good_b = png(seed=1), b"just some notes, not a photo", jpeg_like()
    put("a.png", good_a)
    put("notes.txt", text)
    put("b.jpg", good_b)
    event = {
        "Records": [
            s3_record(UPLOAD_BUCKET, k, d) for k, d in (("a.png", good_a), ("notes.txt", text), ("b.jpg", good_b))
        ]
    }
    # WHEN they arrive in one event
    summary = deliver(event)
    # THEN two sessions and one permanent failure naming its object; nothing raised
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["a.png", "b.jpg"]
    [failure] = summary["Failures"]
    assert failure["Source"]["Key"] == "notes.txt"
    assert failure["Error"]["Code"] == "UnsupportedImageType"
    assert failure["Retryable"] is False
    assert len(applied(emulator)) == 2


def test_oversize_object_is_refused_without_reaching_faceid(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    upload_env(UPLOAD_MAX_BYTES="1000")
    big = jpeg_like(5000)
    put("big.jpg", big)
    record = s3_record(UPLOAD_BUCKET, "big.jpg", big)
    record["s3"]["object"]["size"] = 10  # a record may under-report: the object itself is checked too
    summary = deliver({"Records": [record]})
    assert summary["Sessions"] == []
    assert summary["Failures"][0]["Error"]["Code"] == "ObjectTooLarge"
    assert emulator.calls == []


def test_deleted_object_is_a_permanent_failure(deliver: Callable[..., dict[str, Any]], emulator: Emulator) -> None:
    summary = deliver({"Records": [s3_record(UPLOAD_BUCKET, "gone.png", png())]})
    assert summary["Failures"][0]["Error"]["Code"] == "ObjectUnreadable"
    assert summary["Failures"][0]["Retryable"] is False


def test_non_create_records_are_ignored_as_failures(deliver: Callable[..., dict[str, Any]]) -> None:
    photo = png()
    summary = deliver({"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo, event="ObjectRemoved:Delete")]})
    assert summary["Failures"][0]["Error"]["Code"] == "UnsupportedRecord"


def test_throttling_past_the_budget_raises_for_a_lambda_retry(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    # GIVEN FaceID throttling every call for longer than the budget
    upload_env(FACEID_TIMEOUT_S="0.5")
    photo = png()
    put("a.png", photo)
    emulator.fault(code="RequestLimitExceeded", count=1000, action="CreateUploadUrl")
    # WHEN the record is delivered THEN the invocation fails (so Lambda retries) with the summary
    from faceid_fn.entrypoints.uploads import UploadsIncomplete

    with pytest.raises(UploadsIncomplete) as raised:
        deliver({"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]})
    summary = json.loads(str(raised.value))
    assert summary["Failures"][0]["Error"]["Code"] == "RequestLimitExceeded"
    assert summary["Failures"][0]["Retryable"] is True
    # AND once FaceID recovers, the retry starts the session
    emulator.state.reset()
    assert len(deliver({"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]})["Sessions"]) == 1


def two_uploads() -> dict[str, Any]:
    """Two photos in the upload bucket (a.png, b.png) and the event announcing both (request ids REQ-<key>)."""
    photos = {"a.png": png(seed=1), "b.png": png(seed=2)}
    for key, data in photos.items():
        put(key, data)
    return {"Records": [s3_record(UPLOAD_BUCKET, k, d, request_id=f"REQ-{k}") for k, d in photos.items()]}


def incomplete(deliver: Callable[..., dict[str, Any]], event: dict[str, Any]) -> dict[str, Any]:
    """Deliver an event that must fail for Lambda's retry; the summary it carries."""
    from faceid_fn.entrypoints.uploads import UploadsIncomplete

    with pytest.raises(UploadsIncomplete) as raised:
        deliver(event)
    summary: dict[str, Any] = json.loads(str(raised.value))
    return summary


def test_a_malformed_upload_slot_fails_its_record_only(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    # GIVEN FaceID answers the first CreateUploadUrl without UploadUrl/ResourceUrl
    event = two_uploads()
    emulator.fault(action="CreateUploadUrl", body='{"Response": {"RequestId": "rid-odd"}}', count=1)
    # WHEN both records arrive in one event
    summary = incomplete(deliver, event)
    # THEN the first is a retryable failure naming FaceID's request, the second got its session
    [failure] = summary["Failures"]
    assert failure["Source"]["Key"] == "a.png"
    assert failure["Error"]["Code"] == "UpstreamUnavailable"
    assert failure["Retryable"] is True
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["b.png"]


def test_an_unforeseen_error_in_one_record_keeps_the_others(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, monkeypatch: pytest.MonkeyPatch, logs: LogLines
) -> None:
    import faceid_fn.entrypoints.uploads

    real = faceid_fn.entrypoints.uploads.open_session

    def open_session(**kwargs: Any) -> Any:
        if kwargs["image_md5"] == md5(png(seed=1)):
            raise RuntimeError("a bug")
        return real(**kwargs)

    monkeypatch.setattr(faceid_fn.entrypoints.uploads, "open_session", open_session)
    summary = incomplete(deliver, two_uploads())
    assert summary["Failures"][0]["Source"]["Key"] == "a.png"
    assert summary["Failures"][0]["Error"] == {"Code": "InternalError", "Message": "The upload could not be handled"}
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["b.png"]
    assert logs.records("upload failed unexpectedly")


class ShortOfTime(LambdaContext):
    """A Lambda context whose invocation has 15 s left for the first record, then 3 s."""

    asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return 15_000 if self.asked <= 1 else 3_000


def test_records_left_without_time_are_deferred_to_lambdas_retry(
    upload_env: Callable[..., None], emulator: Emulator, lambda_context: Any
) -> None:
    # GIVEN two records, and after the first one less time left than FACEID_TIMEOUT_S (3 s) + margin
    import handler

    event = two_uploads()
    from faceid_fn.entrypoints.uploads import UploadsIncomplete

    # WHEN they are delivered THEN the second is deferred (retryable) instead of racing the Lambda timeout
    with pytest.raises(UploadsIncomplete) as raised:
        handler.handler(json.loads(json.dumps(event)), ShortOfTime())
    summary = json.loads(str(raised.value))
    assert [s["Source"]["Key"] for s in summary["Sessions"]] == ["a.png"]
    assert summary["Failures"][0]["Source"]["Key"] == "b.png"
    assert summary["Failures"][0]["Error"]["Code"] == "Deferred"
    assert summary["Failures"][0]["Retryable"] is True
    # AND Lambda's retry (with time) replays the first and starts the second: one session each
    retried = handler.handler(json.loads(json.dumps(event)), lambda_context)
    assert [s["Source"]["Key"] for s in retried["Sessions"]] == ["a.png", "b.png"]
    assert retried["Sessions"][0]["BizToken"] == summary["Sessions"][0]["BizToken"]
    assert len(applied(emulator)) == 2


def test_each_records_log_lines_carry_its_upload_request_id(
    deliver: Callable[..., dict[str, Any]], logs: LogLines
) -> None:
    deliver(two_uploads())
    started = logs.records("upload session started")
    assert [(r["source"]["Key"], r["correlation_id"]) for r in started] == [
        ("a.png", "REQ-a.png"),
        ("b.png", "REQ-b.png"),
    ]


# -- exactly once -----------------------------------------------------------------------------------


def test_same_record_delivered_twice_starts_one_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    photo = png()
    put("a.png", photo)
    event = {"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]}
    first, second = deliver(event), deliver(event)
    assert first == second
    assert len(applied(emulator)) == 1
    assert [c["action"] for c in emulator.calls].count("CreateUploadUrl") == 1


def test_two_concurrent_deliveries_start_one_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    # GIVEN FaceID slow enough that two deliveries of one record overlap
    photo = png()
    put("a.png", photo)
    event = {"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]}
    emulator.fault(latency_ms=400, action="CreateUploadUrl")
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = deliver(event)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # THEN one delivery started the session, the other was told to retry (in progress)
    from faceid_fn.entrypoints.uploads import UploadsIncomplete

    sessions = [r for r in results if isinstance(r, dict)]
    retries = [r for r in results if isinstance(r, UploadsIncomplete)]
    assert len(sessions) == 1
    assert len(retries) == 1
    assert json.loads(str(retries[0]))["Failures"][0]["Error"]["Code"] == "IdempotencyInProgress"
    assert len(applied(emulator)) == 1
    # AND Lambda's retry of the loser replays the same session
    assert deliver(event) == sessions[0]
    assert len(applied(emulator)) == 1


def answers(table: Any) -> list[dict[str, Any]]:
    """The stored answers (each started session also has a pointer to its answer, for a redact)."""
    return [item for item in table.scan()["Items"] if not str(item["id"]).startswith("session#")]


def test_expired_idempotency_record_allows_a_new_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    photo = png()
    put("a.png", photo)
    event = {"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]}
    first = deliver(event)
    # WHEN the stored record's expiry passes (DynamoDB TTL is lazy; Powertools compares the timestamp)
    table = boto3.resource("dynamodb", region_name=AWS_REGION).Table(IDEMPOTENCY_TABLE)
    [item] = answers(table)
    table.update_item(
        Key={"id": item["id"]}, UpdateExpression="SET expiration = :past", ExpressionAttributeValues={":past": 1}
    )
    second = deliver(event)
    # THEN the re-delivery starts a fresh session
    assert second["Sessions"][0]["BizToken"] != first["Sessions"][0]["BizToken"]
    assert len(applied(emulator)) == 2


def test_idempotency_records_expire_within_the_token_lifetime(
    deliver: Callable[..., dict[str, Any]], upload_env: Callable[..., None]
) -> None:
    import time

    photo = png()
    put("a.png", photo)
    before = int(time.time())
    deliver({"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]})
    table = boto3.resource("dynamodb", region_name=AWS_REGION).Table(IDEMPOTENCY_TABLE)
    [item] = answers(table)
    assert before + 3600 <= int(item["expiration"]) <= int(time.time()) + 3600  # IDEMPOTENCY_TTL_S default
    assert int(item["expiration"]) - before <= 7200


# -- COS ---------------------------------------------------------------------------------------------


def test_cos_record_with_md5_sends_a_presigned_cos_url(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, logs: LogLines
) -> None:
    # GIVEN a COS upload whose record carries the MD5 in its metadata
    photo = png()
    summary = deliver({"Records": [cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))]})
    # THEN the session's source is the COS object, and FaceID got a pre-signed URL of it
    [session] = summary["Sessions"]
    assert session["Source"]["Storage"] == "cos"
    assert session["Source"]["Bucket"] == "photos-1250000000"
    assert session["Source"]["Key"] == "reference/alice.png"
    params = emulator.calls[-1]["params"]
    url = urlsplit(params["CompareImageUrl"])
    assert url.scheme == "https"
    assert url.hostname == "photos-1250000000.cos.ap-singapore.myqcloud.com"
    assert url.path == "/reference/alice.png"
    assert "X-Amz-Signature=" in url.query
    assert params["CompareImageMd5"] == md5(photo)
    assert emulator.calls[-1]["trace_id"] == "179398952"
    # AND neither the pre-signed URL's signature nor the uploader's Authorization reached the logs
    signature = url.query.split("X-Amz-Signature=")[1].split("&")[0]
    assert find_secrets(logs.text, [signature, "0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked"]) == []
    assert "upload session started" in logs.text


def test_cos_record_without_md5_reads_the_object(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, cos_server: str
) -> None:
    photo = png(seed=7)
    cos_put(cos_server, "reference/bob.png", photo)
    summary = deliver({"Records": [cos_record("reference/bob.png", size=len(photo))]})
    assert summary["Failures"] == []
    assert emulator.calls[-1]["params"]["CompareImageMd5"] == md5(photo)


def test_cos_record_of_a_non_image_is_refused(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator, cos_server: str
) -> None:
    cos_put(cos_server, "reference/notes.txt", b"not an image")
    summary = deliver({"Records": [cos_record("reference/notes.txt", size=12)]})
    assert summary["Failures"][0]["Error"]["Code"] == "UnsupportedImageType"
    assert emulator.calls == []


def test_cos_record_of_another_region_is_refused(deliver: Callable[..., dict[str, Any]], emulator: Emulator) -> None:
    summary = deliver({"Records": [cos_record("a.png", size=10, md5_meta="0" * 32, region="gz")]})
    assert summary["Failures"][0]["Error"]["Code"] == "InvalidParameterValue.Region"
    assert emulator.calls == []


def test_cos_record_delivered_twice_starts_one_session(
    deliver: Callable[..., dict[str, Any]], emulator: Emulator
) -> None:
    photo = png()
    event = {"Records": [cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))]}
    assert deliver(event) == deliver(event)
    assert len(applied(emulator)) == 1


# -- HTTP Idempotency-Key ----------------------------------------------------------------------------


def test_http_retry_with_the_same_key_returns_the_same_session(
    invoke: Callable[..., Any], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    from tests.conftest import http_event, start_body

    event = http_event(body=start_body(), headers={"idempotency-key": "app-retry-1"})
    first, second = invoke(event), invoke(event)
    assert first.status == second.status == 201
    assert first.body == second.body
    assert len(applied(emulator)) == 1


def test_http_keys_are_per_caller_when_callers_are_authenticated(
    invoke: Callable[..., Any], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    # GIVEN the JWT authorizer on, and two callers who happen to pick the same Idempotency-Key
    from tests.conftest import http_event, start_body
    from tests.integration.test_auth import with_jwt_claims

    create_ledger_and_bus()
    upload_env(AUTH_REQUIRED="true", SESSIONS_TABLE=SESSIONS_TABLE, EVENT_BUS_NAME=EVENT_BUS)
    folder = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference"  # each caller's own photo
    key = {"idempotency-key": "retry-1"}
    alice, bob = (
        with_jwt_claims(http_event(body=start_body(CompareImageUrl=f"{folder}/{who}/p.jpg"), headers=key), who)
        for who in ("alice", "bob")
    )
    # WHEN each sends it (alice twice)
    a1, b1, a2 = invoke(alice), invoke(bob), invoke(alice)
    # THEN each got a session of their own, and alice's retry replayed hers
    assert a1.status == b1.status == a2.status == 201
    assert a1.body["BizToken"] != b1.body["BizToken"]
    assert a2.body == a1.body
    assert len(applied(emulator)) == 2


def test_http_same_key_with_another_body_is_409(
    invoke: Callable[..., Any], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    from tests.conftest import http_event, start_body

    invoke(http_event(body=start_body(), headers={"idempotency-key": "app-retry-2"}))
    other = start_body(CompareImageMd5="0" * 32)
    response = invoke(http_event(body=other, headers={"idempotency-key": "app-retry-2"}, request_id="r-409"))
    assert response.status == 409
    assert response.body == {
        "Error": {
            "Code": "IdempotencyConflict",
            "Message": "This Idempotency-Key was already used with a different request",
        },
        "RequestId": "r-409",
    }
    assert len(applied(emulator)) == 1


def test_http_without_a_key_starts_a_session_per_request(
    invoke: Callable[..., Any], emulator: Emulator, upload_env: Callable[..., None]
) -> None:
    from tests.conftest import http_event, start_body

    first, second = invoke(http_event(body=start_body())), invoke(http_event(body=start_body()))
    assert first.body["BizToken"] != second.body["BizToken"]
    assert len(applied(emulator)) == 2
