"""Reading uploaded photos from object storage: AWS S3, and Tencent COS through its S3-compatible API.

Both go through boto3 (in the Lambda runtime already); COS pre-signed URLs for private buckets are
made by boto3's presigner too (COS accepts AWS Signature V4), so no signing is hand-written here.
boto3 is imported on first use: the HTTP path never pays for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from faceid_fn.aws import bounded_config
from faceid_fn.config import Settings
from faceid_fn.errors import InvalidInput, UpstreamError

_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}


class StorageError(Exception):
    """The object could not be read. `retryable` is False when reading again cannot help."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


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


def read_object(client: Any, bucket: str, key: str, version_id: str | None, max_bytes: int) -> bytes:
    """The object's bytes through an S3 API client; refuses (without reading) one over `max_bytes`."""
    from botocore.exceptions import BotoCoreError, ClientError

    args = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    try:
        answer = client.get_object(**args)
        if int(answer.get("ContentLength") or 0) > max_bytes:
            answer["Body"].close()
            raise InvalidInput("ObjectTooLarge", f"The object is larger than {max_bytes} bytes")
        data: bytes = answer["Body"].read(max_bytes + 1)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        permanent = code in ("NoSuchKey", "NoSuchBucket", "NoSuchVersion", "AccessDenied") or status in (403, 404)
        raise StorageError(
            "ObjectUnreadable", f"The object could not be read ({code})", retryable=not permanent
        ) from None
    except BotoCoreError:
        raise StorageError("StorageUnavailable", "Object storage could not be reached", retryable=True) from None
    return data


# Tencent credentials as the SDK's credential objects give them: (SecretId, SecretKey, Token or None).
CredentialInfo = Callable[[], tuple[str, str, "str | None"]]


class Cos:
    """Tencent COS of the configured region, through its S3-compatible API, signed with the same Tencent
    credentials as the FaceID calls (from Secrets Manager when configured: a rotation is followed)."""

    def __init__(self, settings: Settings, credentials: CredentialInfo) -> None:
        self.settings = settings
        self._credentials = credentials
        self._clients: dict[tuple[str, str, tuple[str, str, str | None]], Any] = {}

    @property
    def public_endpoint(self) -> str:
        return f"https://cos.{self.settings.faceid_region}.myqcloud.com"

    def object_url(self, bucket: str, key: str) -> str:
        return f"https://{bucket}.cos.{self.settings.faceid_region}.myqcloud.com/{quote(key)}"

    def _client(self, endpoint: str, addressing: Literal["path", "virtual"]) -> Any:
        import boto3

        credentials = self._credentials()
        key = (endpoint, addressing, credentials)
        if key not in self._clients:
            self._clients = {k: v for k, v in self._clients.items() if k[2] == credentials}  # drop rotated-out ones
            secret_id, secret_key, token = credentials
            self._clients[key] = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name=self.settings.faceid_region,
                aws_access_key_id=secret_id,
                aws_secret_access_key=secret_key,
                aws_session_token=token or None,
                config=bounded_config(signature_version="s3v4", s3={"addressing_style": addressing}),
            )
        return self._clients[key]

    @property
    def reader(self) -> Any:
        if self.settings.cos_endpoint:  # a local S3-compatible stand-in (tests): path-style addressing
            return self._client(self.settings.cos_endpoint, "path")
        return self._client(self.public_endpoint, "virtual")

    @property
    def presigner(self) -> Any:
        return self._client(self.public_endpoint, "virtual")

    def presigned_url(self, bucket: str, key: str) -> str:
        """A GET URL FaceID can fetch a private object with (no network call is made)."""
        url: str = self.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self.settings.cos_presign_ttl_s
        )
        return url


def cos_location(url: str) -> tuple[str, str]:
    """(bucket, key) of a checked COS object URL (https://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>)."""
    parts = urlsplit(url)
    return (parts.hostname or "").split(".cos.", 1)[0], unquote(parts.path.removeprefix("/"))


def read_photo_at(cos: Cos, url: str, max_bytes: int) -> bytes:
    """The photo behind a caller's COS URL (intl flow), read with our credentials; errors for callers."""
    bucket, key = cos_location(url)
    try:
        data = read_object(cos.reader, bucket, key, None, max_bytes)
        checked_photo(data, max_bytes)
    except StorageError as exc:
        if exc.retryable:
            raise UpstreamError("StorageUnavailable", "The photo could not be read from COS right now") from None
        raise InvalidInput(
            "InvalidParameterValue.CompareImageUrl", "The photo at CompareImageUrl could not be read"
        ) from None
    except InvalidInput as exc:
        raise InvalidInput("InvalidParameterValue.CompareImageUrl", exc.message) from None
    return data
