"""The verification use case: check a start request against the policy, call FaceID, shape the
session; read and map a result."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import ValidationError

from faceid_fn.domain.errors import InvalidInput, ResultGone, UpstreamError
from faceid_fn.domain.flows import APPLY_LEGACY, FLOWS, INTL_MAX_BASE64_CHARS, FlowName
from faceid_fn.domain.loopback import is_loopback
from faceid_fn.domain.models import OCR_MEDIA_FIELDS, Session, StartVerification, StatusName, VerificationResult
from faceid_fn.domain.ownership import check_photo_owner
from faceid_fn.observability import logger, metrics
from faceid_fn.redaction import redact_url

if TYPE_CHECKING:
    from faceid_fn.config import Settings
    from faceid_fn.domain.ports import FaceIdGateway, PhotoReader, ResultGateway, StartLimit


def _cos_host(region: str) -> re.Pattern[str]:
    # <bucket>-<appid>.cos.<region>.myqcloud.com: bucket names are lower-case letters, digits, '-'.
    # ASCII only: `\d` would also match other scripts' digits (Arabic-Indic, fullwidth).
    return re.compile(rf"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]{{5,}}\.cos\.{re.escape(region)}\.myqcloud\.com$")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"InvalidParameterValue.{field}", message)


_NOT_IN_URLS = re.compile(r"[\x00-\x20\x7f\\]")  # control characters, space, backslash


def _split(value: str, field: str) -> tuple[SplitResult, int | None]:
    if _NOT_IN_URLS.search(value):
        raise _invalid(field, f"{field} contains characters not allowed in a URL")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _invalid(field, f"{field} is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise _invalid(field, f"{field} must not contain user information")
    return parts, port


def compare_image_url(value: str, region: str, buckets: frozenset[str] = frozenset()) -> str:
    """The COS URL to send upstream, or InvalidInput. `buckets` (FACEID_COS_BUCKETS): the only buckets
    (<bucket>-<appid>) a caller may name; empty = any in the region."""
    field = "CompareImageUrl"
    if "://" not in value and value.lower().startswith("https%3a%2f%2f"):
        value = unquote(value)  # the API's own example passes the URL percent-encoded; decode once
    parts, port = _split(value, field)
    if parts.scheme.lower() != "https":
        raise _invalid(field, f"{field} must be an https URL")
    host = (parts.hostname or "").rstrip(".")
    if port not in (None, 443) or not _cos_host(region).fullmatch(host):
        raise _invalid(
            field,
            f"{field} must be a Tencent COS object URL in {region} "
            f"(https://<bucket>-<appid>.cos.{region}.myqcloud.com/<key>)",
        )
    if buckets and host.removesuffix(f".cos.{region}.myqcloud.com") not in buckets:
        raise _invalid(field, f"{field} must name one of the buckets in FACEID_COS_BUCKETS")
    if parts.path in ("", "/"):
        raise _invalid(field, f"{field} must name an object, not a bucket")
    return parts._replace(scheme="https", netloc=host, fragment="").geturl()


def redirect_url(value: str | None, settings: Settings) -> str:
    """The RedirectUrl to send upstream: the caller's if its host is allowed, else the default."""
    if value is None:
        return str(settings.faceid_redirect_url)
    field = "RedirectUrl"
    parts, _ = _split(value, field)
    host = (parts.hostname or "").rstrip(".")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and is_loopback(host)):
        raise _invalid(field, f"{field} must be an https URL")
    if host not in settings.allowed_redirect_hosts:
        raise _invalid(field, f"{field} host is not on the allowed list (FACEID_REDIRECT_HOSTS)")
    return value


def start_verification(
    request: StartVerification,
    *,
    settings: Settings,
    faceid: FaceIdGateway,
    trace_id: str,
    read_photo: PhotoReader,
    owner: str | None = None,
    starts: StartLimit | None = None,
    now: datetime | None = None,
) -> Session:
    """POST /verifications: check the caller's values against our policy, then open the session. `owner`:
    the caller (AUTH_REQUIRED); with it the photo must be in the caller's folder (FACEID_PHOTO_OWNERSHIP),
    and the start counts against it (`starts`, FACEID_OWNER_STARTS) before anything is read or sent."""
    image_url = compare_image_url(request.CompareImageUrl, settings.faceid_region, settings.faceid_cos_buckets)
    redirect = redirect_url(request.RedirectUrl, settings)
    if settings.auth_required and settings.faceid_photo_ownership:
        check_photo_owner(image_url, owner, settings.upload_prefix)
    if starts is not None:
        starts.admit(owner)
    if settings.faceid_flow == "intl":
        photo = read_photo(image_url)
        if hashlib.md5(photo, usedforsecurity=False).hexdigest() != request.CompareImageMd5.lower():
            raise _invalid("CompareImageMd5", "CompareImageMd5 does not match the photo at CompareImageUrl")
        return open_intl_session(
            photo=photo,
            redirect=redirect,
            extra=request.Extra,
            config=settings.faceid_intl_config.params(request.page_options),
            faceid=faceid,
            trace_id=trace_id,
            now=now,
        )
    return open_session(
        image_url=image_url,
        image_md5=request.CompareImageMd5,
        redirect=redirect,
        faceid=faceid,
        trace_id=trace_id,
        now=now,
    )


