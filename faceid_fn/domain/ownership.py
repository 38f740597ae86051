"""Who owns a photo: the caller's folder under the upload prefix."""

from __future__ import annotations

from faceid_fn.domain.errors import InvalidInput, PhotoNotOwned
from faceid_fn.domain.photos import cos_location, object_key


def folder_owner(key: str, prefix: str) -> str | None:
    """Whose folder an object key lies in: the segment after `prefix` (UPLOAD_PREFIX) when a name follows
    it (`reference/user-42/photo.jpg` -> `user-42`); None outside the prefix, or without such a segment."""
    if not key.startswith(prefix):
        return None
    owner, slash, rest = key[len(prefix) :].partition("/")
    return owner if slash and rest and owner not in ("", ".", "..") else None


def check_photo_owner(image_url: str, owner: str | None, prefix: str) -> None:
    """PhotoNotOwned unless the object behind a checked COS URL, its key decoded exactly as it is read
    (photos.cos_location), lies in `owner`'s own folder. Nothing is read: the answer is the same whether
    the object exists or not."""
    try:
        key = object_key(cos_location(image_url)[1])
    except InvalidInput:
        raise PhotoNotOwned(prefix) from None
    if not (owner and folder_owner(key, prefix) == owner):
        raise PhotoNotOwned(prefix)
