"""What an acceptable photo is (a JPEG or PNG within the size limit), and where a caller's COS URL points."""

from __future__ import annotations

import hashlib
import re
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


def cos_location(url: str) -> tuple[str, str]:
    """(bucket, key) of a checked COS object URL (https://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>)."""
    parts = urlsplit(url)
    return (parts.hostname or "").split(".cos.", 1)[0], unquote(parts.path.removeprefix("/"))


def cos_bucket_names(value: str) -> frozenset[str]:
    """FACEID_COS_BUCKETS: comma-separated <bucket>-<appid> names; empty or `*` = any (ValueError otherwise)."""
    names = {b.strip().lower() for b in value.split(",") if b.strip()}
    if names == {"*"}:
        return frozenset()
    for name in names:
        if not _COS_BUCKET.fullmatch(name):
            raise ValueError(f"must be COS bucket names as <bucket>-<appid>, comma-separated, or * (not {name[:64]!r})")
    return frozenset(names)
