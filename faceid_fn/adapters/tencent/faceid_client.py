"""The FaceID API 3.0 client (the official SDK): every call within a time budget, retried
where safe, paced in a burst."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import requests
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.adapters.aws.pacing import Pacer, Saturated
from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.adapters.tencent.faceid_answers import (
    MESSAGES,
    RATE_LIMITED,
    UPLOAD_FAILED,
    Attempt,
    attempt_from_body,
    attempt_from_sdk_exception,
)
from faceid_fn.adapters.tencent.faceid_regions import (
    Budget,
    RegionalClients,
    RegionBreaker,
    start_in_order,
)
from faceid_fn.config import Settings
from faceid_fn.domain.errors import UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, UpstreamError, is_throttle
from faceid_fn.domain.flows import APPLY_INTL, APPLY_LEGACY, CREATE_UPLOAD_URL
from faceid_fn.observability import logger, metrics, tracer

# Connecting only: each attempt reads for whatever is left of FACEID_TIMEOUT_S. A connection to FaceID that
# has not opened within this will not open in time for a retry either.
CONNECT_TIMEOUT_S = 2.0
# Capped exponential back-off with full jitter between retried attempts.
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0
# FaceID counts requests per second: a throttled call retried within the same second fails again, so
# throttling backs off from a longer base (fewer wasted attempts in a burst; bench/burst.py).
THROTTLE_BACKOFF_BASE_S = 0.5
THROTTLE_BACKOFF_CAP_S = 4.0
# Less than this left after a back-off (the sleep ran long on a busy host): no attempt is made, and the
# answer is what the last one met, not a timeout that no upstream caused.
MIN_ATTEMPT_S = 0.05


class FaceId:
    """FaceID actions used by this function, each one call with a deadline; an intl start may move on to
    the failover regions (FACEID_FAILOVER_REGIONS) when FaceID fails in the region it tries."""

    def __init__(
        self,
        client: CommonClient,
        *,
        timeout_s: float,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        pacer: Pacer | None = None,
        rule_id: str | None = None,
        regions: RegionalClients | None = None,
        breaker: RegionBreaker | None = None,
    ) -> None:
        self._client = client
        self._regions = regions or RegionalClients(client, pacer)
        self._breaker = breaker or RegionBreaker(clock=clock)
        self._rule_id = rule_id
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._uploads = LazyClient(requests.Session)  # PUTs to pre-signed upload URLs; kept warm like the SDK's

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceId:
        regions = RegionalClients.from_settings(settings)
        return cls(
            regions.client(None), timeout_s=settings.faceid_timeout_s, rule_id=settings.faceid_rule_id, regions=regions
        )

    def pacer_for(self, region: str | None = None) -> Pacer | None:
        """The region's send-slot pacer (the sweep books a slot for each of its reads), if configured."""
        return self._regions.pacer(region)

    def apply_web_verification_token(
        self, *, redirect_url: str, compare_image_url: str, compare_image_md5: str, trace_id: str
    ) -> dict[str, Any]:
        """Start a session; returns FaceID's `Response` (BizToken, VerificationUrl, RequestId)."""
        params = {
            "RedirectUrl": redirect_url,
            "CompareImageUrl": compare_image_url,
            "CompareImageMd5": compare_image_md5,
        }
        return self.call(APPLY_LEGACY, params, trace_id=trace_id, idempotent=False)

    def apply_web_verification_biz_token_intl(
        self,
        *,
        redirect_url: str,
        compare_image_base64: str | None,
        extra: str | None,
        config: dict[str, object],
        trace_id: str,
    ) -> tuple[dict[str, Any], str]:
        """Start an intl-flow session: FaceID's `Response` (BizToken, VerificationURL, RequestId) and the
        region that started it. The photo only when the CheckMode compares with one; RuleId when configured."""
        params: dict[str, Any] = {"RedirectURL": redirect_url}
        for name, value in (("CompareImageBase64", compare_image_base64), ("Extra", extra), ("RuleId", self._rule_id)):
            if value:
                params[name] = value
        if config:
            params["Config"] = config

        def start(region: str, budget: Budget) -> dict[str, Any]:
            return self.call(APPLY_INTL, params, trace_id=trace_id, idempotent=False, region=region, budget=budget)

        budget = Budget(self._clock() + self._timeout_s)
        return start_in_order(start, self._regions.start_regions, self._breaker, budget, self._timeout_s)

    def get_result(
        self,
        *,
        result_action: str,
        biz_token: str,
        trace_id: str,
        region: str | None = None,
        budget_s: float | None = None,
    ) -> dict[str, Any]:
        """Read a session's outcome (GetWebVerificationResult or its Intl successor) in the region that
        started it: a retried read, within `budget_s` when it is shorter than FACEID_TIMEOUT_S."""
        budget = Budget(self._clock() + min(budget_s, self._timeout_s)) if budget_s is not None else None
        return self.call(
            result_action, {"BizToken": biz_token}, trace_id=trace_id, idempotent=True, region=region, budget=budget
        )

    def check_credentials(self) -> None:
        """Read the credentials once (cold start): a missing or malformed secret fails here."""
        self.credential_info()

    def credential_info(self) -> tuple[str, str, str | None]:
        """The Tencent credentials the calls are signed with (COS reads use them too)."""
        secret_id, secret_key, token = self._client.credential.get_credential_info()
        return secret_id, secret_key, token

    def prime(self) -> None:
        """The SDK's client is built with the adapter, at cold start: nothing more to load."""

    def close(self) -> None:
        """Close pooled connections (the SDK's requests.Session of each region, the upload session, the
        pacers' clients) and let cached credentials be read again: before a SnapStart snapshot and after its
        restore."""
        self._uploads.close()
        self._regions.close()

    def create_upload_url(self, *, trace_id: str) -> dict[str, Any]:
        """A pre-signed URL to PUT a photo to, and the ResourceUrl to pass on (valid 7,200 s)."""
        params = {"TargetAction": APPLY_LEGACY}
        answer = self.call(CREATE_UPLOAD_URL, params, trace_id=trace_id, idempotent=True)
        if not all(isinstance(answer.get(field), str) and answer[field] for field in ("UploadUrl", "ResourceUrl")):
            logger.warning("FaceID upload slot without UploadUrl/ResourceUrl", extra={"fields": sorted(answer)})
            raise UpstreamError(UPSTREAM_UNAVAILABLE, MESSAGES[UPSTREAM_UNAVAILABLE], answer.get("RequestId"))
        return answer

    @tracer.capture_method(capture_response=False)
    def upload(self, upload_url: str, data: bytes) -> None:
        """PUT the bytes to an UploadUrl from CreateUploadUrl (only `host` is signed: a plain PUT)."""
        started = self._clock()
        try:
            answer = self._uploads.get().put(upload_url, data=data, timeout=(CONNECT_TIMEOUT_S, self._timeout_s))
            status = answer.status_code
        except requests.RequestException:
            status = 0
        fields = {
            "action": "Upload",
            "outcome": "ok" if 200 <= status < 300 else f"http {status}",
            "latency_ms": round((self._clock() - started) * 1000, 1),
            "bytes": len(data),
        }
        if not 200 <= status < 300:
            logger.warning("upload to FaceID storage failed", extra=fields)
            raise UpstreamError(UPLOAD_FAILED, MESSAGES[UPLOAD_FAILED])
        logger.info("uploaded to FaceID storage", extra=fields)

    @tracer.capture_method(capture_response=False)
    def call(
        self,
        action: str,
        params: dict[str, Any],
        *,
        trace_id: str,
        idempotent: bool,
        region: str | None = None,
        budget: Budget | None = None,
    ) -> dict[str, Any]:
        """One FaceID action in one region (the primary by default) within the time budget (a start that may
        move on to another region shares its budget). Raises UpstreamError."""
        started = self._clock()
        budget = budget or Budget(started + self._timeout_s)
        client, pacer = self._regions.client(region), self._regions.pacer(region)
        attempts = 0
        waited = 0.0
        last_request_id: str | None = None
        while True:
            store_failed = False
            if pacer is not None and pacer.engaged(action):
                try:
                    wait = pacer.book(action, waited_s=budget.waited_s)
                except Saturated as exc:
                    result = Attempt(
                        code=RATE_LIMITED,
                        message=MESSAGES[RATE_LIMITED],
                        request_id=last_request_id,
                        retry_after_s=exc.retry_after_s,
                    )
                    break
                store_failed = wait is None
                if wait:  # time spent waiting for a send slot is not taken from the upstream budget
                    self._sleep(wait)
                    waited += wait
                    budget.waited(wait)
            attempts += 1
            result = self._attempt(client, action, params, trace_id, budget.end, idempotent)
            last_request_id = result.request_id
            remaining = budget.end - self._clock()
            if result.code is None or not result.retryable:
                break
            base, cap = BACKOFF_BASE_S, BACKOFF_CAP_S
            if is_throttle(result.code):
                metrics.add_metric(name="UpstreamThrottled", unit="Count", value=1)
                if pacer is not None and not store_failed:
                    # The next attempt books a send slot instead of backing off: at least a second from now
                    # (the throttled second is full), after every slot booked before it.
                    pacer.engage(action)
                    continue
                # No pacing, or its store is unusable: back off.
                base, cap = THROTTLE_BACKOFF_BASE_S, THROTTLE_BACKOFF_CAP_S
            delay = self._jitter() * min(cap, base * 2 ** (attempts - 1))
            if delay >= remaining:
                break
            self._sleep(delay)
            if budget.end - self._clock() < MIN_ATTEMPT_S:
                break

        latency_ms = round((self._clock() - started) * 1000, 1)
        outcome = result.code or "ok"
        fields = {
            "action": action,
            "region": region or self._regions.primary,
            "faceid_request_id": result.request_id,
            "outcome": outcome,
            "latency_ms": latency_ms,
            "attempts": attempts,
        }
        if waited:
            fields["paced_wait_ms"] = round(waited * 1000, 1)
        tracer.put_annotation("faceid_outcome", outcome)
        if result.request_id:
            tracer.put_annotation("faceid_request_id", result.request_id)
        if result.response is not None:
            if isinstance(result.response.get("BizToken"), str):  # the session a start call opened
                fields["biz_token"] = result.response["BizToken"]
            logger.info("FaceID call succeeded", extra=fields)
            return result.response

        error = UpstreamError(
            result.code or UPSTREAM_UNAVAILABLE,
            result.message,
            result.request_id,
            attempts=attempts,
            retry_after_s=result.retry_after_s,
        )
        metrics.add_metric(name="UpstreamError", unit="Count", value=1)
        if error.is_our_fault:
            logger.error("FaceID call failed: fix the function's configuration", extra=fields)
        else:
            logger.warning("FaceID call failed", extra=fields)
        raise error

    def _attempt(
        self, client: Any, action: str, params: dict[str, Any], trace_id: str, deadline: float, idempotent: bool
    ) -> Attempt:
        remaining = deadline - self._clock()
        if remaining <= 0:
            return Attempt(code=UPSTREAM_TIMEOUT, message=MESSAGES[UPSTREAM_TIMEOUT])
        # The SDK applies one timeout to connect and to each read; give this attempt what is left.
        client.request.conn.timeout = (min(CONNECT_TIMEOUT_S, remaining), remaining)
        try:
            data = client.call_json(action, params, headers={"X-TC-TraceId": trace_id})
        except TencentCloudSDKException as exc:
            return attempt_from_sdk_exception(exc, idempotent)
        except (KeyError, ValueError, TypeError):
            # 200 with a body that is not the API 3.0 envelope (no Response/RequestId, not JSON).
            return Attempt(code=UPSTREAM_UNAVAILABLE, message=MESSAGES[UPSTREAM_UNAVAILABLE])
        return attempt_from_body(data, idempotent)
