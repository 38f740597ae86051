"""Who owns a photo: the caller's folder under the upload prefix."""

from __future__ import annotations

import re

from faceid_fn.domain.errors import PhotoNotOwned
from faceid_fn.domain.photos import cos_location


def folder_owner(key: str, prefix: str) -> str | None:
    """Whose folder an object key lies in: the segment after `prefix` (UPLOAD_PREFIX) when a name follows
    it (`reference/user-42/photo.jpg` -> `user-42`); None outside the prefix, or without such a segment."""
    if not key.startswith(prefix):
        return None
    owner, slash, rest = key[len(prefix) :].partition("/")
    return owner if slash and rest and owner not in ("", ".", "..") else None


# Once decoded, a key with one of these, or with an empty, "." or ".." segment, could name another object
# to whatever reads it (a client that removes dot segments, a server that decodes twice or takes a backslash
# for a slash).
_UNSAFE_IN_KEYS = re.compile(r"[\x00-\x1f\x7f%\\]")


def check_photo_owner(image_url: str, owner: str | None, prefix: str) -> None:
    """PhotoNotOwned unless the object behind a checked COS URL, its key decoded exactly as it is read
    (photos.cos_location), lies in `owner`'s own folder. Nothing is read: the answer is the same whether
    the object exists or not."""
    _, key = cos_location(image_url)
    safe = not _UNSAFE_IN_KEYS.search(key) and all(part not in ("", ".", "..") for part in key.split("/"))
    if not (owner and safe and folder_owner(key, prefix) == owner):
        raise PhotoNotOwned(prefix)
