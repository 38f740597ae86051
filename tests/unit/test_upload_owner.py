"""Who owns an uploaded object's session: the folder of its key under the prefix; its metadata `owner` only
with UPLOAD_OWNER_FROM=metadata."""

from __future__ import annotations

import pytest

from faceid_fn.domain.models import ObjectSource
from faceid_fn.entrypoints.upload_events import upload_owner
from tests.aws import UPLOAD_BUCKET, cos_record


def cos_source(key: str) -> ObjectSource:
    return ObjectSource(Storage="cos", Bucket="photos-1250000000", Key=key, Version="v1")


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        ("reference/user-42/photo.jpg", "user-42"),
        ("reference/user-42/2026/photo.jpg", "user-42"),
        ("reference/photo.jpg", None),  # no segment between the prefix and the file: nobody
        ("reference//photo.jpg", None),
        ("reference/../photo.jpg", None),  # a dot segment is no one's folder
        ("reference/./photo.jpg", None),
        ("reference/user-42/", None),  # a folder, not a photo in it
        ("other/user-9/photo.jpg", None),  # outside the prefix: nobody's
        ("Reference/user-9/photo.jpg", None),
    ],
)
def test_the_key_names_the_owner(key: str, owner: str | None) -> None:
    assert upload_owner(cos_record(key, size=10), cos_source(key), "reference/") == owner


def test_the_metadata_owner_counts_only_when_asked_for() -> None:
    # GIVEN a COS upload in user-42's folder whose metadata names user-7 (its uploader may set any metadata)
    record = cos_record("reference/user-42/photo.jpg", size=10)
    record["cos"]["cosObject"]["meta"]["X-Cos-Meta-Owner"] = " user-7 "
    source = cos_source("reference/user-42/photo.jpg")
    # THEN by default the key decides; with UPLOAD_OWNER_FROM=metadata the metadata does
    assert upload_owner(record, source, "reference/") == "user-42"
    assert upload_owner(record, source, "reference/", "key") == "user-42"
    assert upload_owner(record, source, "reference/", "metadata") == "user-7"
    # AND without metadata, the metadata mode falls back on the key
    plain = cos_record("reference/user-42/photo.jpg", size=10)
    assert upload_owner(plain, source, "reference/", "metadata") == "user-42"


def test_the_key_rule_reads_nothing_from_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an S3 upload and an S3 client that fails every call
    from faceid_fn import container

    def no_s3() -> object:
        raise AssertionError("the key rule must not call S3 (HeadObject)")

    monkeypatch.setattr(container, "s3", no_s3)
    source = ObjectSource(Storage="s3", Bucket=UPLOAD_BUCKET, Key="reference/user-42/photo.jpg", Version="e1")
    # THEN the owner comes from the key alone: no HeadObject
    assert upload_owner({}, source, "reference/", "key") == "user-42"
    with pytest.raises(AssertionError, match="HeadObject"):
        upload_owner({}, source, "reference/", "metadata")
