"""Who owns an uploaded object's session: its metadata `owner`, else the key's first segment after the prefix."""

from __future__ import annotations

import pytest

from faceid_fn.models import ObjectSource
from faceid_fn.uploads import upload_owner
from tests.aws import cos_record


def cos_source(key: str) -> ObjectSource:
    return ObjectSource(Storage="cos", Bucket="photos-1250000000", Key=key, Version="v1")


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        ("reference/user-42/photo.jpg", "user-42"),
        ("reference/user-42/2026/photo.jpg", "user-42"),
        ("reference/photo.jpg", None),  # no segment between the prefix and the file: nobody
        ("reference//photo.jpg", None),
        ("other/user-9/photo.jpg", "other"),  # outside the prefix: the key's own first segment
    ],
)
def test_the_key_names_the_owner_when_the_metadata_does_not(key: str, owner: str | None) -> None:
    assert upload_owner(cos_record(key, size=10), cos_source(key), "reference/") == owner


def test_cos_metadata_owner_wins_over_the_key() -> None:
    record = cos_record("reference/user-42/photo.jpg", size=10)
    record["cos"]["cosObject"]["meta"]["X-Cos-Meta-Owner"] = " user-7 "
    assert upload_owner(record, cos_source("reference/user-42/photo.jpg"), "reference/") == "user-7"
