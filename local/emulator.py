"""A local FaceID (Tencent Cloud API 3.0) for tests and the local stack. Loopback only.

    python -m local.emulator --port 9000

What it checks and answers (DESIGN.md, "Local run and tests"):
- TC3-HMAC-SHA256 signatures: malformed -> AuthFailure.InvalidAuthorization, unknown SecretId ->
  AuthFailure.SecretIdNotFound, more than 300 s of skew -> AuthFailure.SignatureExpire, wrong
  signature -> AuthFailure.SignatureFailure;
- X-TC-Version (NoSuchVersion), X-TC-Action (InvalidAction), X-TC-Region (MissingParameter,
  UnsupportedRegion);
- 20 requests/s per SecretId and action -> RequestLimitExceeded;
- ApplyWebVerificationToken with its parameter checks (MissingParameter, UnknownParameter,
  InvalidParameterValue), answering BizToken and a VerificationUrl served by this emulator; for a
  ResourceUrl of CreateUploadUrl it checks that the bytes were uploaded and match CompareImageMd5;
- ApplyWebVerificationBizTokenIntl (the intl flow: RedirectURL, CompareImageBase64, Extra, Config;
  VerificationURL; tokens live 10 minutes), and ActionOffline for any action it is told is withdrawn;
- CreateUploadUrl, with an upload endpoint (PUT /upload/<id>?...q-signature=...) that accepts the
  bytes only with the URL's signature and before it expires;
- a verification page at the VerificationUrl that redirects to RedirectUrl after pass or fail.

Control endpoints for tests (unsigned, under /__emulator__/):
- POST faults   {"code","message","count","latency_ms","action","http_status","content_type","body","reset"}
- POST config   {"clock_offset_s": float, "rate_limit": int, "offline_actions": [action, ...]}
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
REGIONS = ("ap-singapore", "ap-jakarta")
MAX_SKEW_S = 300
DEFAULT_RATE_LIMIT = 20  # requests per second, per SecretId and action
TOKEN_TTL_S = 7200

# Credentials the local stack and the tests use. Not a secret anywhere: the emulator is local only.
LOCAL_SECRET_ID = "AKIDlocalEmulatorFaceidFn0000000000"
LOCAL_SECRET_KEY = "LocalEmulatorSecretKey0NotForProduction"

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
ACTIONS = (
    "ApplyWebVerificationToken",
    "CreateUploadUrl",
    "GetWebVerificationResult",
    "ApplyWebVerificationBizTokenIntl",
    "GetWebVerificationResultIntl",
)
# How long FaceID keeps a result readable: the token's two hours (legacy), three days (intl).
RESULT_RETENTION_S = {"legacy": 7200, "intl": 3 * 24 * 3600}
INTL_TOKEN_TTL_S = 600
INTL_MAX_BASE64 = 8 * 1024 * 1024
INTL_CONFIG_KEYS = (
    "AutoSkip",
    "CheckMode",
    "SecurityLevel",
    "Language",
    "ThemeColor",
    "SkipPrivacyPolicy",
    "IDCardType",
    "DisableCheckOcrWarnings",
)
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
    outcome: str | None = None  # "pass" or "fail" once the person finished
    flow: str = "legacy"
    ttl_s: int = TOKEN_TTL_S
    extra: str | None = None


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
        if headers.get("x-tc-action") not in ACTIONS:
            raise ApiError("InvalidAction", "The requested action does not exist.")
        region = headers.get("x-tc-region")
        if not region:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")
        if region not in REGIONS:
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
        allowed = ("RedirectUrl", "CompareImageUrl", "CompareImageMd5")
        _check_params(params, required=allowed, allowed=allowed)
        for name in allowed:
            if not isinstance(params[name], str) or not params[name]:
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
        allowed = ("RedirectURL", "CompareImageBase64", "Extra", "Config")
        _check_params(params, required=("RedirectURL",), allowed=allowed)
        redirect = params["RedirectURL"]
        if not isinstance(redirect, str) or urlsplit(redirect).scheme not in ("http", "https"):
            raise ApiError("InvalidParameterValue", "The value of parameter `RedirectURL` is not a valid URL.")
        image = params.get("CompareImageBase64")
        if image is not None:
            if not isinstance(image, str) or len(image) > INTL_MAX_BASE64:
                raise ApiError("InvalidParameterValue", "The value of parameter `CompareImageBase64` is invalid.")
            try:
                base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("InvalidParameterValue.ImageDecodeFailed", "The image could not be decoded.") from None
        extra = params.get("Extra")
        if extra is not None and (not isinstance(extra, str) or len(extra) > 1000):
            raise ApiError("InvalidParameterValue", "The value of parameter `Extra` is invalid.")
        config = params.get("Config", {})
        if not isinstance(config, dict) or any(k not in INTL_CONFIG_KEYS for k in config):
            raise ApiError("InvalidParameterValue", "The value of parameter `Config` is invalid.")
        token = str(uuid.uuid4()).upper()
        with self._lock:
            self.sessions[token] = WebSession(
                biz_token=token,
                redirect_url=redirect,
                compare_image_url="",
                compare_image_md5=hashlib.md5(base64.b64decode(image or ""), usedforsecurity=False).hexdigest(),
                created_at=self.now(),
                flow="intl",
                ttl_s=INTL_TOKEN_TTL_S,
                extra=extra,
            )
        return {"BizToken": token, "VerificationURL": f"{self.base_url}/verify/{token}"}

    def _get_result(self, params: dict[str, Any], *, intl: bool) -> dict[str, Any]:
        """GetWebVerificationResult(Intl), with the response shape of the real API (SDK 3.1.49 models)."""
        _check_params(params, required=("BizToken",), allowed=("BizToken",))
        session = self.sessions.get(params["BizToken"]) if isinstance(params["BizToken"], str) else None
        if session is None or (session.flow == "intl") != intl:
            raise ApiError("InvalidParameterValue.BizTokenIllegal", "The BizToken is invalid.")
        age = self.now() - session.created_at
        if age > RESULT_RETENTION_S[session.flow]:
            raise ApiError("InvalidParameterValue.BizTokenExpired", "The BizToken has expired.")
        answer: dict[str, Any] = {"ErrorCode": None, "ErrorMsg": None, "VerificationDetailList": None}
        if session.outcome is None and age > session.ttl_s:
            answer.update(ErrorCode=15, ErrorMsg="Token expired")
        elif session.outcome is not None:
            passed = session.outcome == "pass"
            code, message = (0, "Success") if passed else (1001, "Liveness check failed")
            answer.update(
                ErrorCode=code,
                ErrorMsg=message,
                VerificationDetailList=[
                    {
                        "ErrorCode": code,
                        "ErrorMsg": message,
                        "LivenessErrorCode": 0 if passed else 1001,
                        "LivenessErrorMsg": "Success" if passed else "Liveness check failed",
                        "CompareErrorCode": 0 if passed else None,
                        "CompareErrorMsg": "Success" if passed else None,
                        "ReqTimestamp": int(session.created_at * 1000) + 30_000,
                        "Similarity": 92.5 if passed else None,
                        "Seq": f"{session.biz_token[:8].lower()}-seq-1",
                    }
                ],
            )
            frame = _SAMPLE_FRAME
            if intl:
                answer.update(
                    BestFrameBase64=base64.b64encode(frame).decode(),
                    VideoBase64=base64.b64encode(frame * 4).decode(),
                    OCRResult=None,
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
        if intl:
            answer["Extra"] = session.extra
        return answer

    def _create_upload_url(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        _check_params(params, required=("TargetAction",), allowed=("TargetAction",))
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
    def verification_page(self, token: str) -> Answer:
        session = self.sessions.get(token)
        if session is None or self.now() - session.created_at > session.ttl_s:
            return Answer(404, b"<h1>This verification link is not valid or has expired.</h1>", "text/html")
        safe = html.escape(token)
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>FaceID (local emulator)</title></head>
<body><h1>Face verification (local emulator)</h1><p>Session <code>{safe}</code></p>
<form method="post" action="/verify/{safe}"><button name="outcome" value="pass" id="pass">Pass</button>
<button name="outcome" value="fail" id="fail">Fail</button></form></body></html>"""
        return Answer(200, page.encode(), "text/html; charset=utf-8")

    def finish_verification(self, token: str, form: bytes) -> Answer:
        session = self.sessions.get(token)
        outcome = parse_qs(form.decode("utf-8", "replace")).get("outcome", [""])[0]
        if session is None or outcome not in ("pass", "fail"):
            return Answer(400, b"<h1>Unknown session or outcome.</h1>", "text/html")
        with self._lock:
            session.outcome = session.outcome or outcome
        return Answer(302, b"", "text/plain", {"Location": _with_token(session.redirect_url, token)})


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


def _check_params(params: dict[str, Any], *, required: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for name in params:
        if name not in allowed:
            raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")
    for name in required:
        if name not in params:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


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
        else:
            return Answer(404, b'{"error": "unknown control command"}')
        return Answer(200, b'{"ok": true}')


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

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
