"""Typed errors of the domain and their place in the HTTP error table (docs/http.md, "Errors").

Everything a caller can be told is decided here: the status, the code a client switches on, and a
message: written by us, or FaceID's own message passed on redacted (never the text of a library
exception, which may embed request details).
"""

from __future__ import annotations

from http import HTTPStatus

from faceid_fn.redaction import redact_text


class ServiceError(Exception):
    """An error with a defined answer. `request_id` is FaceID's when the call reached it."""

    status: HTTPStatus = HTTPStatus.BAD_GATEWAY

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id

    @property
    def headers(self) -> dict[str, str]:
        return {}


class InvalidInput(ServiceError):
    """The caller's request is wrong; nothing was sent upstream."""

    status = HTTPStatus.BAD_REQUEST


class UpstreamError(ServiceError):
    """FaceID answered with an error, or could not be reached in time."""

    def __init__(
        self,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        attempts: int = 1,
        retry_after_s: int | None = None,
    ) -> None:
        # FaceID's messages may quote what it was sent, pre-signed URLs included.
        super().__init__(code, redact_text(message), request_id)
        self.attempts = attempts
        self.status = upstream_status(code)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return {"Retry-After": str(self.retry_after_s or 1)}
        return {}

    @property
    def is_our_fault(self) -> bool:
        """Errors that an operator must fix (credentials, configuration): logged at ERROR."""
        return self.code.startswith(("AuthFailure", "InvalidAction", "NoSuchVersion")) or self.code in (
            "UnsupportedRegion",
            "ActionOffline",
            "CredentialsUnavailable",
            RULE_ID_NOT_EXIST,
        )


UPSTREAM_UNAVAILABLE = "UpstreamUnavailable"
UPSTREAM_TIMEOUT = "UpstreamTimeout"
# FACEID_RULE_ID names no process of the console: our configuration, not the caller's input.
RULE_ID_NOT_EXIST = "InvalidParameterValue.RuleIdNotExist"

_CLIENT_CODES = ("InvalidParameter", "MissingParameter", "UnknownParameter")

# FaceID's throttling codes: API 3.0's common ones (the official SDK retries the first three) and FaceID's
# own "The number of calls exceeded the limit". Another RequestLimitExceeded.* Tencent adds is one too.
THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "FailedOperation.RequestLimitExceeded",
    }
)


def is_throttle(code: str | None) -> bool:
    """FaceID refused the call for its rate: retried after a back-off or a send slot, 429 in the end."""
    return code is not None and (code in THROTTLING_CODES or code.startswith("RequestLimitExceeded"))


def upstream_status(code: str) -> HTTPStatus:
    """HTTP status for a FaceID error code (or one of our two transport codes)."""
    if code == UPSTREAM_TIMEOUT:
        return HTTPStatus.GATEWAY_TIMEOUT
    if is_throttle(code):
        return HTTPStatus.TOO_MANY_REQUESTS
    if code == RULE_ID_NOT_EXIST:
        return HTTPStatus.BAD_GATEWAY
    if code == "InvalidParameterValue.BizTokenIllegal":
        return HTTPStatus.NOT_FOUND  # unknown token
    if code == "InvalidParameterValue.BizTokenExpired":
        return HTTPStatus.GONE  # a result FaceID no longer keeps (read_result answers ResultNoLongerAvailable)
    if code in ("FailedOperation.ImageSizeTooLarge", "FailedOperation.ImageDecodeFailed"):
        return HTTPStatus.BAD_REQUEST  # the caller's photo
    if code.startswith(_CLIENT_CODES):
        return HTTPStatus.BAD_REQUEST
    if code.startswith("ResourceNotFound"):
        return HTTPStatus.NOT_FOUND
    if code.startswith("UnauthorizedOperation"):
        return HTTPStatus.SERVICE_UNAVAILABLE
    # AuthFailure.* (our credentials), InternalError*, network errors, anything unknown.
    return HTTPStatus.BAD_GATEWAY


class IdempotencyConflict(ServiceError):
    """An Idempotency-Key was reused with a different request, or its first request is still running."""

    status = HTTPStatus.CONFLICT

    def __init__(self, code: str, message: str, *, retry_after: bool = False) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"} if self.retry_after else {}


class StoreUnavailable(ServiceError):
    """The idempotency store (DynamoDB) could not be used; nothing was started."""

    status = HTTPStatus.SERVICE_UNAVAILABLE

    @property
    def headers(self) -> dict[str, str]:
        # DynamoDB throttling and 5xx pass within seconds: the caller may try again at once.
        return {"Retry-After": "1"}


class ResultGone(ServiceError):
    """FaceID no longer keeps this result (it keeps results 3 days): not `expired`, which is a session
    that ran out before the person finished."""

    status = HTTPStatus.GONE

    def __init__(self, request_id: str | None) -> None:
        super().__init__(
            "ResultNoLongerAvailable",
            "FaceID keeps a verification's result for 3 days; this one is no longer available",
            request_id,
        )


class PhotoNotOwned(ServiceError):
    """CompareImageUrl names an object outside the caller's own folder: refused before it is read, with
    one answer whether or not the object exists and whatever MD5 was given."""

    status = HTTPStatus.FORBIDDEN

    def __init__(self, prefix: str) -> None:
        super().__init__(
            "PhotoNotOwned",
            f"CompareImageUrl must name a photo in the caller's own folder, {prefix}<caller>/ "
            "(no empty, '.' or '..' segment, no '%', backslash or control character in the key)",
        )


class TooManySessions(ServiceError):
    """The owner started FACEID_OWNER_STARTS sessions in the current window; nothing was started."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, limit: int, window_s: int, retry_after_s: int) -> None:
        super().__init__(
            "TooManySessions",
            f"At most {limit} new sessions per caller every {window_s} s: retry after Retry-After seconds",
        )
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class SessionFinal(ServiceError):
    """A cancel of a session that already has a final Status (the message names it)."""

    status = HTTPStatus.CONFLICT

    def __init__(self, status: str) -> None:
        super().__init__("SessionFinal", f"The session is already final ({status}): it cannot be canceled")


class SessionRedacted(ServiceError):
    """The session's personal data was deleted on its owner's request: nothing of it is read or changed."""

    status = HTTPStatus.GONE

    def __init__(self, redacted_at: str) -> None:
        super().__init__("SessionRedacted", f"This session was redacted at {redacted_at}: its data is deleted")


class CallerRequired(ServiceError):
    """A list of "the caller's own" sessions asked for without a caller (auth off, no claims)."""

    status = HTTPStatus.FORBIDDEN

    def __init__(self) -> None:
        super().__init__(
            "CallerRequired",
            "Listing sessions needs a caller (the JWT authorizer): with auth off there are no sessions of yours",
        )
