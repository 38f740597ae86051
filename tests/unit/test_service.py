"""The start use case: URL policy, the answer's shape, and expiry. FaceID is an in-memory fake."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from faceid_fn.config import Settings
from faceid_fn.domain.errors import InvalidInput, UpstreamError
from faceid_fn.domain.models import StartVerification
from faceid_fn.domain.verification import compare_image_url, redirect_url, start_verification
from tests.aws import md5
from tests.conftest import COS_URL, VALID_MD5


class FakeFaceId:
    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.calls: list[dict[str, str]] = []
        self.answer = answer or {"BizToken": "TOKEN-1", "VerificationUrl": "https://v.example/1", "RequestId": "rid-1"}

    def apply_web_verification_token(self, **kwargs: str) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.answer

    def apply_web_verification_biz_token_intl(self, **kwargs: Any) -> tuple[dict[str, Any], str]:
        self.calls.append(kwargs)
        return {"BizToken": "INTL-1", "VerificationURL": "https://intl.example/1", "RequestId": "rid-i"}, "ap-jakarta"


def no_read(url: str) -> bytes:
    raise AssertionError("the legacy flow must not read the photo")


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "tencentcloud_secret_id": "AKIDx",
        "tencentcloud_secret_key": "key",
        "faceid_redirect_url": "https://app.example.com/done",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (COS_URL, COS_URL),
        (
            "https%3A%2F%2Fphotos-1250000000.cos.ap-singapore.myqcloud.com%2Falice%2Freference.jpg",
            COS_URL,
        ),
        ("HTTPS://Photos-1250000000.COS.ap-singapore.myqcloud.com/alice/reference.jpg", COS_URL),
        ("https://photos-1250000000.cos.ap-singapore.myqcloud.com./alice/reference.jpg", COS_URL),
        ("https://photos-1250000000.cos.ap-singapore.myqcloud.com:443/alice/reference.jpg", COS_URL),
        (COS_URL + "?q-sign-algorithm=sha1&q-signature=abc", COS_URL + "?q-sign-algorithm=sha1&q-signature=abc"),
        (COS_URL + "#@evil.com", COS_URL),
        (COS_URL.replace(".com/", ".com:0443/"), COS_URL),
        ("HTTPS%3A%2F%2Fphotos-1250000000.cos.ap-singapore.myqcloud.com%2Falice%2Freference.jpg", COS_URL),
    ],
)
def test_cos_urls_of_the_region_are_accepted_and_normalised(given: str, sent: str) -> None:
    assert compare_image_url(given, "ap-singapore") == sent


@pytest.mark.parametrize(
    "url",
    [
        "http://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://photos-1250000000.cos.ap-jakarta.myqcloud.com/a.jpg",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com/",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com.evil.com/a.jpg",
        "https://evil.com/photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://user@photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com:8443/a.jpg",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com\\@evil.com/a.jpg",
        "https://photos.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://169.254.169.254/latest/meta-data",
        "https%253A%252F%252Fphotos-1250000000.cos.ap-singapore.myqcloud.com%252Fa.jpg",
        "javascript:alert(1)",
        # hostile forms: encoded userinfo or host separators, look-alike characters, odd authorities
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com%2F@evil.com/a.jpg",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com%40evil.com/a.jpg",
        "https://evil.com%2F.photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://\uff50hotos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",  # fullwidth p (IDN look-alike)
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com\u3002evil.com/a.jpg",  # ideographic full stop
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com:443@evil.com/a.jpg",
        "https:///photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https:photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        " https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
        "https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg\n",
        "https://photos-1250000000.cos-website.ap-singapore.myqcloud.com/a.jpg",
        "https://photos-1250000000.cos.accelerate.myqcloud.com/a.jpg",
        "https://0x7f000001/a.jpg",
        "https://2130706433/a.jpg",
        "https%3A%2F%2Fevil.com%2Fa.jpg",
        "https://[::ffff:127.0.0.1]/a.jpg",
        "https://photos-\u0661\u0662\u0663\u0664\u0665.cos.ap-singapore.myqcloud.com/a.jpg",  # Arabic-Indic digits
        "https://photos-\uff11\uff12\uff13\uff14\uff15.cos.ap-singapore.myqcloud.com/a.jpg",  # fullwidth digits
        "https://photos-%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5.cos.ap-singapore.myqcloud.com/a.jpg",  # the same, encoded
    ],
)
def test_anything_else_is_refused_before_any_upstream_call(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        compare_image_url(url, "ap-singapore")
    assert raised.value.code == "InvalidParameterValue.CompareImageUrl"
    assert raised.value.status == 400


def test_redirect_defaults_to_the_configured_url() -> None:
    assert redirect_url(None, settings()) == "https://app.example.com/done"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://app.example.com/elsewhere?x=1", True),
        ("https://APP.example.com/elsewhere", True),
        ("http://app.example.com/elsewhere", False),
        ("https://evil.example.com/", False),
        ("https://app.example.com@evil.example.com/", False),
        ("https://evil.example.com\\@app.example.com/", False),
        ("javascript://app.example.com/%0aalert(1)", False),
        ("https://app.example.com.evil.com/", False),
        ("https://\u0430pp.example.com/", False),  # Cyrillic a
        ("https://app.example.com:8443/", True),
        ("//app.example.com/", False),
        ("https://app.example.com%2F@evil.example.com/", False),
    ],
)
def test_caller_redirect_must_be_https_on_an_allowed_host(url: str, ok: bool) -> None:
    if ok:
        assert redirect_url(url, settings()) == url
    else:
        with pytest.raises(InvalidInput) as raised:
            redirect_url(url, settings())
        assert raised.value.code == "InvalidParameterValue.RedirectUrl"


def test_legacy_start_sends_normalised_values_and_answers_with_expiry() -> None:
    # GIVEN the legacy flow, chosen, and a FaceID that answers with a session
    faceid = FakeFaceId()
    now = datetime(2026, 11, 25, 4, 0, 0, 123456, tzinfo=UTC)
    request = StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=VALID_MD5.upper())
    # WHEN a verification is started
    session = start_verification(
        request, settings=settings(faceid_flow="legacy"), faceid=faceid, trace_id="trace-1", now=now, read_photo=no_read
    )
    # THEN FaceID got the lower-case MD5 and the default redirect, and the answer carries the expiry
    assert faceid.calls == [
        {
            "redirect_url": "https://app.example.com/done",
            "compare_image_url": COS_URL,
            "compare_image_md5": VALID_MD5,
            "trace_id": "trace-1",
        }
    ]
    assert session.BizToken == "TOKEN-1"
    assert session.VerificationUrl == "https://v.example/1"
    assert session.RequestId == "rid-1"
    assert session.ExpiresAt == now.replace(microsecond=0) + timedelta(seconds=7200)
    assert session.model_dump(mode="json")["ExpiresAt"] == "2026-11-25T06:00:00Z"


def test_policy_failure_makes_no_upstream_call() -> None:
    faceid = FakeFaceId()
    request = StartVerification(CompareImageUrl="https://evil.com/a.jpg", CompareImageMd5=VALID_MD5)
    with pytest.raises(InvalidInput):
        start_verification(request, settings=settings(), faceid=faceid, trace_id="t", read_photo=no_read)
    assert faceid.calls == []


def test_an_answer_without_token_is_an_upstream_failure() -> None:
    faceid = FakeFaceId({"RequestId": "rid-2"})
    request = StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=VALID_MD5)
    with pytest.raises(UpstreamError) as raised:
        start_verification(
            request, settings=settings(faceid_flow="legacy"), faceid=faceid, trace_id="t", read_photo=no_read
        )
    assert (raised.value.code, raised.value.request_id, raised.value.status) == ("UpstreamUnavailable", "rid-2", 502)


def test_intl_is_the_default_flow() -> None:
    assert settings().faceid_flow == "intl"


def test_intl_flow_sends_the_photo_and_expires_in_ten_minutes() -> None:
    # GIVEN the intl flow and a photo whose MD5 the caller states
    photo = b"\x89PNG\r\n\x1a\n-pixels"
    faceid = FakeFaceId()
    now = datetime(2026, 11, 25, 4, 0, 0, tzinfo=UTC)
    request = StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=md5(photo), Extra="order-17")
    read: list[str] = []
    # WHEN started
    session = start_verification(
        request,
        settings=settings(faceid_flow="intl", faceid_intl_config={"CheckMode": 2}),
        faceid=faceid,
        trace_id="t",
        now=now,
        read_photo=lambda url: read.append(url) or photo,
    )
    # THEN FaceID got the photo as base64 with RedirectURL, Extra and Config, and the expiry is 10 min
    assert read == [COS_URL]
    assert faceid.calls == [
        {
            "redirect_url": "https://app.example.com/done",
            "compare_image_base64": base64.b64encode(photo).decode(),
            "extra": "order-17",
            "config": {"CheckMode": 2},
            "trace_id": "t",
        }
    ]
    assert session.VerificationUrl == "https://intl.example/1"
    assert session.ExpiresAt == now + timedelta(minutes=10)
    assert session.Region == "ap-jakarta"  # the region that started it, as FaceID's client tells


def test_intl_flow_refuses_an_md5_mismatch_before_any_upstream_call() -> None:
    faceid = FakeFaceId()
    request = StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=VALID_MD5)
    with pytest.raises(InvalidInput) as raised:
        start_verification(
            request,
            settings=settings(faceid_flow="intl"),
            faceid=faceid,
            trace_id="t",
            read_photo=lambda url: b"\xff\xd8\xff other photo",
        )
    assert raised.value.code == "InvalidParameterValue.CompareImageMd5"
    assert faceid.calls == []


def test_caller_page_options_go_over_the_server_config_and_security_options_stay() -> None:
    # GIVEN a server Config with security options and a theme, and a caller asking for Thai
    photo = b"\x89PNG\r\n\x1a\n-pixels"
    faceid = FakeFaceId()
    request = StartVerification.model_validate(
        {"CompareImageUrl": COS_URL, "CompareImageMd5": md5(photo), "Config": {"Language": "th"}}
    )
    config = {"CheckMode": 2, "SecurityLevel": 4, "Language": "en", "ThemeColor": "#2d72f1"}
    # WHEN started
    start_verification(
        request,
        settings=settings(faceid_intl_config=config),
        faceid=faceid,
        trace_id="t",
        read_photo=lambda url: photo,
    )
    # THEN FaceID got the server's options with the caller's language
    assert faceid.calls[0]["config"] == {**config, "Language": "th"}


def test_the_current_verification_url_field_is_read_first() -> None:
    class BothFields(FakeFaceId):
        def apply_web_verification_biz_token_intl(self, **kwargs: Any) -> tuple[dict[str, Any], str]:
            answer = {
                "BizToken": "INTL-2",
                "VerificationURL": "https://current.example/2",
                "VerificationUrl": "https://deprecated.example/2",
                "RequestId": "rid",
            }
            return answer, "ap-singapore"

    photo = b"\xff\xd8\xff-pixels"
    session = start_verification(
        StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=md5(photo)),
        settings=settings(),
        faceid=BothFields(),
        trace_id="t",
        read_photo=lambda url: photo,
    )
    assert session.VerificationUrl == "https://current.example/2"
