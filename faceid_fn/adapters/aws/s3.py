"""Reading an object through an S3 API client, and the errors an S3-compatible store answers."""

from __future__ import annotations

from typing import Any

from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.photos import object_key

# Answers that cannot change by asking again (S3's permanent errors; any redirect, 403 or 404).
PERMANENT_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "AccessDenied"})


class StorageError(Exception):
    """The object could not be read. `retryable` is False when reading again cannot help."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


def read_object(client: Any, bucket: str, key: str, version_id: str | None, max_bytes: int) -> bytes:
    """The object's bytes through an S3 API client; refuses (without reading) one over `max_bytes`."""
    from botocore.exceptions import BotoCoreError, ClientError

    args = {"Bucket": bucket, "Key": object_key(key)}
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
        raise unreadable(code, status) from None
    except BotoCoreError:
        raise StorageError("StorageUnavailable", "Object storage could not be reached", retryable=True) from None
    return data


def unreadable(code: str, status: int) -> StorageError:
    permanent = code in PERMANENT_CODES or status in (403, 404) or 300 <= status < 400
    return StorageError("ObjectUnreadable", f"The object could not be read ({code})", retryable=not permanent)


def delete_object(client: Any, bucket: str, key: str) -> None:
    """Delete an uploaded photo (a redact): S3 answers a key already gone as deleted too. StoreUnavailable
    when S3 cannot be used (the function's role may delete under UPLOAD_PREFIX of the upload bucket only)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from faceid_fn.adapters.aws.client_config import error_code
    from faceid_fn.domain.errors import StoreUnavailable
    from faceid_fn.observability import logger

    try:
        client.delete_object(Bucket=bucket, Key=object_key(key))
    except (ClientError, BotoCoreError) as exc:
        logger.warning("upload bucket unavailable: photo not deleted", extra={"error": error_code(exc)})
        raise StoreUnavailable("StoreUnavailable", "The upload bucket is unavailable") from None
