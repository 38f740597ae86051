"""The API 3.0 front door: the TC3-HMAC-SHA256 signature, X-TC-Version, X-TC-Action and X-TC-Region,
a failed region, the rate limit per SecretId and action, injected faults, the request fields, then the
action itself.
FaceIdEmulator is the whole emulated service: this front door, the actions and the hosted page."""

from __future__ import annotations

import contextlib
import hmac
import json
import time
import uuid
from typing import Any

from local import tc3
from local.emulator.actions import Actions
from local.emulator.catalog import (
    ACTION_REGIONS,
    ACTIONS,
    API_VERSION,
    MAX_SKEW_S,
    REQUEST_FIELDS,
    REQUIRED_FIELDS,
    SERVICE,
    THROTTLING_CODES,
)
from local.emulator.page import Page
from local.emulator.params import check_params, json_object
from local.emulator.state import Answer, ApiError, Fault, RegionFailure


class FaceIdEmulator(Actions, Page):
    """The state and rules of the emulated service; thread-safe."""

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
            region = headers.get("x-tc-region", "")
            failure = self.failed_regions.get(region)
            if failure is not None:
                call["outcome"] = f"region-down:{failure.how}"
                return _region_down(failure)
            self._check_rate(secret_id, action)
            fault = self._take_fault(action, region)
            if fault:  # which call a fault hit (accounting: e.g. a session created after its caller gave up)
                call["fault"] = {"code": fault.code, "latency_ms": fault.latency_ms, "reset": fault.reset}
            if fault and fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)
            if fault and fault.reset:
                call["outcome"] = "fault:reset"
                return Answer(0, b"")
            if fault and (fault.body is not None or fault.http_status != 200):
                call["outcome"] = f"fault:http {fault.http_status}"
                return Answer(fault.http_status, (fault.body or "").encode(), fault.content_type or "text/plain")
            if fault and fault.code:
                raise ApiError(fault.code, fault.message or THROTTLING_CODES.get(fault.code, "Injected fault."))
            params = json_object(body)
            if action in self.offline_actions:
                raise ApiError("ActionOffline", f"The action `{action}` has been taken offline.")
            check_params(params, REQUEST_FIELDS[action], REQUIRED_FIELDS[action])
            if action == "CreateUploadUrl":
                result = self._create_upload_url(params, region)
            elif action == "ApplyWebVerificationBizTokenIntl":
                result = self._apply_web_verification_biz_token_intl(params, region)
            elif action in ("GetWebVerificationResult", "GetWebVerificationResultIntl"):
                result = self._get_result(params, region, intl=action.endswith("Intl"))
            else:
                result = self._apply_web_verification_token(params, region)
            call["outcome"] = "ok"
            if "BizToken" in result:
                call["biz_token"] = result["BizToken"]
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
                code = self.rate_limit_code
                if code == "RequestLimitExceeded":
                    raise ApiError(code, "Your current request times equals to `20` in a second.")
                raise ApiError(code, THROTTLING_CODES[code])
            window.append(now)

    def _take_fault(self, action: str, region: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.action in (None, action) and fault.region in (None, region):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


def _region_down(failure: RegionFailure) -> Answer:
    """What a failed region answers: an HTTP 5xx, InternalError, a hang (the caller times out; the call
    ends when the region is restored), or a reset connection."""
    if failure.how == "reset":
        return Answer(0, b"")
    if failure.how == "internal":
        error = {"Code": "InternalError", "Message": "Internal error."}
        return _envelope({"Error": error, "RequestId": str(uuid.uuid4())}, None)
    if failure.how == "timeout":
        failure.released.wait(failure.latency_ms / 1000)
        return Answer(504, b"Gateway Timeout", "text/plain")
    return Answer(failure.http_status, b"Service Unavailable", "text/plain")


def _envelope(response: dict[str, Any], fault: Fault | None) -> Answer:
    content_type = (fault.content_type if fault else None) or "application/json"
    return Answer(200, json.dumps({"Response": response}).encode(), content_type)
