"""Back-off of the FaceID gateway, with an in-memory stand-in for the SDK client (no network)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.adapters.tencent.faceid_client import FaceId
from faceid_fn.domain.errors import UpstreamError


class ScriptedClient:
    """Answers call_json from a script: an exception to raise or a body to return, in order."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls = 0
        self.request = SimpleNamespace(conn=SimpleNamespace(timeout=None))

    def call_json(self, action: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return step


def throttled() -> TencentCloudSDKException:
    return TencentCloudSDKException("RequestLimitExceeded", "too many", "rid-throttled")


OK = {"Response": {"BizToken": "T", "VerificationUrl": "https://v", "RequestId": "rid-ok"}}


class FakeClock:
    """Time that passes only when the gateway sleeps."""

    def __init__(self, sleeps: list[float]) -> None:
        self.now = 100.0
        self.sleeps = sleeps

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gateway(client: ScriptedClient, sleeps: list[float], timeout_s: float = 8.0) -> FaceId:
    clock = FakeClock(sleeps)
    return FaceId(
        client,  # type: ignore[arg-type]
        timeout_s=timeout_s,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
        clock=lambda: clock.now,
    )


def test_throttling_is_retried_with_capped_exponential_backoff() -> None:
    # GIVEN FaceID throttles five times, then answers
    client = ScriptedClient([throttled()] * 5 + [OK])
    sleeps: list[float] = []
    # WHEN a call is made (jitter pinned to its maximum)
    answer = gateway(client, sleeps, timeout_s=20.0).call(
        "ApplyWebVerificationToken", {}, trace_id="t", idempotent=False
    )
    # THEN it waited 0.5 s, doubling up to 4 s, between attempts (docs/architecture.md, FaceID client) and
    # returned the answer
    assert answer["RequestId"] == "rid-ok"
    assert client.calls == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_other_retried_failures_back_off_from_a_shorter_base() -> None:
    # GIVEN a read that FaceID answers with an internal error six times, then answers
    client = ScriptedClient([TencentCloudSDKException("InternalError", "boom", "rid")] * 6 + [OK])
    sleeps: list[float] = []
    # WHEN it is made (jitter pinned to its maximum)
    answer = gateway(client, sleeps, timeout_s=20.0).call("X", {}, trace_id="t", idempotent=True)
    # THEN it waited 0.2 s, doubling up to 2 s, between attempts (docs/architecture.md, FaceID client)
    assert answer["RequestId"] == "rid-ok"
    assert sleeps == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_backoff_never_sleeps_past_the_budget() -> None:
    client = ScriptedClient([throttled()])
    sleeps: list[float] = []
    with pytest.raises(UpstreamError) as raised:
        gateway(client, sleeps, timeout_s=2.0).call("X", {}, trace_id="t", idempotent=False)
    assert raised.value.code == "RequestLimitExceeded"
    assert raised.value.request_id == "rid-throttled"
    assert raised.value.attempts == client.calls > 1
    assert sum(sleeps) < 2.0


def test_a_back_off_that_ran_long_answers_with_what_the_last_attempt_met() -> None:
    # GIVEN FaceID cannot be reached, and a host so busy that each back-off sleeps 2 s past what was asked
    client = ScriptedClient([TencentCloudSDKException("ClientNetworkError", "connection refused")])
    sleeps: list[float] = []
    clock = FakeClock(sleeps)

    def long_sleep(seconds: float) -> None:
        clock.sleep(seconds + 2.0)

    faceid = FaceId(
        client,  # type: ignore[arg-type]
        timeout_s=1.0,
        sleep=long_sleep,
        jitter=lambda: 1.0,
        clock=lambda: clock.now,
    )
    # WHEN a call is made THEN the answer is the unreachable upstream it met (502), not a timeout (504)
    with pytest.raises(UpstreamError) as raised:
        faceid.call("X", {}, trace_id="t", idempotent=True)
    assert raised.value.code == "UpstreamUnavailable"
    assert client.calls == 1


def test_each_attempt_gets_the_remaining_budget_as_its_timeout() -> None:
    client = ScriptedClient([OK])
    gateway(client, [], timeout_s=5.0).call("X", {}, trace_id="t", idempotent=False)
    connect, read = client.request.conn.timeout
    assert connect <= 2.0
    assert 4.0 < read <= 5.0


@pytest.mark.parametrize(
    ("step", "code", "calls"),
    [
        (TencentCloudSDKException("InternalError", "boom", "rid"), "InternalError", 1),
        (TencentCloudSDKException("ServerNetworkError", b"<html>raw</html>"), "UpstreamUnavailable", 1),
        (TencentCloudSDKException("InvalidCredential", "secret key should not be none"), "UpstreamUnavailable", 1),
        (KeyError("Response"), "UpstreamUnavailable", 1),
        ({"Response": "not an object"}, "UpstreamUnavailable", 1),
        ({"Response": {"Error": {"Code": "InvalidParameterValue", "Message": "m"}, "RequestId": "r"}}, None, 1),
    ],
)
def test_non_idempotent_calls_do_not_retry_ambiguous_failures(step: Any, code: str | None, calls: int) -> None:
    client = ScriptedClient([step, OK])
    with pytest.raises(UpstreamError) as raised:
        gateway(client, []).call("X", {}, trace_id="t", idempotent=False)
    assert raised.value.code == (code or "InvalidParameterValue")
    assert client.calls == calls
    assert "raw" not in raised.value.message


def test_idempotent_reads_retry_internal_errors() -> None:
    client = ScriptedClient([TencentCloudSDKException("InternalError", "boom", "rid"), OK])
    assert gateway(client, []).call("X", {}, trace_id="t", idempotent=True)["RequestId"] == "rid-ok"
    assert client.calls == 2
