"""Tencent COS through its S3-compatible API: reading callers' photos, pre-signed URLs for FaceID."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests
from requests_aws4auth import AWS4Auth  # type: ignore[import-untyped]

from faceid_fn.adapters.aws.client_config import CONNECT_TIMEOUT_S, MAX_ATTEMPTS, READ_TIMEOUT_S, bounded_config
from faceid_fn.adapters.aws.s3 import StorageError, unreadable
from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.config import Settings
from faceid_fn.domain.errors import InvalidInput, UpstreamError
from faceid_fn.domain.photos import (
    INVALID_OBJECT_KEY,
    checked_photo,
    cos_bucket,
    cos_location,
    decoded_key,
    object_key,
)

# An S3-compatible error answer: <Error><Code>NoSuchKey</Code>... (read without an XML parser)
_ERROR_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")


def _body(answer: requests.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed answer (requests' iter_content: a connection lost mid-body is a
    requests.RequestException, as before the body)."""
    data = bytearray()
    for chunk in answer.iter_content(64 * 1024):
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


# Tencent credentials as the SDK's credential objects give them: (SecretId, SecretKey, Token or None).
CredentialInfo = Callable[[], tuple[str, str, "str | None"]]


class Cos:
    """Tencent COS of the configured region, through its S3-compatible API, signed with the same Tencent
    credentials as the FaceID calls (from Secrets Manager when configured: a rotation is followed)."""

    def __init__(self, settings: Settings, credentials: CredentialInfo) -> None:
        self.settings = settings
        self._credentials = credentials
        self._clients: dict[tuple[str, str, tuple[str, str, str | None]], Any] = {}
        self._http = LazyClient(requests.Session)

    def read(self, bucket: str, key: str, version_id: str | None, max_bytes: int) -> bytes:
        """The object's bytes: a GET signed with the current Tencent credentials (AWS Signature V4, service
        `s3`, the COS region), as boto3's `get_object` would send it, with the same bounds (client_config's
        timeouts and attempts: one more after a failed connection, a timeout, a 5xx or a 429, following a
        random pause of up to 100 ms). Refuses, without reading it, an object over `max_bytes`. StorageError
        as `read_object`'s; nothing of the URL or the signature in its message."""
        object_key(key)
        cos_bucket(bucket)
        if self.settings.cos_endpoint:  # a local S3-compatible stand-in (tests): path-style addressing
            base = self.settings.cos_endpoint
            url, path = f"{base}/{bucket}/{quote(key)}", f"{urlsplit(base).path}/{bucket}/{key}"
        else:
            url, path = self.object_url(bucket, key), f"/{key}"
        params = {"versionId": version_id} if version_id else None
        attempt = 1
        while True:
            secret_id, secret_key, token = self._credentials()
            auth = AWS4Auth(secret_id, secret_key, self.settings.faceid_region, "s3", session_token=token or None)
            http = self._http.get()
            request = http.prepare_request(requests.Request("GET", url, params=params, auth=auth))
            if decoded_key(urlsplit(str(request.url)).path) != path:  # what is sent is the key that was checked
                raise InvalidInput(INVALID_OBJECT_KEY, "The object key would be sent as another key")
            sending = http.merge_environment_settings(request.url, {}, True, None, None)  # as Session.get does
            try:
                with http.send(
                    request,
                    **sending,
                    timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                    allow_redirects=False,  # a redirect (another region's bucket) is an answer, not followed
                ) as answer:
                    if answer.status_code == 200:
                        if int(answer.headers.get("Content-Length") or 0) > max_bytes:
                            raise InvalidInput("ObjectTooLarge", f"The object is larger than {max_bytes} bytes")
                        return _body(answer, max_bytes + 1)
                    found = _ERROR_CODE.search(_body(answer, 4096))
                    failure = unreadable(
                        found.group(1).decode() if found else str(answer.status_code), answer.status_code
                    )
                    if attempt >= MAX_ATTEMPTS or not (answer.status_code >= 500 or answer.status_code == 429):
                        raise failure
            except requests.RequestException:
                if attempt >= MAX_ATTEMPTS:
                    raise StorageError(
                        "StorageUnavailable", "Object storage could not be reached", retryable=True
                    ) from None
            time.sleep(random.uniform(0, 0.1))  # noqa: S311 (jitter, not a secret)
            attempt += 1

    def prime(self) -> None:
        self._http.get()

    def close(self) -> None:
        self._http.close()

    @property
    def public_endpoint(self) -> str:
        return f"https://cos.{self.settings.faceid_region}.myqcloud.com"

    def object_url(self, bucket: str, key: str) -> str:
        return f"https://{cos_bucket(bucket)}.cos.{self.settings.faceid_region}.myqcloud.com/{quote(object_key(key))}"

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
    def presigner(self) -> Any:
        return self._client(self.public_endpoint, "virtual")

    def presigned_url(self, bucket: str, key: str) -> str:
        """A GET URL FaceID can fetch a private object with (no network call is made)."""
        url: str = self.presigner.generate_presigned_url(
            "get_object",
            Params={"Bucket": cos_bucket(bucket), "Key": object_key(key)},
            ExpiresIn=self.settings.cos_presign_ttl_s,
        )
        return url


def read_photo_at(cos: Cos, url: str, max_bytes: int) -> bytes:
    """The photo behind a caller's COS URL (intl flow), read with our credentials; errors for callers."""
    bucket, key = cos_location(url)
    try:
        data = cos.read(bucket, key, None, max_bytes)
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
