"""The verification use case: check a start request against the policy, call FaceID, shape the
session (reading its result: results.py)."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from faceid_fn.domain.errors import InvalidInput, UpstreamError
from faceid_fn.domain.flows import APPLY_LEGACY, FLOWS, INTL_MAX_BASE64_CHARS, FlowName
from faceid_fn.domain.loopback import is_loopback
from faceid_fn.domain.models import Session, StartVerification
from faceid_fn.domain.ownership import check_photo_owner
from faceid_fn.domain.page_config import CHECK_MODES
from faceid_fn.domain.photos import cos_location, object_key
from faceid_fn.observability import logger, metrics
from faceid_fn.redaction import redact_url

if TYPE_CHECKING:
    from faceid_fn.config import Settings
    from faceid_fn.domain.ports import FaceIdGateway, PhotoReader, StartLimit


@functools.cache  # one region per function: compiled once
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
    return_url: str | None = None,
    now: datetime | None = None,
) -> Session:
    """POST /verifications: check the caller's values against our policy, then open the session. `owner`:
    the caller (AUTH_REQUIRED); with it the photo must be in the caller's folder (FACEID_PHOTO_OWNERSHIP),
    and the start counts against it (`starts`, FACEID_OWNER_STARTS) before anything is read or sent.
    `return_url`: where FaceID sends the browser (the return route), else the app's own redirect."""
    check_photo_given(request.CompareImageUrl is not None, settings)
    image_url = None
    if request.CompareImageUrl is not None:
        image_url = compare_image_url(request.CompareImageUrl, settings.faceid_region, settings.faceid_cos_buckets)
    app_redirect = redirect_url(request.RedirectUrl, settings)  # checked even when FaceID is given the return route
    redirect = return_url or app_redirect
    if image_url is not None and settings.auth_required and settings.faceid_photo_ownership:
        check_photo_owner(image_url, owner, settings.upload_prefix)
    if image_url is not None:  # whoever reads it (we, or FaceID in the legacy flow) asks for exactly that key
        try:
            object_key(cos_location(image_url)[1])
        except InvalidInput as exc:
            raise _invalid("CompareImageUrl", exc.message) from None
    if starts is not None:
        starts.admit(owner)
    if settings.faceid_flow == "intl":
        photo = None
        if image_url is not None:
            photo = read_photo(image_url)
            if hashlib.md5(photo, usedforsecurity=False).hexdigest() != str(request.CompareImageMd5).lower():
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
        image_url=str(image_url),
        image_md5=str(request.CompareImageMd5),
        redirect=redirect,
        region=settings.faceid_region,
        faceid=faceid,
        trace_id=trace_id,
        now=now,
    )


def check_photo_given(given: bool, settings: Settings) -> None:
    """A reference photo comes exactly where the start compares with one (legacy; CheckMode 2, the default).
    Anywhere else it would be read and sent to FaceID for nothing, and the caller would believe the person
    was compared with it: refused (400) before anything is read or sent."""
    if settings.takes_photo and not given:
        why = "the legacy flow" if settings.faceid_flow == "legacy" else "CheckMode 2"
        raise InvalidInput(
            "InvalidParameter", f"CompareImageUrl and CompareImageMd5 are required: {why} compares the selfie with it"
        )
    if given and not settings.takes_photo:
        mode = settings.faceid_intl_config.check_mode
        raise InvalidInput(
            "InvalidParameter",
            f"CheckMode {mode} compares with no photo of yours ({CHECK_MODES[mode]}): "
            "send no CompareImageUrl or CompareImageMd5",
        )


def open_session(
    *,
    image_url: str,
    image_md5: str,
    redirect: str,
    region: str,
    faceid: FaceIdGateway,
    trace_id: str,
    now: datetime | None = None,
) -> Session:
    """Legacy flow: ApplyWebVerificationToken with values already checked (in FACEID_REGION: its photo's)."""
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
    return _session(answer, "legacy", started_at, region, compare_image=redact_url(image_url))


def open_intl_session(
    *,
    photo: bytes | None,
    redirect: str,
    extra: str | None,
    config: dict[str, object],
    faceid: FaceIdGateway,
    trace_id: str,
    now: datetime | None = None,
) -> Session:
    """Intl flow: ApplyWebVerificationBizTokenIntl with the photo itself (already checked; none where the
    CheckMode compares with no photo of ours) and the page Config (IntlConfig.params: the server's options,
    with the caller's page options over them)."""
    started_at = now or datetime.now(UTC)
    photo_base64 = None if photo is None else base64.b64encode(photo).decode("ascii")
    if photo_base64 is not None and len(photo_base64) > INTL_MAX_BASE64_CHARS:  # the API's own rule
        raise InvalidInput(
            "FailedOperation.ImageSizeTooLarge",
            f"The photo is too large: FaceID takes at most {INTL_MAX_BASE64_CHARS:,} characters of base64",
        )
    answer, region = faceid.apply_web_verification_biz_token_intl(
        redirect_url=redirect,
        compare_image_base64=photo_base64,
        extra=extra,
        config=config,
        trace_id=trace_id,
    )
    return _session(answer, "intl", started_at, region, compare_image=f"{len(photo)} bytes" if photo else "none")


def _session(
    answer: dict[str, object], flow: FlowName, started_at: datetime, region: str, *, compare_image: str
) -> Session:
    biz_token = answer.get("BizToken")
    # VerificationURL is the current name (intl); VerificationUrl is deprecated there and legacy's only one.
    verification_url = answer.get("VerificationURL") or answer.get("VerificationUrl")
    request_id = str(answer.get("RequestId"))
    if not isinstance(biz_token, str) or not isinstance(verification_url, str) or not biz_token:
        raise UpstreamError("UpstreamUnavailable", "FaceID's answer has no BizToken or VerificationUrl", request_id)
    metrics.add_metric(name="VerificationStarted", unit="Count", value=1)
    # At INFO the FaceID call's own line already names the session (biz_token).
    logger.debug(
        "verification started",
        extra={"biz_token": biz_token, "flow": flow, "region": region, "compare_image": compare_image},
    )
    return Session(
        BizToken=biz_token,
        VerificationUrl=verification_url,
        RequestId=request_id,
        ExpiresAt=started_at.replace(microsecond=0) + FLOWS[flow].token_ttl,
        Region=region,
    )
