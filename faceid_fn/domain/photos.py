"""What an acceptable photo is (a JPEG or PNG within the size limit), and where a caller's COS URL points."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import unquote, urlsplit

from faceid_fn.domain.errors import InvalidInput

# A COS bucket's full name: <bucket>-<appid> (lower-case letters, digits, '-'; the APPID is digits).
_COS_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]{5,}")
_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}


def image_kind(data: bytes) -> str | None:
    """'jpeg' or 'png' by magic bytes, else None."""
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)


def checked_photo(data: bytes, max_bytes: int) -> str:
    """The MD5 (hex) of an acceptable photo; InvalidInput for anything else."""
    if len(data) > max_bytes:
        raise InvalidInput("ObjectTooLarge", f"The object is larger than {max_bytes} bytes")
    if image_kind(data) is None:
        raise InvalidInput("UnsupportedImageType", "The object is not a JPEG or PNG image")
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


INVALID_OBJECT_KEY = "InvalidObjectKey"
# S3's and COS's longest key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
# A key that decides an owner must be the object every reader asks for. These could make a reader ask for
# another one: a client that removes dot segments, a server that decodes twice (`%`) or takes a backslash for
# a slash, one that normalises Unicode (a fullwidth dot or solidus), or drops control and format characters.
_NOT_IN_KEYS = re.compile(r"[%\\]")
_DOT_SEGMENTS = frozenset({"", ".", ".."})


def object_key(key: str) -> str:
    """`key`, when every reader (COS over HTTP, S3, a pre-signed URL) sends exactly it and a check of its folder
    means that object; else InvalidInput(InvalidObjectKey). Refused: an empty, "." or ".." segment (a leading,
    trailing or doubled slash included), before or after Unicode compatibility normalisation; `%`, backslash,
    control, format, unassigned or private-use characters; more than MAX_KEY_BYTES of UTF-8."""
    try:
        size = len(key.encode("utf-8"))  # a lone surrogate (an undecodable byte) cannot be sent as it is
    except UnicodeEncodeError:
        size = MAX_KEY_BYTES + 1
    normalised = unicodedata.normalize("NFKC", key)
    if (
        size > MAX_KEY_BYTES
        or any(_NOT_IN_KEYS.search(form) or _DOT_SEGMENTS.intersection(form.split("/")) for form in (key, normalised))
        or any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in key)
    ):
        raise InvalidInput(
            INVALID_OBJECT_KEY,
            "The object key is refused: a reader could take it for another object "
            "(an empty, '.' or '..' segment, '%', a backslash or a control character)",
        )
    return key


def cos_bucket(name: str) -> str:
    """`name` when it is a COS bucket's full name (<bucket>-<appid>); else InvalidInput(InvalidBucketName): the
    name goes into the host (or the path) of the request a reader signs, where anything else would send it
    somewhere else."""
    if not _COS_BUCKET.fullmatch(name):
        raise InvalidInput("InvalidBucketName", "The bucket is not a COS bucket name (<bucket>-<appid>)")
    return name


def decoded_key(encoded: str, *, plus_is_space: bool = False) -> str:
    """A percent-encoded key decoded once, strictly (InvalidObjectKey for bytes that are not UTF-8: decoded with
    replacement they would name another object)."""
    try:
        return unquote(encoded.replace("+", " ") if plus_is_space else encoded, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput(INVALID_OBJECT_KEY, "The object key is not UTF-8 once decoded") from None


def cos_location(url: str) -> tuple[str, str]:
    """(bucket, key) of a checked COS object URL (https://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>)."""
    parts = urlsplit(url)
    return (parts.hostname or "").split(".cos.", 1)[0], decoded_key(parts.path.removeprefix("/"))


def cos_bucket_names(value: str) -> frozenset[str]:
    """FACEID_COS_BUCKETS: comma-separated <bucket>-<appid> names; empty or `*` = any (ValueError otherwise)."""
    names = {b.strip().lower() for b in value.split(",") if b.strip()}
    if names == {"*"}:
        return frozenset()
    for name in names:
        if not _COS_BUCKET.fullmatch(name):
            raise ValueError(f"must be COS bucket names as <bucket>-<appid>, comma-separated, or * (not {name[:64]!r})")
    return frozenset(names)
