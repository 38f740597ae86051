"""Upload records -> the object they name (no network)."""

from __future__ import annotations

import base64

import pytest

from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.photos import checked_photo, image_kind
from faceid_fn.entrypoints.dispatch import is_upload_event
from faceid_fn.entrypoints.upload_events import check_region, source_of
from local.sample_photo import png
from tests.aws import cos_record, md5, s3_record


def test_s3_key_is_url_decoded_and_version_falls_back_to_the_etag() -> None:
    data = png()
    source, request_id = source_of(s3_record("bucket-a", "ref/al ice+bob.png", data), "ap-singapore")
    assert source.Key == "ref/al ice+bob.png"
    assert source.Version == md5(data)
    assert source.VersionId is None
    assert request_id == "REQ1"


def test_s3_version_id_is_kept_for_versioned_buckets() -> None:
    record = s3_record("bucket-a", "a.png", png())
    record["s3"]["object"]["versionId"] = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    source, _ = source_of(record, "ap-singapore")
    assert source.Version == source.VersionId == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert source.idempotency_key == "s3:bucket-a/a.png#3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


@pytest.mark.parametrize("region", ["sg", "ap-singapore"])
def test_cos_record_names_bucket_key_and_region(region: str) -> None:
    source, request_id = source_of(cos_record("dir/a.png", size=10, region=region), "ap-singapore")
    assert (source.Storage, source.Bucket, source.Key, source.Region) == (
        "cos",
        "photos-1250000000",
        "dir/a.png",
        "ap-singapore",
    )
    assert source.Md5 is None
    assert request_id == "179398952"


@pytest.mark.parametrize(
    ("short", "region"),
    [
        ("sg", "ap-singapore"),
        ("jkt", "ap-jakarta"),
        ("th", "ap-bangkok"),
        ("hk", "ap-hongkong"),
        ("sao", "sa-saopaulo"),
    ],
)
def test_cos_short_region_codes_of_every_faceid_region_are_understood(short: str, region: str) -> None:
    source, _ = source_of(cos_record("a.png", size=10, region=short), region)
    assert source.Region == region


def test_a_cos_record_of_another_region_is_refused() -> None:
    # the record still names its object (for the failure it becomes), then the region is refused
    source, _ = source_of(cos_record("a.png", size=10, region="hk"), "ap-singapore")
    assert (source.Key, source.Region) == ("a.png", "ap-hongkong")
    with pytest.raises(InvalidInput) as raised:
        check_region(source, "ap-singapore")
    assert raised.value.code == "InvalidParameterValue.Region"


def test_cos_md5_comes_from_user_metadata_or_content_md5() -> None:
    digest = md5(b"photo")
    assert source_of(cos_record("a.png", size=5, md5_meta=digest.upper()), "ap-singapore")[0].Md5 == digest
    record = cos_record("a.png", size=5)
    record["cos"]["cosObject"]["meta"]["Content-MD5"] = base64.b64encode(bytes.fromhex(digest)).decode()
    assert source_of(record, "ap-singapore")[0].Md5 == digest


@pytest.mark.parametrize(
    "record",
    [{"eventSource": "aws:sqs"}, {"cos": {"cosObject": {}}}, {"cos": "x", "event": {}}],
)
def test_other_records_are_refused(record: dict) -> None:
    with pytest.raises(InvalidInput) as raised:
        source_of(record, "ap-singapore")
    assert raised.value.code == "UnsupportedRecord"


def test_upload_event_shape() -> None:
    assert is_upload_event({"Records": [{}]})
    assert not is_upload_event({"Records": []})
    assert not is_upload_event({"Records": "x"})
    assert not is_upload_event([])


@pytest.mark.parametrize(
    ("data", "kind"),
    [(png(), "png"), (b"\xff\xd8\xff\xe0rest", "jpeg"), (b"GIF89a", None), (b"", None), (b"%PDF-1.7", None)],
)
def test_images_are_recognised_by_magic_bytes(data: bytes, kind: str | None) -> None:
    assert image_kind(data) == kind


def test_checked_photo_refuses_oversize_and_non_images() -> None:
    assert checked_photo(png(), 1000) == md5(png())
    with pytest.raises(InvalidInput, match="ObjectTooLarge"):
        checked_photo(png(), 10)
    with pytest.raises(InvalidInput, match="UnsupportedImageType"):
        checked_photo(b"hello", 1000)
