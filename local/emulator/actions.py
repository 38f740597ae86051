"""A local FaceID (Tencent Cloud API 3.0) for tests and the local stack. Loopback only.

    python -m local.emulator --port 9000

What it checks and answers (DESIGN.md, "Local run and tests"); request and response fields are exactly
those of the official SDK models (tencentcloud-sdk-python-intl-en; tests/contract holds the extract and
the tests that keep this file to it):
- TC3-HMAC-SHA256 signatures: malformed -> AuthFailure.InvalidAuthorization, unknown SecretId ->
  AuthFailure.SecretIdNotFound, more than 300 s of skew -> AuthFailure.SignatureExpire, wrong
  signature -> AuthFailure.SignatureFailure;
- X-TC-Version (NoSuchVersion), X-TC-Action (InvalidAction), X-TC-Region (MissingParameter, and
  UnsupportedRegion outside the regions Tencent lists for the action: ACTION_REGIONS);
- 20 requests/s per SecretId and action -> RequestLimitExceeded;
- every request field by name and JSON type, nested ones too (`Config.CheckMode`): an unknown field ->
  UnknownParameter, a wrong type -> InvalidParameter, a value out of its documented range ->
  InvalidParameterValue, a missing required one -> MissingParameter;
- ApplyWebVerificationToken (legacy; for a ResourceUrl of CreateUploadUrl it checks that the bytes were
  uploaded and match CompareImageMd5) and ApplyWebVerificationBizTokenIntl (RedirectURL,
  CompareImageBase64, Extra, RuleId and the whole WebVerificationConfigIntl; a photo over 8 MB of base64
  -> FailedOperation.ImageSizeTooLarge, one that is not a JPEG/PNG/BMP -> FailedOperation.ImageDecodeFailed;
  the answer carries VerificationURL and the deprecated VerificationUrl). Tokens live 7,200 s (legacy)
  and 10 minutes (intl); results stay readable 3 days (259,200 s) after the start, then the result call
  answers InvalidParameterValue.BizTokenExpired. ActionOffline for any action it is told is withdrawn;
- GetWebVerificationResult(Intl): ErrorCode null before the page is opened, 17 while it is open and
  unfinished, 15 once the token expired unfinished, else the outcome the tester chose on the page
  (OUTCOMES); the Intl answer carries OCRResult for CheckMode 1 and 4 (synthetic data: TEST PERSON)
  and LivenessInfoTag in each VerificationDetail;
- CreateUploadUrl, with an upload endpoint (PUT /upload/<id>?...q-signature=...) that accepts the
  bytes only with the URL's signature and before it expires;
- a verification page at the VerificationUrl where the tester picks an outcome; it then redirects to
  the RedirectURL with ?token=<BizToken> ("leave unfinished" stays on the page: the result stays 17).

Control endpoints for tests (unsigned, under /__emulator__/):
- POST faults   {"code","message","count","latency_ms","action","http_status","content_type","body","reset"}
- POST config   {"clock_offset_s": float, "rate_limit": int, "offline_actions": [action, ...],
                 "age_sessions_s": float}  (age_sessions_s moves every session that much into the past:
                 e.g. 259201 makes results unreadable, without touching the signature clock)
- POST reset    forget calls, faults, sessions and the rate window
- GET  calls    what was asked: action, region, trace id, parameters, outcome
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import hmac
import html
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from local import tc3

API_VERSION = "2018-03-01"
SERVICE = "faceid"
MAX_SKEW_S = 300
DEFAULT_RATE_LIMIT = 20  # requests per second, per SecretId and action
TOKEN_TTL_S = 7200

# Credentials the local stack and the tests use. Not a secret anywhere: the emulator is local only.
LOCAL_SECRET_ID = "AKIDlocalEmulatorFaceidFn0000000000"
LOCAL_SECRET_KEY = "LocalEmulatorSecretKey0NotForProduction"

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
INTL_REGIONS = ("ap-singapore", "ap-jakarta", "ap-bangkok", "ap-hongkong", "sa-saopaulo")
LEGACY_REGIONS = ("ap-singapore", "ap-jakarta")
# Where Tencent lists each action (DESIGN.md, "The current contract").
ACTION_REGIONS: dict[str, tuple[str, ...]] = {
    "ApplyWebVerificationToken": LEGACY_REGIONS,
    "GetWebVerificationResult": LEGACY_REGIONS,
    "CreateUploadUrl": ("ap-bangkok", "ap-hongkong", "ap-singapore"),
    "ApplyWebVerificationBizTokenIntl": INTL_REGIONS,
    "GetWebVerificationResultIntl": INTL_REGIONS,
}
ACTIONS = tuple(ACTION_REGIONS)
REGIONS = tuple(sorted({r for regions in ACTION_REGIONS.values() for r in regions}))
# How long FaceID keeps a result readable after the start: three days, both flows.
RESULT_RETENTION_S = 3 * 24 * 3600
INTL_TOKEN_TTL_S = 600
INTL_MAX_BASE64 = 8 * 1024 * 1024  # "max 8 MB" of base64

# Request fields per action, with their JSON types (official SDK models; `dict` = a nested model).
REQUEST_FIELDS: dict[str, dict[str, type]] = {
    "ApplyWebVerificationToken": {"RedirectUrl": str, "CompareImageUrl": str, "CompareImageMd5": str},
    "GetWebVerificationResult": {"BizToken": str},
    "CreateUploadUrl": {"TargetAction": str},
    "ApplyWebVerificationBizTokenIntl": {
        "RedirectURL": str,
        "CompareImageBase64": str,
        "Extra": str,
        "RuleId": str,
        "Config": dict,
    },
    "GetWebVerificationResultIntl": {"BizToken": str},
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "ApplyWebVerificationToken": ("RedirectUrl", "CompareImageUrl", "CompareImageMd5"),
    "GetWebVerificationResult": ("BizToken",),
    "CreateUploadUrl": ("TargetAction",),
    "ApplyWebVerificationBizTokenIntl": ("RedirectURL",),
    "GetWebVerificationResultIntl": ("BizToken",),
}
# WebVerificationConfigIntl: its 17 fields and their types.
INTL_CONFIG_FIELDS: dict[str, type] = {
    "AutoSkipStartPage": bool,
    "AutoSkip": bool,
    "CheckMode": int,
    "IDCardType": str,
    "DisableCheckOcrWarnings": bool,
    "SecurityLevel": int,
    "SkipPrivacyPolicy": bool,
    "IdCardCutReturn": bool,
    "ThemeColor": str,
    "Language": str,
    "AutoDowngrade": int,
    "ActionList": str,
    "LivenessRetryLimit": int,
    "LivenessTimeout": int,
    "SelectedWarningCodes": str,
    "AllowExpiredDocument": bool,
    "Version": str,
}
# The documented values of the Config fields that have a list or range (ThemeColor falls back to the
# default colour when malformed, so any string passes).
ID_CARD_TYPES = (
    "HKIDCard",
    "MLIDCard",
    "IndonesiaIDCard",
    "PhilippinesVoteID",
    "PhilippinesDrivingLicense",
    "PhilippinesTinID",
    "PhilippinesSSSID",
    "PhilippinesUMID",
    "InternationalIDPassport",
    "ThailandIDCard",
    "SingaporeIDCard",
    "MainlandIDCard",
)
CONFIG_CHOICES: dict[str, tuple[object, ...]] = {
    "CheckMode": (1, 2, 3, 4),
    "SecurityLevel": (1, 2, 3, 4),
    "Language": ("th", "en", "zh-cn", "zh-tc", "id"),
    "AutoDowngrade": (1, 2),
    "IDCardType": ID_CARD_TYPES,
    "Version": ("BASIC", "PLUS"),
}
CONFIG_RANGES: dict[str, tuple[int, int]] = {"LivenessRetryLimit": (1, 99), "LivenessTimeout": (0, 600)}
LIVENESS_ACTIONS = ("blink", "mouth", "nod", "shake")
OCR_WARNING_CODES = ("-9101", "-9102", "-9103", "-9104", "-9107", "-9108", "-9109")
OCR_CHECK_MODES = (1, 4)  # the CheckModes that read a document
OCR_MODE_DEFAULT_CARD = "HKIDCard"

# What the tester can choose on the hosted page: ErrorCode, ErrorMsg (Tencent's error-code page), and
# the detail codes behind it. "unfinished" keeps the session open (ErrorCode 17, no redirect).
# "fail" is the older test hook (1001, kept for existing tests).
OUTCOMES: dict[str, dict[str, Any]] = {
    "pass": {"label": "Pass", "code": 0, "msg": "Success", "liveness": 0, "compare": 0},
    "liveness": {"label": "Liveness failed", "code": 1005, "msg": "Liveness detection failed", "liveness": 1005},
    # The Intl error-code page has no "not the same person" code; 2012 is its comparison-stage verdict.
    "compare": {
        "label": "Comparison failed",
        "code": 2012,
        "msg": "Multiple faces detected",
        "liveness": 0,
        "compare": 2012,
    },
    # Nor a document-check code: the OCR alarm (OCRResult.WarnCardInfos, -9102 photocopy) is reported.
    "document": {"label": "Document failed", "code": -9102, "msg": "Document photocopy alarm"},
    "left": {"label": "Person left", "code": 1410, "msg": "User exited voluntarily"},
    "timeout": {"label": "Timed out", "code": 1409, "msg": "Verification process timed out"},
    "unfinished": {"label": "Leave unfinished", "code": 17, "msg": "Process not finished", "stays": True},
    # Accepted from tests that post it, never offered on the page.
    "fail": {
        "label": "Fail (engine error)",
        "code": 1001,
        "msg": "Failed to call the liveness engine",
        "liveness": 1001,
    },
}
NOT_FINISHED = (17, "Process not finished")
TOKEN_EXPIRED = (15, "Token expired")
UPLOAD_TTL_S = 7200
# The COS bucket the emulator pretends CreateUploadUrl resources live in.
UPLOAD_BUCKET = "faceid-emulator-1250000000"


@dataclass
class Fault:
    code: str | None = None
    message: str = "Injected fault."
    count: int = 1
    latency_ms: int = 0
    action: str | None = None
    http_status: int = 200
    content_type: str | None = None
    body: str | None = None
    reset: bool = False  # drop the connection (TCP RST) instead of answering


@dataclass
class WebSession:
    biz_token: str
    redirect_url: str
    compare_image_url: str
    compare_image_md5: str
    created_at: float
    outcome: str | None = None  # a key of OUTCOMES once the tester chose one on the page
    flow: str = "legacy"
    ttl_s: int = TOKEN_TTL_S
    extra: str | None = None
    opened: bool = False  # the person opened the verification page
    check_mode: int = 2  # Config.CheckMode (intl): 1 and 4 read a document
    id_card_type: str | None = None
    finished_at: float | None = None

    @property
    def reads_document(self) -> bool:
        return self.flow == "intl" and self.check_mode in OCR_CHECK_MODES


@dataclass
class Upload:
    """A CreateUploadUrl slot: the bytes arrive later with an HTTP PUT to the UploadUrl."""

    upload_id: str
    signature: str
    expires_at: float
    data: bytes | None = None


@dataclass
class Answer:
    """One HTTP answer of the emulator."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


