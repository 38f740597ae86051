"""Start-region failover in the FaceID client, with in-memory SDK clients per region and a fake clock: which
failures move a start on, the budget each region gets, the circuit breaker, and a pacer per region."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.adapters.tencent.faceid_client import FaceId
from faceid_fn.adapters.tencent.faceid_regions import BREAKER_COOLDOWN_S, RegionalClients, RegionBreaker
from faceid_fn.domain.errors import UpstreamError
from tests.unit.test_faceid_retry import OK, FakeClock, ScriptedClient, throttled
from tests.unit.test_pacing import ScriptedPacer

PRIMARY, SECOND, THIRD = "ap-singapore", "ap-jakarta", "ap-bangkok"


def server_error() -> TencentCloudSDKException:
    return TencentCloudSDKException("ServerNetworkError", b"<html>503</html>")


class Hangs:
    """A step of a scripted client: FaceID does not answer; the SDK's read times out after its timeout."""


class RegionClient(ScriptedClient):
    """A scripted SDK client of one region, on the fake clock: records the read timeout of each attempt."""

    def __init__(self, region: str, script: list[Any], clock: FakeClock) -> None:
        super().__init__(script)
        self.region = region
        self.clock = clock
        self.read_timeouts: list[float] = []
        self.credential = SimpleNamespace(get_credential_info=lambda: ("id", "key", None))

    def call_json(self, action: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        self.read_timeouts.append(self.request.conn.timeout[1])
        if isinstance(self.script[min(self.calls, len(self.script) - 1)], Hangs):
            self.calls += 1
            self.clock.now += self.request.conn.timeout[1]
            try:
                raise requests.exceptions.ReadTimeout()
            except requests.exceptions.ReadTimeout:
                raise TencentCloudSDKException("ClientNetworkError", "read timed out") from None
        return super().call_json(action, params, headers)


def client_with_regions(
    scripts: dict[str, list[Any]], *, timeout_s: float = 8.0, pacers: dict[str, Any] | None = None
) -> tuple[FaceId, dict[str, RegionClient], FakeClock]:
    clock = FakeClock([])
    clients = {region: RegionClient(region, script, clock) for region, script in scripts.items()}
    regions = RegionalClients(
        clients[PRIMARY],
        (pacers or {}).get(PRIMARY),
        failover_regions=tuple(r for r in scripts if r != PRIMARY),
        build_client=clients.__getitem__,
        build_pacer=lambda region: (pacers or {}).get(region),
    )
    faceid = FaceId(
        clients[PRIMARY],  # type: ignore[arg-type]
        timeout_s=timeout_s,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
        clock=lambda: clock.now,
        regions=regions,
        breaker=RegionBreaker(clock=lambda: clock.now),
    )
    return faceid, clients, clock


def start(faceid: FaceId) -> tuple[dict[str, Any], str]:
    return faceid.apply_web_verification_biz_token_intl(
        redirect_url="https://app.example.com/done", compare_image_base64=None, extra=None, config={}, trace_id="t"
    )


def test_a_region_that_fails_is_left_for_the_next_one() -> None:
    faceid, clients, _ = client_with_regions({PRIMARY: [server_error()], SECOND: [OK]})
    answer, region = start(faceid)
    assert (answer["RequestId"], region) == ("rid-ok", SECOND)
    assert (clients[PRIMARY].calls, clients[SECOND].calls) == (1, 1)


def test_a_hanging_region_leaves_the_next_one_time_within_the_same_budget() -> None:
    # GIVEN an 8 s budget, and FaceID not answering in the primary region
    faceid, clients, clock = client_with_regions({PRIMARY: [Hangs()], SECOND: [OK]})
    started = clock.now
    # WHEN a session is started THEN the primary was given 5 s, and the next region the 3 s left
    assert start(faceid)[1] == SECOND
    assert clients[PRIMARY].read_timeouts == [5.0]
    assert clients[SECOND].read_timeouts == [3.0]
    assert clock.now - started == 5.0


def test_with_three_regions_each_later_one_keeps_its_share() -> None:
    faceid, clients, _ = client_with_regions({PRIMARY: [Hangs()], SECOND: [Hangs()], THIRD: [OK]})
    assert start(faceid)[1] == THIRD
    # min(3 s, 8 s / 2 / 2) = 2 s kept for each region after the one being tried
    assert (clients[PRIMARY].read_timeouts, clients[SECOND].read_timeouts) == ([4.0], [2.0])
    assert clients[THIRD].read_timeouts == [2.0]


@pytest.mark.parametrize(
    "refusal",
    [
        TencentCloudSDKException("InvalidParameterValue", "bad", "rid"),
        TencentCloudSDKException("AuthFailure.SignatureFailure", "bad", "rid"),
        TencentCloudSDKException("InvalidParameterValue.RuleIdNotExist", "no rule", "rid"),
        TencentCloudSDKException("FailedOperation.ImageDecodeFailed", "bad photo", "rid"),
        throttled(),
        TencentCloudSDKException("FailedOperation.RequestLimitExceeded", "quota", "rid"),
    ],
)
def test_a_refusal_or_a_throttle_is_the_answer(refusal: TencentCloudSDKException) -> None:
    faceid, clients, _ = client_with_regions({PRIMARY: [refusal], SECOND: [OK]}, timeout_s=1.0)
    with pytest.raises(UpstreamError) as raised:
        start(faceid)
    assert raised.value.code == refusal.code
    assert clients[SECOND].calls == 0


def test_when_every_region_fails_the_last_error_is_raised() -> None:
    internal = TencentCloudSDKException("InternalError", "boom", "rid-last")
    faceid, _clients, _ = client_with_regions({PRIMARY: [server_error()], SECOND: [internal]})
    with pytest.raises(UpstreamError) as raised:
        start(faceid)
    assert (raised.value.code, raised.value.request_id, raised.value.status) == ("InternalError", "rid-last", 502)


def test_the_breaker_skips_a_failed_region_until_its_cooldown_has_passed() -> None:
    # GIVEN a start that the primary region failed
    faceid, clients, clock = client_with_regions({PRIMARY: [server_error(), OK], SECOND: [OK]})
    assert start(faceid)[1] == SECOND
    # WHEN the next starts come within the cooldown THEN they go straight to ap-jakarta
    clock.now += BREAKER_COOLDOWN_S - 1
    assert start(faceid)[1] == SECOND
    assert clients[PRIMARY].calls == 1
    # AND once it has passed, the primary is tried first again (and answers)
    clock.now += 2
    assert start(faceid)[1] == PRIMARY
    assert (clients[PRIMARY].calls, clients[SECOND].calls) == (2, 2)


def test_the_breaker_never_leaves_no_region_to_try() -> None:
    now = [0.0]
    breaker = RegionBreaker(cooldown_s=30, clock=lambda: now[0])
    breaker.failed(SECOND)
    now[0] = 10
    breaker.failed(PRIMARY)
    assert breaker.order((PRIMARY, SECOND, THIRD)) == (THIRD, SECOND, PRIMARY)  # open ones: soonest reopening first
    breaker.succeeded(PRIMARY)
    assert breaker.order((PRIMARY, SECOND, THIRD)) == (PRIMARY, THIRD, SECOND)
    now[0] = 31
    assert breaker.order((PRIMARY, SECOND, THIRD)) == (PRIMARY, SECOND, THIRD)


def test_each_region_has_its_own_pacer() -> None:
    # GIVEN a pacer per region, the primary failing, and ap-jakarta throttling once
    pacers = {PRIMARY: ScriptedPacer([]), SECOND: ScriptedPacer([0.5])}
    faceid, _clients, _ = client_with_regions({PRIMARY: [server_error()], SECOND: [throttled(), OK]}, pacers=pacers)
    # WHEN a session is started THEN ap-jakarta's pacer booked the retry; the primary's was not touched
    assert start(faceid)[1] == SECOND
    assert pacers[SECOND].engaged_actions == {"ApplyWebVerificationBizTokenIntl"}
    assert pacers[PRIMARY].engaged_actions == set()
    assert faceid.pacer_for(SECOND) is pacers[SECOND]
    assert faceid.pacer_for(PRIMARY) is pacers[PRIMARY]


def test_a_result_is_read_in_the_region_asked_for() -> None:
    faceid, clients, _ = client_with_regions({PRIMARY: [OK], SECOND: [OK]})
    faceid.get_result(result_action="GetWebVerificationResultIntl", biz_token="T", trace_id="t", region=SECOND)
    assert (clients[PRIMARY].calls, clients[SECOND].calls) == (0, 1)
