"""COS upload records as SCF delivers them: a refused record names its object and carries
its correlation id, two uploads of one key are two sessions, and a percent-encoded key is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.sample_photo import png
from tests.aws import cos_put, cos_record, md5
from tests.conftest import Emulator, LogLines
from tests.integration import test_uploads

# The upload tests' fixtures (the function with an idempotency table and the COS stand-in).
upload_env, deliver, applied = test_uploads.upload_env, test_uploads.deliver, test_uploads.applied

pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.legacy_flow]  # as test_uploads

Deliver = Callable[[dict[str, Any]], dict[str, Any]]


def test_a_record_refused_for_its_region_names_its_object_and_correlation_id(
    deliver: Deliver, emulator: Emulator, logs: LogLines
) -> None:
    # GIVEN a COS upload in Guangzhou delivered to a function in Singapore
    record = cos_record("reference/a.png", size=10, md5_meta="0" * 32, region="gz")
    summary = deliver({"Records": [record]})
    # THEN the failure names the object and the upload's request id, and so does its log line
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "InvalidParameterValue.Region"
    assert failure["Source"]["Bucket"] == "photos-1250000000"
    assert failure["Source"]["Key"] == "reference/a.png"
    assert failure["CorrelationId"] == "179398952"
    [line] = logs.records("upload not started")
    assert line["correlation_id"] == "179398952"
    assert line["source"]["Key"] == "reference/a.png"
    assert emulator.calls == []


def test_a_malformed_record_carries_the_invocations_id_not_the_previous_records(
    deliver: Deliver, logs: LogLines
) -> None:
    photo = png()
    good = cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))
    summary = deliver({"Records": [good, {"cos": {"cosObject": {}}}]})
    [failure] = summary["Failures"]
    assert failure["Source"] is None
    assert failure["CorrelationId"] == "lambda-request-0001"  # LambdaContext.aws_request_id
    assert logs.records("upload not started")[-1]["correlation_id"] == "lambda-request-0001"


def test_two_uploads_of_one_key_in_the_same_second_are_two_sessions(deliver: Deliver, emulator: Emulator) -> None:
    # GIVEN an unversioned bucket, the same key uploaded twice in the same second, with the same size
    photo = png()
    first = cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))
    second = cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))
    second["cos"]["cosObject"]["meta"]["x-cos-request-id"] = "NjA1ZmEyYWJfMTBhOTFlMGFfNmQ0N18xMmIxYTQ0"
    # WHEN both are delivered (and the first once more: events are at-least-once)
    one, two, again = deliver({"Records": [first]}), deliver({"Records": [second]}), deliver({"Records": [first]})
    # THEN each upload has its own session; the redelivery replays the first
    assert one["Sessions"][0]["BizToken"] != two["Sessions"][0]["BizToken"]
    assert again == one
    assert len(applied(emulator)) == 2


def test_a_percent_encoded_cos_key_is_read(deliver: Deliver, cos_server: str, emulator: Emulator) -> None:
    # GIVEN a photo whose name has a space, in the COS stand-in, and a record without its MD5
    photo = png()
    cos_put(cos_server, "reference/alice smith.png", photo)
    record = cos_record("reference/alice%20smith.png", size=len(photo))
    # WHEN the record (key percent-encoded, as COS sends it) is delivered
    summary = deliver({"Records": [record]})
    # THEN the object was found and read (its MD5 computed from the bytes) and the session names it
    assert summary["Failures"] == [], summary
    [session] = summary["Sessions"]
    assert session["Source"]["Key"] == "reference/alice smith.png"
    assert emulator.calls[-1]["params"]["CompareImageMd5"] == md5(photo)
