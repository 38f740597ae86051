"""The emulator fails a whole region on demand (so that a function's failover can be tested), keeps each
session in the region that started it, and answers each documented throttling code."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from local.emulator import THROTTLING_CODES
from tests.conftest import REDIRECT_URL, Emulator
from tests.local.test_emulator import PARAMS, sdk_client, sdk_error
from tests.local.test_emulator_outcomes import INTL, INTL_RESULT, PHOTO, choose, read

START = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO}
UNKNOWN_TOKEN = "InvalidParameterValue.BizTokenIllegal"


def control(emulator: Emulator, command: str, options: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emulator.url}/__emulator__/{command}", json=options, timeout=5)


def sdk_failure(client: Any, action: str = INTL, params: Any = START) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as raised:
        client.call_json(action, params)
    return raised.value


def test_a_failed_region_answers_5xx_to_every_call_until_restored(emulator: Emulator) -> None:
    # GIVEN ap-singapore failed (HTTP 503 to every call signed for it)
    assert control(emulator, "regions", {"region": "ap-singapore", "failure": "http"}).json() == {"ok": True}
    primary, secondary = sdk_client(emulator, region="ap-singapore"), sdk_client(emulator, region="ap-jakarta")
    # THEN every call there fails as a server error, whatever the action
    for action, params in ((INTL, START), (INTL_RESULT, {"BizToken": "X"}), ("ApplyWebVerificationToken", PARAMS)):
        assert sdk_failure(primary, action, params).code == "ServerNetworkError"
    # AND ap-jakarta starts sessions as usual
    assert "BizToken" in secondary.call_json(INTL, START)["Response"]
    # AND the calls say which region failed
    assert [c["outcome"] for c in emulator.calls if c["region"] == "ap-singapore"] == ["region-down:http"] * 3
    # WHEN the region is restored THEN it answers again
    assert control(emulator, "regions", {"region": "ap-singapore", "failure": None}).json() == {"ok": True}
    assert "BizToken" in primary.call_json(INTL, START)["Response"]


def test_a_failed_region_can_answer_internal_error(emulator: Emulator) -> None:
    control(emulator, "regions", {"region": "ap-bangkok", "failure": "internal"}).raise_for_status()
    client = sdk_client(emulator, region="ap-bangkok")
    for _ in range(3):  # every call, not a count of them
        assert sdk_error(client, INTL, START) == "InternalError"


@pytest.mark.parametrize("failure", ["timeout", "reset"])
def test_a_failed_region_can_hang_or_drop_the_connection(emulator: Emulator, failure: str) -> None:
    options = {"region": "ap-singapore", "failure": failure, "latency_ms": 20_000}
    control(emulator, "regions", options).raise_for_status()
    client = sdk_client(emulator, region="ap-singapore", timeout_s=1)
    assert sdk_failure(client).code == "ClientNetworkError"  # a timeout, or a connection reset
    assert "BizToken" in sdk_client(emulator, region="ap-hongkong").call_json(INTL, START)["Response"]
    emulator.state.restore_region("ap-singapore")  # a hanging call ends with it
    assert "BizToken" in sdk_client(emulator, region="ap-singapore").call_json(INTL, START)["Response"]


@pytest.mark.parametrize(
    "options",
    [
        {"region": "ap-singapore", "failure": "flaky"},
        {"region": "eu-frankfurt", "failure": "http"},
        {"region": "ap-singapore", "failure": "http", "http_status": 404},
        {"failure": "http"},
    ],
)
def test_a_region_failure_must_be_one_the_emulator_knows(emulator: Emulator, options: dict[str, Any]) -> None:
    assert control(emulator, "regions", options).status_code == 400
    assert emulator.state.failed_regions == {}


def test_a_session_is_read_in_the_region_that_started_it(emulator: Emulator) -> None:
    # GIVEN the primary region down and a session started in the next one (what a failover does)
    control(emulator, "regions", {"region": "ap-singapore", "failure": "http"}).raise_for_status()
    secondary = sdk_client(emulator, region="ap-jakarta")
    answer = secondary.call_json(INTL, START)["Response"]
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    # THEN its result is read there
    assert read(secondary, answer["BizToken"])["ErrorCode"] == 0
    # AND another region, even once restored, does not know the BizToken (regions share no sessions)
    emulator.state.restore_region("ap-singapore")
    for region in ("ap-singapore", "ap-bangkok"):
        client = sdk_client(emulator, region=region)
        assert sdk_error(client, INTL_RESULT, {"BizToken": answer["BizToken"]}) == UNKNOWN_TOKEN


def test_an_injected_fault_can_target_one_region(emulator: Emulator) -> None:
    emulator.fault(code="InternalError", region="ap-jakarta", count=1)
    assert "BizToken" in sdk_client(emulator, region="ap-singapore").call_json(INTL, START)["Response"]
    assert sdk_error(sdk_client(emulator, region="ap-jakarta"), INTL, START) == "InternalError"
    assert "BizToken" in sdk_client(emulator, region="ap-jakarta").call_json(INTL, START)["Response"]


# Every throttling code FaceID documents: the API 3.0 common codes and FaceID's own.
DOCUMENTED_THROTTLING = [
    "RequestLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "FailedOperation.RequestLimitExceeded",
]


@pytest.mark.parametrize("code", DOCUMENTED_THROTTLING)
def test_each_throttling_code_can_be_injected_with_its_documented_message(emulator: Emulator, code: str) -> None:
    assert control(emulator, "faults", {"code": code, "action": INTL}).json() == {"ok": True}
    raised = sdk_failure(sdk_client(emulator))
    assert (raised.code, raised.message) == (code, THROTTLING_CODES[code])
    assert raised.requestId


@pytest.mark.parametrize("code", DOCUMENTED_THROTTLING[1:])  # RequestLimitExceeded: test_emulator.py
def test_the_rate_window_answers_the_chosen_throttling_code(emulator: Emulator, code: str) -> None:
    # GIVEN one request a second allowed, answered past that with `code`, and the window's clock frozen
    emulator.state.monotonic = lambda: 1000.0
    control(emulator, "config", {"rate_limit": 1, "rate_limit_code": code}).raise_for_status()
    client = sdk_client(emulator)
    assert "BizToken" in client.call_json(INTL, START)["Response"]
    assert sdk_error(client, INTL, START) == code


def test_an_unknown_throttling_code_is_refused(emulator: Emulator) -> None:
    assert control(emulator, "config", {"rate_limit_code": "TooManyRequests"}).status_code == 400
    assert emulator.state.rate_limit_code == "RequestLimitExceeded"
