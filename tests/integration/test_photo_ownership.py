"""A reference photo belongs to its owner: with auth on, POST /verifications names a photo in the caller's own
folder (UPLOAD_PREFIX + caller + "/") or is refused before the photo is read, with one answer.

handler -> SDK -> FaceID emulator, the default (intl) flow reading photos from the COS stand-in (a moto
server), the session ledger in moto, and API Gateway's HTTP API event with the JWT authorizer's claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.sample_photo import png
from tests.aws import COS_BUCKET, EVENT_BUS, SESSIONS_TABLE, cos_put, create_ledger_and_bus, md5
from tests.conftest import Emulator, Response, http_event
from tests.integration.test_auth import with_jwt_claims

Invoke = Callable[[dict[str, Any]], Response]
FOLDER = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/reference"


@pytest.fixture
def env(aws: None, configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    """Auth on (with the ledger it needs), the intl flow, user-a's and user-b's photos in their folders."""
    create_ledger_and_bus()
    cos_put(cos_server, "reference/user-a/a.png", png(seed=1))
    cos_put(cos_server, "reference/user-b/b.png", png(seed=2))

    def apply(**overrides: str) -> None:
        base = {
            "AUTH_REQUIRED": "true",
            "SESSIONS_TABLE": SESSIONS_TABLE,
            "EVENT_BUS_NAME": EVENT_BUS,
            "COS_ENDPOINT": cos_server,
        }
        configure(**{**base, **overrides})

    apply()
    return apply


def start(invoke: Invoke, caller: str, url: str, photo_md5: str) -> Response:
    body = {"CompareImageUrl": url, "CompareImageMd5": photo_md5}
    return invoke(with_jwt_claims(http_event(body=body, request_id="req-1"), caller))


def test_another_users_photo_is_refused_with_one_answer_before_it_is_read(
    env: Callable[..., None], invoke: Invoke, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN user-a, who knows where user-b's photo is and its MD5
    theirs, its_md5 = f"{FOLDER}/user-b/b.png", md5(png(seed=2))
    # WHEN user-a names it: with its MD5, with a wrong MD5, and a key that does not exist
    answers = [
        start(invoke, "user-a", theirs, its_md5),
        start(invoke, "user-a", theirs, "0" * 32),
        start(invoke, "user-a", f"{FOLDER}/user-b/nothing-here.png", its_md5),
        start(invoke, "user-a", f"{FOLDER}/user-a-evil/b.png", its_md5),
        start(invoke, "user-a", f"{FOLDER}/user-a/..%2Fuser-b/b.png", its_md5),
    ]
    # THEN each gets the same 403, which tells nothing of the object, and FaceID was not asked
    for answer in answers:
        assert answer.status == 403
        assert answer.body == answers[0].body
        assert answer.body["Error"]["Code"] == "PhotoNotOwned"
    assert answers[0].body == {
        "Error": {
            "Code": "PhotoNotOwned",
            "Message": "CompareImageUrl must name a photo in the caller's own folder, reference/<caller>/ "
            "(no empty, '.' or '..' segment, no '%', backslash or control character in the key)",
        },
        "RequestId": "req-1",
    }
    assert emulator.calls == []
    # AND nothing was read: with COS unreachable the answer is the same
    from faceid_fn.adapters.tencent.cos import Cos

    def no_read(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the photo must not be read")

    with monkeypatch.context() as patched:
        patched.setattr(Cos, "read", no_read)
        assert start(invoke, "user-a", theirs, its_md5).body == answers[0].body
    # AND in user-a's own folder the photo's own errors stay, and a session starts
    mine, my_md5 = f"{FOLDER}/user-a/a.png", md5(png(seed=1))
    wrong_md5 = start(invoke, "user-a", mine, "0" * 32)
    assert (wrong_md5.status, wrong_md5.body["Error"]["Code"]) == (400, "InvalidParameterValue.CompareImageMd5")
    missing = start(invoke, "user-a", f"{FOLDER}/user-a/nothing-here.png", my_md5)
    assert (missing.status, missing.body["Error"]["Code"]) == (400, "InvalidParameterValue.CompareImageUrl")
    assert start(invoke, "user-a", mine, my_md5).status == 201
    assert start(invoke, "user-b", theirs, its_md5).status == 201  # and user-b uses hers
    # AND with FACEID_PHOTO_OWNERSHIP=off (photos curated server-side; the README names the risk) any photo
    # of the allowed buckets may be named again
    env(FACEID_PHOTO_OWNERSHIP="off")
    assert start(invoke, "user-a", theirs, its_md5).status == 201
