"""The five FaceID actions: ApplyWebVerificationToken (with CreateUploadUrl and its upload endpoint),
ApplyWebVerificationBizTokenIntl, and GetWebVerificationResult(Intl), every field as the SDK models have it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from local.emulator.catalog import (
    DEFAULT_CHECK_MODE,
    IMAGE_SIGNATURES,
    INTL_CONFIG_FIELDS,
    INTL_MAX_BASE64,
    OUTCOMES,
    PHOTO_CHECK_MODES,
    RESULT_RETENTION_S,
    UPLOAD_BUCKET,
    UPLOAD_TTL_S,
)
from local.emulator.ocr import SAMPLE_FRAME, ocr_result
from local.emulator.params import check_config_values, check_params
from local.emulator.state import Answer, ApiError, EmulatorState, Upload, WebSession

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


class Actions(EmulatorState):
    """The actions, once the front door (api.py) let a request through."""

    def _apply_web_verification_token(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        for name in ("RedirectUrl", "CompareImageUrl", "CompareImageMd5"):
            if not params[name]:
                raise ApiError("InvalidParameterValue", f"The value of parameter `{name}` is invalid.")
        for name in ("RedirectUrl", "CompareImageUrl"):
            if urlsplit(params[name]).scheme not in ("http", "https"):
                raise ApiError("InvalidParameterValue", f"The value of parameter `{name}` is not a valid URL.")
        if not _MD5.match(params["CompareImageMd5"]):
            raise ApiError("InvalidParameterValue", "The value of parameter `CompareImageMd5` is invalid.")
        self._check_uploaded_image(params["CompareImageUrl"], params["CompareImageMd5"].lower())
        token = str(uuid.uuid4()).upper()
        with self._lock:
            self.sessions[token] = WebSession(
                biz_token=token,
                redirect_url=params["RedirectUrl"],
                compare_image_url=params["CompareImageUrl"],
                compare_image_md5=params["CompareImageMd5"].lower(),
                created_at=self.now(),
                region=region,
            )
        return {"BizToken": token, "VerificationUrl": f"{self.base_url}/verify/{token}"}

    def _apply_web_verification_biz_token_intl(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        redirect = params["RedirectURL"]
        if urlsplit(redirect).scheme not in ("http", "https"):
            raise ApiError("InvalidParameterValue", "The value of parameter `RedirectURL` is not a valid URL.")
        rule_id = params.get("RuleId")
        if rule_id is not None and rule_id not in self.rule_ids:
            raise ApiError(
                "InvalidParameterValue.RuleIdNotExist", "RuleId does not exist. Go to the eKYC console to apply."
            )
        image = params.get("CompareImageBase64")
        photo = b""
        if image is not None:
            if len(image) > INTL_MAX_BASE64:
                raise ApiError("FailedOperation.ImageSizeTooLarge", "Image size too large.")
            try:
                photo = base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("FailedOperation.ImageDecodeFailed", "Image decoding failed.") from None
            if not photo.startswith(IMAGE_SIGNATURES):
                raise ApiError("FailedOperation.ImageDecodeFailed", "Image decoding failed.")
        extra = params.get("Extra")
        if extra is not None and len(extra) > 1000:
            raise ApiError("InvalidParameterValue", "The value of parameter `Extra` is invalid.")
        config = params.get("Config") or {}
        check_params(config, INTL_CONFIG_FIELDS, (), prefix="Config.")
        check_config_values(config)
        check_mode = config.get("CheckMode") or DEFAULT_CHECK_MODE
        # Only CheckMode 2 compares with the photo sent (1 uses the document's, 3 and 4 compare nothing), so
        # only it needs one (the SDK documents this rule for the App SDK's CheckMode); in the other modes a
        # photo sent anyway is checked as a parameter and not used (their use of it is not documented).
        if check_mode in PHOTO_CHECK_MODES and image is None:
            raise ApiError(
                "MissingParameter",
                "The request is missing a required parameter `CompareImageBase64` (CheckMode 2 compares with it).",
            )
        token = str(uuid.uuid4()).upper()
        with self._lock:
            self.sessions[token] = WebSession(
                biz_token=token,
                redirect_url=redirect,
                compare_image_url="",
                compare_image_md5=hashlib.md5(photo, usedforsecurity=False).hexdigest(),
                created_at=self.now(),
                flow="intl",
                ttl_s=self.intl_token_ttl_s,
                extra=extra,
                check_mode=check_mode,
                id_card_type=config.get("IDCardType"),
                region=region,
                rule_id=rule_id,
                photo_sent=image is not None,
            )
        url = f"{self.base_url}/verify/{token}"
        return {"VerificationUrl": url, "BizToken": token, "VerificationURL": url}

    def _get_result(self, params: dict[str, Any], region: str, *, intl: bool) -> dict[str, Any]:
        """GetWebVerificationResult(Intl): every field of the SDK's response model, null when unknown. A
        session is known only in the region that started it (FaceID's regions are separate services)."""
        session = self.sessions.get(params["BizToken"])
        if session is None or (session.flow == "intl") != intl or session.region != region:
            raise ApiError("InvalidParameterValue.BizTokenIllegal", "The BizToken is invalid.")
        age = self.now() - session.created_at
        if age > RESULT_RETENTION_S:
            raise ApiError("InvalidParameterValue.BizTokenExpired", "The BizToken has expired.")
        answer: dict[str, Any] = {"ErrorCode": None, "ErrorMsg": None, "VerificationDetailList": None}
        if intl:
            answer.update(VideoBase64=None, BestFrameBase64=None, OCRResult=None, Extra=session.extra)
        else:
            answer.update(VideoBestFrameUrl=None, VideoBestFrameMd5=None, VideoUrl=None, VideoMd5=None)
        answer["ErrorCode"], answer["ErrorMsg"] = self.result_code(session)
        outcome = OUTCOMES.get(session.outcome or "")
        if outcome is None or outcome.get("stays"):
            return answer
        if "liveness" in outcome and not (intl and session.check_mode == 4):  # 4: OCR only, no face
            answer["VerificationDetailList"] = [self._detail(session, outcome, intl)]
            frame = SAMPLE_FRAME
            if intl:
                answer.update(
                    BestFrameBase64=base64.b64encode(frame).decode(),
                    VideoBase64=base64.b64encode(frame * 4).decode(),
                )
            else:
                signed = urlencode(
                    {"q-sign-algorithm": "sha1", "q-ak": "AKIDfaceidMedia", "q-signature": uuid.uuid4().hex}
                )
                media = f"https://faceid-media-1250000000.cos.ap-singapore.myqcloud.com/{session.biz_token}"
                answer.update(
                    VideoBestFrameUrl=f"{media}/best.jpg?{signed}",
                    VideoBestFrameMd5=hashlib.md5(frame, usedforsecurity=False).hexdigest(),
                    VideoUrl=f"{media}/video.mp4?{signed}",
                    VideoMd5=hashlib.md5(frame * 4, usedforsecurity=False).hexdigest(),
                )
        if session.reads_document and session.outcome in ("pass", "document", "liveness", "compare", "faces"):
            answer["OCRResult"] = [ocr_result(session, passed=session.outcome != "document")]
        return answer

    @staticmethod
    def _detail(session: WebSession, outcome: dict[str, Any], intl: bool) -> dict[str, Any]:
        """One VerificationDetail (the legacy model has no LivenessInfoTag)."""
        liveness, compare = outcome.get("liveness"), outcome.get("compare")
        if session.flow == "intl" and session.check_mode == 3:  # liveness only: nothing is compared
            compare = None
        detail: dict[str, Any] = {
            "ErrorCode": outcome["code"],
            "ErrorMsg": outcome["msg"],
            "LivenessErrorCode": liveness,
            "LivenessErrorMsg": None if liveness is None else ("Success" if liveness == 0 else outcome["msg"]),
            "CompareErrorCode": compare,
            "CompareErrorMsg": None if compare is None else ("Success" if compare == 0 else outcome["msg"]),
            "ReqTimestamp": int(session.created_at * 1000) + 30_000,
            "Similarity": 92.5 if compare == 0 else None,
            "Seq": f"{session.biz_token[:8].lower()}-seq-1",
        }
        if intl:
            # PLUS-version reason tags for a rejected liveness step ("02": action not completed).
            detail["LivenessInfoTag"] = ["02"] if liveness not in (None, 0) else []
        return detail

    def _create_upload_url(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if params["TargetAction"] != "ApplyWebVerificationToken":
            raise ApiError("InvalidParameterValue", "The value of parameter `TargetAction` is invalid.")
        now = self.now()
        upload = Upload(uuid.uuid4().hex, uuid.uuid4().hex + uuid.uuid4().hex[:8], now + UPLOAD_TTL_S)
        with self._lock:
            self.uploads[upload.upload_id] = upload
        query = urlencode(
            {
                "q-sign-algorithm": "sha1",
                "q-ak": "AKIDfaceidEmulatorCosUploader",
                "q-sign-time": f"{int(now)};{int(upload.expires_at)}",
                "q-header-list": "host",
                "q-url-param-list": "",
                "q-signature": upload.signature,
            }
        )
        return {
            "UploadUrl": f"{self.base_url}/upload/{upload.upload_id}?{query}",
            "ResourceUrl": f"https://{UPLOAD_BUCKET}.cos.{region}.myqcloud.com/uploads/{upload.upload_id}?{query}",
            "ExpiredTimestamp": int(upload.expires_at),
        }

    def _check_uploaded_image(self, url: str, md5: str) -> None:
        """A ResourceUrl of ours must point at uploaded bytes with the MD5 the caller claims."""
        parts = urlsplit(url)
        if not (parts.hostname or "").startswith(UPLOAD_BUCKET + ".") or not parts.path.startswith("/uploads/"):
            return
        upload = self.uploads.get(parts.path.removeprefix("/uploads/"))
        if upload is None or upload.data is None:
            raise ApiError("InvalidParameterValue", "The image of parameter `CompareImageUrl` was not uploaded.")
        if hashlib.md5(upload.data, usedforsecurity=False).hexdigest() != md5:
            raise ApiError(
                "InvalidParameterValue", "The value of parameter `CompareImageMd5` does not match the image."
            )

    def receive_upload(self, upload_id: str, query: str, data: bytes) -> Answer:
        """PUT to an UploadUrl: accepted only with its signature and before it expires."""
        upload = self.uploads.get(upload_id)
        signature = parse_qs(query).get("q-signature", [""])[0]
        if upload is None or not hmac.compare_digest(signature, upload.signature):
            return Answer(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        if self.now() > upload.expires_at:
            return Answer(403, b"<Error><Code>RequestTimeTooSkewed</Code></Error>", "application/xml")
        with self._lock:
            upload.data = data
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return Answer(200, b"", "application/xml", {"ETag": f'"{etag}"'})