def open_session(
    *,
    image_url: str,
    image_md5: str,
    redirect: str,
    faceid: FaceIdGateway,
    trace_id: str,
    now: datetime | None = None,
) -> Session:
    """Legacy flow: ApplyWebVerificationToken with values already checked."""
    started_at = now or datetime.now(UTC)
    try:
        answer = faceid.apply_web_verification_token(
            redirect_url=redirect,
            compare_image_url=image_url,
            compare_image_md5=image_md5.lower(),
            trace_id=trace_id,
        )
    except UpstreamError as exc:
        if exc.code in ("ActionOffline", "InvalidAction"):
            raise UpstreamError(
                exc.code,
                f"FaceID no longer offers {APPLY_LEGACY}: set FACEID_FLOW=intl and redeploy",
                exc.request_id,
                attempts=exc.attempts,
            ) from None
        raise
    return _session(answer, "legacy", started_at, compare_image=redact_url(image_url))


def open_intl_session(
    *,
    photo: bytes,
    redirect: str,
    extra: str | None,
    config: dict[str, object],
    faceid: FaceIdGateway,
    trace_id: str,
    now: datetime | None = None,
) -> Session:
    """Intl flow: ApplyWebVerificationBizTokenIntl with the photo itself (already checked) and the page
    Config (IntlConfig.params: the server's options, with the caller's page options over them)."""
    started_at = now or datetime.now(UTC)
    photo_base64 = base64.b64encode(photo).decode("ascii")
    if len(photo_base64) > INTL_MAX_BASE64_CHARS:  # callers cap the photo's bytes; this is the API's own rule
        raise InvalidInput(
            "FailedOperation.ImageSizeTooLarge",
            f"The photo is too large: FaceID takes at most {INTL_MAX_BASE64_CHARS:,} characters of base64",
        )
    answer = faceid.apply_web_verification_biz_token_intl(
        redirect_url=redirect,
        compare_image_base64=photo_base64,
        extra=extra,
        config=config,
        trace_id=trace_id,
    )
    return _session(answer, "intl", started_at, compare_image=f"{len(photo)} bytes")


def _session(answer: dict[str, object], flow: FlowName, started_at: datetime, *, compare_image: str) -> Session:
    biz_token = answer.get("BizToken")
    # VerificationURL is the current name (intl); VerificationUrl is deprecated there and legacy's only one.
    verification_url = answer.get("VerificationURL") or answer.get("VerificationUrl")
    request_id = str(answer.get("RequestId"))
    if not isinstance(biz_token, str) or not isinstance(verification_url, str) or not biz_token:
        raise UpstreamError("UpstreamUnavailable", "FaceID's answer has no BizToken or VerificationUrl", request_id)
    metrics.add_metric(name="VerificationStarted", unit="Count", value=1)
    # At INFO the FaceID call's own line already names the session (biz_token).
    logger.debug("verification started", extra={"biz_token": biz_token, "flow": flow, "compare_image": compare_image})
    return Session(
        BizToken=biz_token,
        VerificationUrl=verification_url,
        RequestId=request_id,
        ExpiresAt=started_at.replace(microsecond=0) + FLOWS[flow].token_ttl,
    )


# FaceID's result ErrorCode -> our Status (docs/http.md, "Result codes"). Codes not listed are verdicts on the
# person (liveness, comparison, document checks: FaceID's lists of those grow), hence `failed`.
STATUS_OF_CODE: dict[int | None, StatusName] = {
    None: "pending",  # not finished (or not started)
    17: "pending",  # process not finished
    0: "passed",
    15: "expired",  # the BizToken ran out before the person finished
    1409: "expired",  # the verification process timed out
    1410: "abandoned",  # the person left
    # not a verdict on the person: invalid parameters, internal errors, a session already used
    **{code: "error" for code in (1, 2, 3, 4, 8, 9, 10, 11, 14, 202, 1001, 1105)},
}


def result_status(error_code: int | None) -> StatusName:
    return STATUS_OF_CODE.get(error_code, "failed")


def read_result(
    biz_token: str, *, settings: Settings, faceid: ResultGateway, trace_id: str, include_media: bool = False
) -> VerificationResult:
    """GET /verifications/{BizToken}: FaceID's outcome, with a normalised Status."""
    flow = FLOWS[settings.faceid_flow]
    try:
        answer = faceid.get_result(result_action=flow.result_action, biz_token=biz_token, trace_id=trace_id)
    except UpstreamError as exc:
        if exc.code == "InvalidParameterValue.BizTokenExpired":  # on the result call: past the 3-day retention
            raise ResultGone(exc.request_id) from None
        raise
    try:
        ocr = answer.get("OCRResult")
        if isinstance(ocr, list) and not include_media:
            ocr = [_without(item, OCR_MEDIA_FIELDS) for item in ocr]
        result = VerificationResult.model_validate(
            {
                **{k: v for k, v in answer.items() if k in VerificationResult.model_fields},
                "BizToken": biz_token,
                "Status": result_status(answer.get("ErrorCode")),  # type: ignore[arg-type]
                "VerificationDetailList": answer.get("VerificationDetailList") or [],
                "OCRResult": ocr or None,
                "BestFrameBase64": answer.get("BestFrameBase64") if include_media else None,
                "VideoBase64": answer.get("VideoBase64") if include_media else None,
            }
        )
    except ValidationError:
        raise UpstreamError(
            "UpstreamUnavailable", "FaceID's result could not be read", str(answer.get("RequestId"))
        ) from None
    metrics.add_metric(name="ResultRead", unit="Count", value=1)
    logger.info(
        "verification result read",
        extra={
            "biz_token": biz_token,
            "status": result.Status,
            "error_code": result.ErrorCode,
            "faceid_request_id": result.RequestId,
        },
    )
    return result


def _without(item: object, fields: tuple[str, ...]) -> object:
    return {k: v for k, v in item.items() if k not in fields} if isinstance(item, dict) else item
