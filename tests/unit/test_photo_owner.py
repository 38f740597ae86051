"""With auth on, a CompareImageUrl must name an object in the caller's own folder (UPLOAD_PREFIX + caller + "/"),
judged on the key decoded exactly as it is read, before anything is read or sent."""

from __future__ import annotations

from typing import Any

import pytest

from faceid_fn.config import Settings
from faceid_fn.domain.errors import PhotoNotOwned
from faceid_fn.domain.models import StartVerification
from faceid_fn.domain.verification import start_verification
from tests.conftest import VALID_MD5

BUCKET = "https://photos-1250000000.cos.ap-singapore.myqcloud.com"


class NoFaceId:
    def apply_web_verification_token(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("FaceID must not be asked")

    def apply_web_verification_biz_token_intl(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("FaceID must not be asked")


class Reached(Exception):
    """The photo would have been read (the intl flow's reader was called) with this URL."""


def reader(url: str) -> bytes:
    raise Reached(url)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "tencentcloud_secret_id": "AKIDx",
        "tencentcloud_secret_key": "key",
        "faceid_redirect_url": "https://app.example.com/done",
        "auth_required": True,
        "sessions_table": "sessions",
        **overrides,
    }
    return Settings.model_validate(values)


def start(url: str, owner: str | None, **overrides: Any) -> None:
    request = StartVerification.model_validate({"CompareImageUrl": url, "CompareImageMd5": VALID_MD5})
    start_verification(
        request, settings=settings(**overrides), faceid=NoFaceId(), trace_id="t", read_photo=reader, owner=owner
    )


@pytest.mark.parametrize(
    "path",
    [
        "/reference/user-b/b.png",  # another caller's folder
        "/reference/user-a-evil/b.png",  # a folder whose name starts with the caller's
        "/reference/user-ab/b.png",
        "/reference/User-A/b.png",  # keys are case-sensitive: another folder
        "/Reference/user-a/b.png",
        "/reference/b.png",  # in no one's folder
        "/reference/user-a",  # the folder's name, not an object in it
        "/reference/user-a/",
        "/user-a/b.png",  # outside UPLOAD_PREFIX
        "/other/reference/user-a/b.png",
        "/reference/user-a/../user-b/b.png",  # dot segments: a reader may remove them
        "/reference/user-a/%2e%2e/user-b/b.png",
        "/reference/user-a%2F..%2Fuser-b/b.png",
        "/reference/user-a/./b.png",
        "/reference/./user-a/b.png",
        "/reference//user-a/b.png",  # empty segments
        "/reference/user-a//b.png",
        "/reference/user-a%2F%2Fb.png",
        "/reference/user-a/%252e%252e/user-b/b.png",  # decoded twice by someone, it would climb out
        "/reference/user-a/b%5C..%5C..%5Cuser-b%5Cb.png",  # a backslash, read as a slash by some servers
        "/reference/user-a/b%00.png",  # control characters
        "/reference/user-a/b%0A.png",
    ],
)
def test_a_key_outside_the_callers_own_folder_is_refused_before_it_is_read(path: str) -> None:
    with pytest.raises(PhotoNotOwned) as refused:
        start(BUCKET + path, "user-a")
    assert refused.value.status == 403
    assert refused.value.code == "PhotoNotOwned"
    assert "reference/<caller>/" in refused.value.message


def test_the_whole_url_percent_encoded_is_judged_as_it_is_read() -> None:
    # The API's own example passes the URL percent-encoded: decoded once, then its path decoded as it is read.
    with pytest.raises(PhotoNotOwned):
        start("https%3A%2F%2Fphotos-1250000000.cos.ap-singapore.myqcloud.com%2Freference%2Fuser-b%2Fb.png", "user-a")
    with pytest.raises(PhotoNotOwned):
        start(f"https%3A%2F%2F{BUCKET[8:]}%2Freference%2Fuser-a%2F%252e%252e%2Fuser-b%2Fb.png", "user-a")
    with pytest.raises(Reached):
        start(f"https%3A%2F%2F{BUCKET[8:]}%2Freference%2Fuser-a%2Fb.png", "user-a")


@pytest.mark.parametrize(
    "owner",
    [
        "user-b/x",  # an owner with a slash names no folder of its own (here: inside user-b's)
        "user-b/x/..",
        "..",
        ".",
        "",
        None,  # no caller at all (auth on): refused, never "anyone's"
    ],
)
def test_an_owner_that_is_not_one_folder_has_no_photos(owner: str | None) -> None:
    with pytest.raises(PhotoNotOwned):
        start(BUCKET + "/reference/user-b/x/photo.png", owner)
    with pytest.raises(PhotoNotOwned):
        start(BUCKET + "/reference/photo.png", owner)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/reference/user-a/b.png", "reference/user-a/b.png"),
        ("/reference/user-a/2026/alice%20smith.png", "reference/user-a/2026/alice smith.png"),
        ("/reference/user-a/b.png?q-sign-algorithm=sha1&q-signature=abc", "reference/user-a/b.png"),
        ("/reference/user-a/..b.png", "reference/user-a/..b.png"),  # dots inside a name are just a name
    ],
)
def test_a_key_in_the_callers_own_folder_is_read(path: str, key: str) -> None:
    with pytest.raises(Reached) as reached:
        start(BUCKET + path, "user-a")
    from faceid_fn.domain.photos import cos_location

    assert cos_location(str(reached.value)) == ("photos-1250000000", key)


def test_a_client_caller_has_its_own_folder_too() -> None:
    with pytest.raises(Reached):
        start(BUCKET + "/reference/client:svc-1/b.png", "client:svc-1")


def test_another_prefix_is_the_folder_layout() -> None:
    with pytest.raises(Reached):
        start(BUCKET + "/faces/user-a/b.png", "user-a", upload_prefix="faces/")
    with pytest.raises(PhotoNotOwned):
        start(BUCKET + "/reference/user-a/b.png", "user-a", upload_prefix="faces/")


def test_the_rule_is_off_with_photo_ownership_off_or_without_auth() -> None:
    with pytest.raises(Reached):
        start(BUCKET + "/reference/user-b/b.png", "user-a", faceid_photo_ownership="off")
    # without auth there is no caller to own anything: the rule cannot apply
    with pytest.raises(Reached):
        start(BUCKET + "/reference/user-b/b.png", None, auth_required=False)


def test_the_legacy_flow_refuses_before_faceid_is_asked() -> None:
    with pytest.raises(PhotoNotOwned):
        start(BUCKET + "/reference/user-b/b.png", "user-a", faceid_flow="legacy")
    # a FaceID ResourceUrl (CreateUploadUrl's slot in Tencent's own storage) lies in no caller's folder
    with pytest.raises(PhotoNotOwned):
        start("https://faceid-1254418846.cos.ap-singapore.myqcloud.com/uploads/abc.jpg", "user-a", faceid_flow="legacy")
