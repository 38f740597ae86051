"""The object-key rule (docs/http.md, "Object keys"): each refused form of its table is refused, and keys a user
may well give a photo are kept exactly."""

from __future__ import annotations

import pytest

from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.photos import decoded_key, object_key

REFUSED = {
    "a dot-dot segment": "reference/user-a/../user-b/b.png",
    "a dot segment": "reference/user-a/./b.png",
    "a leading slash": "/reference/user-a/b.png",
    "a trailing slash": "reference/user-a/",
    "a doubled slash": "reference//user-a/b.png",
    "an empty key": "",
    "fullwidth dots (NFKC ..)": "reference/user-a/\uff0e\uff0e/b.png",
    "a fullwidth solidus (NFKC /) making ..": "reference/user-a/..\uff0fb.png",
    "a one-dot leader pair (NFKC ..)": "reference/user-a/\u2024\u2024/b.png",
    "a percent sign": "reference/user-a/%2e%2e/b.png",
    "a backslash": "reference/user-a/..\\user-b/b.png",
    "a NUL": "reference/user-a/b\x00.png",
    "a newline": "reference/user-a/b\n.png",
    "DEL": "reference/user-a/b\x7f.png",
    "a zero-width space": "reference/user-a/b\u200b.png",
    "a right-to-left override": "reference/user-a/gnp.\u202eb",
    "a private-use character": "reference/user-a/b\ue000.png",
    "an unassigned code point": "reference/user-a/b\U000e0fff.png",
    "a lone surrogate": "reference/user-a/b\udcff.png",
    "a line separator": "reference/user-a/b\u2028.png",
    "1,025 bytes of UTF-8": "reference/" + "a" * 1015,
}
KEPT = [
    "reference/user-a/b.png",
    "reference/user-a/alice smith.png",
    "reference/user-a/a+b~c.png",
    "reference/user-a/été.jpg",
    "reference/用户/照片.jpg",
    "reference/user-a/...png",  # dots inside a name are no segment
    "reference/" + "a" * 1014,  # 1,024 bytes
]


@pytest.mark.parametrize("key", REFUSED.values(), ids=REFUSED.keys())
def test_each_refused_form_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        object_key(key)
    assert refused.value.code == "InvalidObjectKey"


@pytest.mark.parametrize("key", KEPT)
def test_ordinary_keys_are_kept_exactly(key: str) -> None:
    assert object_key(key) == key


def test_keys_that_are_not_utf8_once_decoded_are_refused_not_replaced() -> None:
    with pytest.raises(InvalidInput) as refused:
        decoded_key("reference/user-a/%ff.png")
    assert refused.value.code == "InvalidObjectKey"
    assert (
        decoded_key("reference/user-a/alice+smith%2Bx.png", plus_is_space=True) == "reference/user-a/alice smith+x.png"
    )
