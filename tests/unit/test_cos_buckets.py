"""FACEID_COS_BUCKETS: the only COS buckets a caller's CompareImageUrl may name (no open wallet)."""

from __future__ import annotations

from typing import Any

import pytest

from faceid_fn.config import ConfigError, Settings, load_settings
from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.models import StartVerification
from faceid_fn.domain.verification import compare_image_url, start_verification
from tests.conftest import COS_URL, VALID_MD5

OTHER = "https://someone-1300000000.cos.ap-singapore.myqcloud.com/alice/reference.jpg"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "tencentcloud_secret_id": "AKIDx",
        "tencentcloud_secret_key": "key",
        "faceid_redirect_url": "https://app.example.com/done",
    }
    return Settings(**{**values, **overrides})


class NeverCalled:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"FaceID must not be called ({name})")


def never_read(url: str) -> bytes:
    raise AssertionError("the photo must not be read")


def test_a_listed_bucket_is_accepted() -> None:
    assert compare_image_url(COS_URL, "ap-singapore", frozenset({"photos-1250000000"})) == COS_URL


@pytest.mark.parametrize(
    "url",
    [
        OTHER,
        OTHER.replace("someone-1300000000", "photos-1250000001"),
        "https://PHOTOS-1250000001.cos.ap-singapore.myqcloud.com/a.jpg",
    ],
)
def test_any_other_bucket_is_a_400_before_any_call(url: str) -> None:
    # GIVEN a function that may read photos from one bucket only
    configured = settings(faceid_cos_buckets="photos-1250000000")
    request = StartVerification(CompareImageUrl=url, CompareImageMd5=VALID_MD5)
    # WHEN a caller names another bucket THEN it is refused, and FaceID is never called
    with pytest.raises(InvalidInput) as raised:
        start_verification(request, settings=configured, faceid=NeverCalled(), trace_id="t", read_photo=never_read)
    assert raised.value.code == "InvalidParameterValue.CompareImageUrl"
    assert raised.value.status == 400
    assert "FACEID_COS_BUCKETS" in raised.value.message
    assert "someone" not in raised.value.message  # the caller's value is not echoed


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("", frozenset()),
        ("*", frozenset()),
        (" A-1250000000 , b-1300000000", frozenset({"a-1250000000", "b-1300000000"})),
    ],
)
def test_the_list_is_read_from_the_environment(value: str, parsed: frozenset[str]) -> None:
    assert settings(faceid_cos_buckets=value).faceid_cos_buckets == parsed


def test_a_bucket_without_its_appid_stops_the_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDx")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key")
    monkeypatch.setenv("FACEID_REDIRECT_URL", "https://app.example.com/done")
    monkeypatch.setenv("FACEID_COS_BUCKETS", "photos")
    with pytest.raises(ConfigError, match="FACEID_COS_BUCKETS must be COS bucket names as <bucket>-<appid>"):
        load_settings()
