"""What one exchange with FaceID came to, read from the SDK's answer or exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.adapters.tencent.credentials import CREDENTIALS_UNAVAILABLE
from faceid_fn.domain.errors import UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, is_throttle

UPLOAD_FAILED = "UploadFailed"
RATE_LIMITED = "RequestLimitExceeded"

MESSAGES = {
    UPSTREAM_TIMEOUT: "FaceID did not answer within the time budget",
    UPSTREAM_UNAVAILABLE: "FaceID could not be reached or gave an unreadable answer",
    UPLOAD_FAILED: "The photo could not be uploaded to FaceID's storage",
    RATE_LIMITED: "FaceID's request rate is fully booked for longer than this request may wait",
}


@dataclass(frozen=True)
class Attempt:
    """What one HTTP exchange with FaceID came to."""

    response: dict[str, Any] | None = None
    code: str | None = None
    message: str = ""
    request_id: str | None = None
    retryable: bool = False
    retry_after_s: int | None = None


def unavailable(*, retryable: bool) -> Attempt:
    return Attempt(code=UPSTREAM_UNAVAILABLE, message=MESSAGES[UPSTREAM_UNAVAILABLE], retryable=retryable)


def upstream_attempt(code: str, message: str, request_id: str | None, idempotent: bool) -> Attempt:
    retryable = is_throttle(code) or (idempotent and code.startswith("InternalError"))
    return Attempt(code=code, message=message, request_id=request_id, retryable=retryable)


def attempt_from_body(data: Any, idempotent: bool) -> Attempt:
    response = data.get("Response") if isinstance(data, dict) else None
    if not isinstance(response, dict) or not isinstance(response.get("RequestId"), str):
        return unavailable(retryable=False)
    request_id = response["RequestId"]
    error = response.get("Error")
    if error is not None:
        # The SDK passes errors through as results when Content-Type carries a charset.
        if not isinstance(error, dict) or not isinstance(error.get("Code"), str):
            return Attempt(code=UPSTREAM_UNAVAILABLE, message=MESSAGES[UPSTREAM_UNAVAILABLE], request_id=request_id)
        return upstream_attempt(error["Code"], str(error.get("Message", "")), request_id, idempotent)
    return Attempt(response=response, request_id=request_id)


def attempt_from_sdk_exception(exc: TencentCloudSDKException, idempotent: bool) -> Attempt:
    code = str(exc.code or "")
    if code == "ClientNetworkError":
        cause = exc.__context__
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return unavailable(retryable=True)
        if isinstance(cause, requests.exceptions.Timeout):
            return Attempt(code=UPSTREAM_TIMEOUT, message=MESSAGES[UPSTREAM_TIMEOUT])
        return unavailable(retryable=True)
    if code == "ServerNetworkError":  # HTTP status other than 200; the body is not ours to show
        return unavailable(retryable=idempotent)
    if code == CREDENTIALS_UNAVAILABLE:
        return Attempt(code=code, message=str(exc.message))
    if exc.requestId is None:  # raised by the SDK itself (parameters, credentials), not by FaceID
        return unavailable(retryable=False)
    return upstream_attempt(code, str(exc.message or ""), str(exc.requestId), idempotent)