# The "best frame" the emulator reports for a finished session: a few bytes with a JPEG signature.
_SAMPLE_FRAME = b"\xff\xd8\xff\xe0" + bytes(range(60))


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class FaceIdEmulator:
    """The state and rules of the emulated service; thread-safe."""

    def __init__(self, credentials: dict[str, str] | None = None, rate_limit: int = DEFAULT_RATE_LIMIT) -> None:
        self._initial_credentials = dict(credentials or {LOCAL_SECRET_ID: LOCAL_SECRET_KEY})
        self.credentials = dict(self._initial_credentials)
        self.rate_limit = rate_limit
        self.clock_offset_s = 0.0
        self.monotonic = time.monotonic  # the rate window's clock; tests may freeze it
        self.offline_actions: set[str] = set()  # actions answered with ActionOffline (withdrawn)
        self.base_url = "http://127.0.0.1"
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._faults: list[Fault] = []
        self._window: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.sessions: dict[str, WebSession] = {}
        self.uploads: dict[str, Upload] = {}
        self.calls: list[dict[str, Any]] = []

    # -- control -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything, after the API calls still being answered (e.g. slowed by a fault) end."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
        with self._lock:
            self._faults.clear()
            self._window.clear()
            self.sessions.clear()
            self.uploads.clear()
            self.calls.clear()
            self.clock_offset_s = 0.0
            self.monotonic = time.monotonic
            self.rate_limit = DEFAULT_RATE_LIMIT
            self.credentials = dict(self._initial_credentials)
            self.offline_actions = set()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def age_sessions(self, seconds: float) -> None:
        """Move every session `seconds` into the past (retention and token expiry without waiting)."""
        with self._lock:
            for session in self.sessions.values():
                session.created_at -= seconds
                if session.finished_at is not None:
                    session.finished_at -= seconds

    # -- API 3.0 -------------------------------------------------------------------------------
    def handle_api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._idle:
            self._in_flight += 1
        try:
            return self._handle_api(method, path, query, headers, body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle_api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        request_id = str(uuid.uuid4())
        action = headers.get("x-tc-action", "")
        call: dict[str, Any] = {
            "action": action,
            "region": headers.get("x-tc-region"),
            "trace_id": headers.get("x-tc-traceid"),
            "token": headers.get("x-tc-token"),
            "request_id": request_id,
            "at": time.time(),  # when it arrived (benches plot throughput from it)
        }
        fault: Fault | None = None
        try:
            secret_id = self._authenticate(method, path, query, headers, body)
            call["secret_id"] = secret_id
            with contextlib.suppress(ValueError):
                call["params"] = json.loads(body or b"{}")
            self._check_route(headers)
            self._check_rate(secret_id, action)
            fault = self._take_fault(action)
            if fault and fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)
            if fault and fault.reset:
                call["outcome"] = "fault:reset"
                return Answer(0, b"")
            if fault and (fault.body is not None or fault.http_status != 200):
                call["outcome"] = f"fault:http {fault.http_status}"
                return Answer(fault.http_status, (fault.body or "").encode(), fault.content_type or "text/plain")
            if fault and fault.code:
                raise ApiError(fault.code, fault.message)
            params = _json_object(body)
            region = headers.get("x-tc-region", "")
            if action in self.offline_actions:
                raise ApiError("ActionOffline", f"The action `{action}` has been taken offline.")
            _check_params(params, REQUEST_FIELDS[action], REQUIRED_FIELDS[action])
            if action == "CreateUploadUrl":
                result = self._create_upload_url(params, region)
            elif action == "ApplyWebVerificationBizTokenIntl":
                result = self._apply_web_verification_biz_token_intl(params)
            elif action in ("GetWebVerificationResult", "GetWebVerificationResultIntl"):
                result = self._get_result(params, intl=action.endswith("Intl"))
            else:
                result = self._apply_web_verification_token(params)
            call["outcome"] = "ok"
            return _envelope({**result, "RequestId": request_id}, fault)
        except ApiError as err:
            call["outcome"] = err.code
            return _envelope({"Error": {"Code": err.code, "Message": err.message}, "RequestId": request_id}, fault)
        finally:
            with self._lock:
                self.calls.append(call)

    def _authenticate(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> str:
        auth = tc3.parse_authorization(headers.get("authorization"))
        if auth is None or "content-type" not in auth.signed_headers or "host" not in auth.signed_headers:
            raise ApiError("AuthFailure.InvalidAuthorization", "Authorization header is missing or malformed.")
        secret_key = self.credentials.get(auth.secret_id)
        if secret_key is None:
            raise ApiError(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            raise ApiError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or not an integer.") from None
        if abs(self.now() - timestamp) > MAX_SKEW_S:
            raise ApiError(
                "AuthFailure.SignatureExpire",
                "Signature expired. Timestamp is more than 300 seconds away from the server time.",
            )
        expected = tc3.signature(
            secret_key=secret_key,
            service=auth.service,
            timestamp=timestamp,
            method=method,
            path=path,
            query=query,
            headers=headers,
            signed_headers=auth.signed_headers,
            payload_hash=tc3.payload_hash(body, headers.get("x-tc-content-sha256")),
        )
        date_ok = time.strftime("%Y-%m-%d", time.gmtime(timestamp)) == auth.date
        if not date_ok or auth.service != SERVICE or not hmac.compare_digest(expected, auth.signature):
            raise ApiError(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return auth.secret_id

    @staticmethod
    def _check_route(headers: dict[str, str]) -> None:
        if headers.get("x-tc-version") != API_VERSION:
            raise ApiError("NoSuchVersion", "The requested version does not exist or is not supported.")
        action = headers.get("x-tc-action", "")
        if action not in ACTIONS:
            raise ApiError("InvalidAction", "The requested action does not exist.")
        region = headers.get("x-tc-region")
        if not region:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")
        if region not in ACTION_REGIONS[action]:
            raise ApiError("UnsupportedRegion", f"The action is not supported in the region `{region}`.")

    def _check_rate(self, secret_id: str, action: str) -> None:
        now = self.monotonic()
        with self._lock:
            window = self._window[(secret_id, action)]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                raise ApiError("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
            window.append(now)

    def _take_fault(self, action: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.action in (None, action):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _apply_web_verification_token(self, params: dict[str, Any]) -> dict[str, Any]:
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
            )
        return {"BizToken": token, "VerificationUrl": f"{self.base_url}/verify/{token}"}

    def _apply_web_verification_biz_token_intl(self, params: dict[str, Any]) -> dict[str, Any]:
        redirect = params["RedirectURL"]
        if urlsplit(redirect).scheme not in ("http", "https"):
            raise ApiError("InvalidParameterValue", "The value of parameter `RedirectURL` is not a valid URL.")
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
        _check_params(config, INTL_CONFIG_FIELDS, (), prefix="Config.")
        _check_config_values(config)
        token = str(uuid.uuid4()).upper()
        with self._lock:
            self.sessions[token] = WebSession(
                biz_token=token,
                redirect_url=redirect,
                compare_image_url="",
                compare_image_md5=hashlib.md5(photo, usedforsecurity=False).hexdigest(),
                created_at=self.now(),
                flow="intl",
                ttl_s=INTL_TOKEN_TTL_S,
                extra=extra,
                check_mode=config.get("CheckMode") or 2,
                id_card_type=config.get("IDCardType"),
            )
        url = f"{self.base_url}/verify/{token}"
        return {"VerificationUrl": url, "BizToken": token, "VerificationURL": url}

    def _get_result(self, params: dict[str, Any], *, intl: bool) -> dict[str, Any]:
        """GetWebVerificationResult(Intl): every field of the SDK's response model, null when unknown."""
        session = self.sessions.get(params["BizToken"])
        if session is None or (session.flow == "intl") != intl:
            raise ApiError("InvalidParameterValue.BizTokenIllegal", "The BizToken is invalid.")
        age = self.now() - session.created_at
        if age > RESULT_RETENTION_S:
            raise ApiError("InvalidParameterValue.BizTokenExpired", "The BizToken has expired.")
        answer: dict[str, Any] = {"ErrorCode": None, "ErrorMsg": None, "VerificationDetailList": None}
        if intl:
            answer.update(VideoBase64=None, BestFrameBase64=None, OCRResult=None, Extra=session.extra)
        else:
            answer.update(VideoBestFrameUrl=None, VideoBestFrameMd5=None, VideoUrl=None, VideoMd5=None)
        outcome = OUTCOMES.get(session.outcome or "")
        if outcome is None or outcome.get("stays"):
            if age > session.ttl_s:
                answer["ErrorCode"], answer["ErrorMsg"] = TOKEN_EXPIRED
            elif session.opened or outcome is not None:
                answer["ErrorCode"], answer["ErrorMsg"] = NOT_FINISHED
            return answer
        answer.update(ErrorCode=outcome["code"], ErrorMsg=outcome["msg"])
        if "liveness" in outcome and not (intl and session.check_mode == 4):  # 4: OCR only, no face
            answer["VerificationDetailList"] = [self._detail(session, outcome, intl)]
            frame = _SAMPLE_FRAME
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
        if session.reads_document and session.outcome in ("pass", "document", "liveness", "compare"):
            answer["OCRResult"] = [_ocr_result(session, passed=session.outcome != "document")]
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

    # -- the hosted verification page -----------------------------------------------------------
    def outcomes_for(self, session: WebSession) -> list[str]:
        """The outcomes the page offers for this session (document checks only in the OCR modes)."""
        if session.flow == "intl" and session.check_mode == 4:  # OCR only: no face steps
            return ["pass", "document", "left", "timeout", "unfinished"]
        choices = ["pass", "liveness"]
        if not (session.flow == "intl" and session.check_mode == 3):  # 3: liveness only, no comparison
            choices.append("compare")
        if session.reads_document:
            choices.append("document")
        return [*choices, "left", "timeout", "unfinished"]

    def verification_page(self, token: str) -> Answer:
        session = self.sessions.get(token)
        if session is None or self.now() - session.created_at > session.ttl_s:
            return _page(404, "Link expired", "<p>This verification link is not valid or has expired.</p>")
        with self._lock:
            session.opened = True
        safe = html.escape(token)
        buttons = "\n".join(
            f'<button type="submit" name="outcome" value="{key}" id="{key}" class="{_button_class(key)}">'
            f"{html.escape(OUTCOMES[key]['label'])}<small>ErrorCode {OUTCOMES[key]['code']}</small></button>"
            for key in self.outcomes_for(session)
        )
        steps = (
            "Hold your document to the camera, then look at the camera."
            if session.reads_document
            else ("Look at the camera and follow the prompts.")
        )
        if session.flow == "intl" and session.check_mode == 4:
            steps = "Hold your identity document to the camera."
        body = f"""<p class="lead">{steps} This is the local FaceID emulator: no camera is used. Choose the
outcome FaceID should report, and you are sent back to the app.</p>
<div class="camera" aria-label="camera preview (placeholder)"><div class="oval"></div><span>Camera preview</span></div>
<form method="post" action="/verify/{safe}" class="choices">
{buttons}
</form>
<p class="meta">Session <code id="biz-token">{safe}</code> · {html.escape(session.flow)} flow
{f"· CheckMode {session.check_mode}" if session.flow == "intl" else ""}</p>"""
        return _page(200, "Verify your identity", body)

    def finish_verification(self, token: str, form: bytes) -> Answer:
        session = self.sessions.get(token)
        outcome = parse_qs(form.decode("utf-8", "replace")).get("outcome", [""])[0]
        if session is None or outcome not in OUTCOMES:
            return _page(400, "Unknown choice", "<p>Unknown session or outcome.</p>")
        if self.now() - session.created_at > session.ttl_s:
            return _page(404, "Link expired", "<p>This verification link is not valid or has expired.</p>")
        if outcome not in (*self.outcomes_for(session), "fail"):
            return _page(400, "Not offered", "<p>That outcome is not offered for this session.</p>")
        with self._lock:
            if session.outcome in (None, "unfinished"):  # the first final choice wins
                session.outcome = outcome
                session.finished_at = self.now()
        back = html.escape(_with_token(session.redirect_url, token))
        if OUTCOMES[outcome].get("stays"):
            # FaceID does not redirect a person who has not finished: the page stays, the result stays 17.
            return _page(
                200,
                "Verification not finished",
                f"""<p id="unfinished-note">You left the verification unfinished. FaceID reports ErrorCode 17
until the link expires (then 15). You can close this page, or come back to the link to finish.</p>
<p><a id="back" href="{back}">Go back to the app without finishing</a></p>""",
            )
        return Answer(302, b"", "text/plain", {"Location": _with_token(session.redirect_url, token)})


_PAGE_STYLE = """body{font-family:system-ui,sans-serif;background:#f4f6f9;color:#1b1f24;margin:0}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:1rem;padding:1.5rem 1.5rem 1rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin:.2rem 0 .6rem}.brand{color:#2d72f1;
font-weight:700;font-size:.85rem;letter-spacing:.05em;text-transform:uppercase}.lead{line-height:1.45}
.camera{position:relative;height:13rem;border-radius:.8rem;background:#1f2933;display:flex;
align-items:center;justify-content:center;margin:1rem 0;color:#9aa5b1}.camera span{position:absolute;
bottom:.6rem;font-size:.8rem}.oval{width:7.5rem;height:9.5rem;border:3px dashed #9aa5b1;border-radius:50%}
.choices{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}.choices button{padding:.7rem .5rem;
font:inherit;border-radius:.6rem;border:1px solid #cbd2d9;background:#fff;cursor:pointer;text-align:left}
.choices button small{display:block;color:#616e7c;font-size:.75rem}.choices .ok{background:#2d72f1;
color:#fff;border-color:#2d72f1;grid-column:1/-1}.choices .ok small{color:#dbe7fd}.choices .bad{
border-color:#e3a5a1}.meta{color:#616e7c;font-size:.8rem;margin-top:1rem;word-break:break-all}"""


def _button_class(outcome: str) -> str:
    return "ok" if outcome == "pass" else ("bad" if outcome in ("liveness", "compare", "document") else "other")


def _page(status: int, title: str, body: str) -> Answer:
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · FaceID (local emulator)</title>
<style>{_PAGE_STYLE}</style></head><body><main><div class="brand">FaceID · local emulator</div>
<h1>{html.escape(title)}</h1>
{body}</main></body></html>"""
    return Answer(status, page.encode(), "text/html; charset=utf-8")


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"token": token})))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return value


def _is_type(value: object, kind: type) -> bool:
    """JSON type check as the API does it: a bool is not an int, an int is a valid float."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_params(
    params: dict[str, Any], fields: dict[str, type], required: tuple[str, ...], *, prefix: str = ""
) -> None:
    """Names and JSON types of one request object; a null field counts as absent."""
    for name, value in params.items():
        if name not in fields:
            raise ApiError("UnknownParameter", f"The parameter `{prefix}{name}` is not recognized.")
        if value is not None and not _is_type(value, fields[name]):
            raise ApiError("InvalidParameter", f"The type of parameter `{prefix}{name}` is invalid.")
    for name in required:
        if params.get(name) is None:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{prefix}{name}`.")


def _check_config_values(config: dict[str, Any]) -> None:
    """WebVerificationConfigIntl values against their documented lists and ranges."""

    def invalid(name: str) -> ApiError:
        return ApiError("InvalidParameterValue", f"The value of parameter `Config.{name}` is invalid.")

    for name, choices in CONFIG_CHOICES.items():
        if config.get(name) is not None and config[name] not in choices:
            raise invalid(name)
    for name, (low, high) in CONFIG_RANGES.items():
        if config.get(name) is not None and not low <= config[name] <= high:
            raise invalid(name)
    actions = config.get("ActionList")
    if actions is not None:
        chosen = actions.split(",")
        if not 1 <= len(chosen) <= 2 or any(a not in LIVENESS_ACTIONS for a in chosen):
            raise invalid("ActionList")
        if config.get("SecurityLevel") not in (2, 4):  # documented: only with action liveness
            raise invalid("ActionList")
    codes = config.get("SelectedWarningCodes")
    if codes and any(c.strip() not in OCR_WARNING_CODES for c in codes.split(",")):
        raise invalid("SelectedWarningCodes")


# Synthetic document data for the OCR modes: never anything real.
_FAKE_HKID = {
    "CnName": None,
    "EnName": "TEST PERSON",
    "TelexCode": None,
    "Sex": "M",
    "Birthday": "01-01-1990",
    "Permanent": "1",
    "IdNum": "Z000000(0)",
    "Symbol": "***AZ",
    "FirstIssueDate": "(01-79)",
    "CurrentIssueDate": "01-01-20",
}
_FAKE_NORMAL_HKID = {
    "ChineseName": None,
    "FullName": "TEST PERSON",
    "RegistrationNumber": "Z000000(0)",
    "Sex": "M",
    "Birthday": "01-01-1990",
    "Permanent": "1",
    "LicenseNumber": "Z000000(0)",
    "Symbol": "***AZ",
    "IssuedDate": "(01-79)",
    "CurrentIssueDate": "01-01-20",
    "HKIDVersion": "2018",
}
_FAKE_PASSPORT = {
    "LicenseNumber": "X00000000",
    "FullName": "TEST PERSON",
    "Surname": "PERSON",
    "GivenName": "TEST",
    "Birthday": "1990-01-01",
    "Sex": "M",
    "DateOfExpiration": "2035-01-01",
    "IssuingCountry": "UTO",
    "NationalityCode": "UTO",
    "PassportCodeFirst": "P<UTOPERSON<<TEST<<<<<<<<<<<<<<<<<<<<<<<<<<<",
    "PassportCodeSecond": "X000000000UTO9001011M3501012<<<<<<<<<<<<<<00",
}
# What in those answers identifies a person: the suite's scan fails a run whose output holds any of it.
PERSONAL_DATA = (
    "TEST PERSON",
    "Z000000(0)",
    "X00000000",
    "P<UTOPERSON",
    base64.b64encode(_SAMPLE_FRAME).decode(),  # the face / card images
)
# CardInfo / NormalCardInfo: one member per document type (SDK models); only the one read is filled.
CARD_INFO_TYPES = (
    "HKIDCard", "MLIDCard", "PhilippinesVoteID", "IndonesiaIDCard", "PhilippinesDrivingLicense",
    "PhilippinesTinID", "PhilippinesSSSID", "PhilippinesUMID", "InternationalIDPassport", "GeneralCard",
    "IndonesiaDrivingLicense", "ThailandIDCard", "SingaporeIDCard", "MacaoIDCard", "TaiWanIDCard",
    "JapanIDCard", "BangladeshIDCard", "NigeriaIDCard", "NigeriaDrivingLicense", "PakistanIDCard",
    "PakistanDrivingLicense",
)  # fmt: skip
NORMAL_CARD_INFO_TYPES = (
    "HKIDCard", "MLIDCard", "PhilippinesVoteID", "IndonesiaIDCard", "PhilippinesDrivingLicense",
    "PhilippinesTinID", "PhilippinesSSSID", "PhilippinesUMID", "InternationalIDPassport", "GeneralCard",
    "IndonesiaDrivingLicense", "ThailandIDCard", "SingaporeIDCard", "MacaoIDCard", "MainlandIDCard",
    "JapanIDCard", "TaiWanIDCard", "HMTPermitCard",
)  # fmt: skip
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")


def _ocr_result(session: WebSession, *, passed: bool) -> dict[str, Any]:
    """One OCRResult (SDK model) for a document read in CheckMode 1 or 4: HKID card or passport."""
    card = session.id_card_type or OCR_MODE_DEFAULT_CARD
    card_info: dict[str, Any] = dict.fromkeys(CARD_INFO_TYPES)
    normal: dict[str, Any] = dict.fromkeys(NORMAL_CARD_INFO_TYPES)
    if card == "InternationalIDPassport":
        card_info[card] = dict(_FAKE_PASSPORT)
        normal[card] = dict(_FAKE_PASSPORT)
    else:  # every other document type is reported as an HKID card, the SDK's own example
        card_info["HKIDCard"] = dict(_FAKE_HKID)
        normal["HKIDCard"] = dict(_FAKE_NORMAL_HKID)
    image = base64.b64encode(_SAMPLE_FRAME).decode()
    mode4 = session.check_mode == 4
    return {
        "IsPass": passed,
        "CardImageBase64": image,
        "CardInfo": None if mode4 else card_info,
        "NormalCardInfo": None if mode4 else normal,
        "RequestId": str(uuid.uuid4()),
        "CardCutImageBase64": image,
        "CardBackCutImageBase64": None,
        "WarnCardInfos": [] if passed else [-9102],
        # CheckMode 4 returns the recognised fields as the original JSON string instead.
        "OriginalCardInfo": json.dumps(normal, separators=(",", ":")) if mode4 else None,
        "HeadImageBase64": image,
        "CardBackImageBase64": None,
    }


def _envelope(response: dict[str, Any], fault: Fault | None) -> Answer:
    content_type = (fault.content_type if fault else None) or "application/json"
    return Answer(200, json.dumps({"Response": response}).encode(), content_type)


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, answer: Answer) -> None:
        if answer.status == 0:  # an injected connection reset: RST, no answer at all
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        head = [f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
        head += [f"Content-Type: {answer.content_type}", f"Content-Length: {len(answer.body)}"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        # One write per response (headers and body together): no Nagle/delayed-ACK stall.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        emulator = self.server.emulator
        if path == "/__emulator__/calls":
            self._send(Answer(200, json.dumps(emulator.calls).encode()))
        elif path == "/__emulator__/health":
            self._send(Answer(200, b'{"ok": true}'))
        elif path.startswith("/verify/"):
            self._send(emulator.verification_page(path.removeprefix("/verify/")))
        else:
            self._send(Answer(404, b'{"error": "not found"}'))

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        emulator = self.server.emulator
        if parts.path.startswith("/__emulator__/"):
            self._send(self._control(parts.path.removeprefix("/__emulator__/"), body))
        elif parts.path.startswith("/verify/"):
            self._send(emulator.finish_verification(parts.path.removeprefix("/verify/"), body))
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(emulator.handle_api("POST", parts.path, parts.query, headers, body))

    def do_PUT(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/upload/"):
            self._send(self.server.emulator.receive_upload(parts.path.removeprefix("/upload/"), parts.query, body))
        else:
            self._send(Answer(404, b'{"error": "not found"}'))

    def _control(self, command: str, body: bytes) -> Answer:
        emulator = self.server.emulator
        options = json.loads(body or b"{}")
        if command == "reset":
            emulator.reset()
        elif command == "faults":
            emulator.inject(Fault(**options))
        elif command == "config":
            emulator.clock_offset_s = float(options.get("clock_offset_s", emulator.clock_offset_s))
            emulator.rate_limit = int(options.get("rate_limit", emulator.rate_limit))
            if "offline_actions" in options:
                emulator.offline_actions = set(options["offline_actions"])
            if "age_sessions_s" in options:
                emulator.age_sessions(float(options["age_sessions_s"]))
        else:
            return Answer(404, b'{"error": "unknown control command"}')
        return Answer(200, b'{"ok": true}')


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of 30 concurrent first connections overflowed it and
    # the dropped SYNs came back as connect timeouts (502) instead of FaceID's throttling.
    request_queue_size = 128

    def __init__(self, host: str, port: int, emulator: FaceIdEmulator, verbose: bool = False) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator listens on loopback only")
        super().__init__((host, port), _Handler)
        self.emulator = emulator
        self.verbose = verbose
        emulator.base_url = f"http://{host}:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    @property
    def url(self) -> str:
        return self.emulator.base_url


def start_in_thread(emulator: FaceIdEmulator | None = None, port: int = 0) -> EmulatorServer:
    """Start an emulator on 127.0.0.1 in a daemon thread (tests); `server.shutdown()` stops it."""
    server = EmulatorServer("127.0.0.1", port, emulator or FaceIdEmulator())
    threading.Thread(target=server.serve_forever, name="faceid-emulator", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    server = EmulatorServer(args.host, args.port, FaceIdEmulator(), verbose=args.verbose)
    print(f"FaceID emulator listening on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
