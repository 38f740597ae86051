"""The FaceID emulator over real HTTP on 127.0.0.1, driven by the official SDK and by raw requests."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
import requests
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from local import tc3
from local.emulator import LOCAL_SECRET_ID, LOCAL_SECRET_KEY
from tests.aws import md5
from tests.conftest import COS_URL, REDIRECT_URL, VALID_MD5, Emulator

PARAMS = {"RedirectUrl": REDIRECT_URL, "CompareImageUrl": COS_URL, "CompareImageMd5": VALID_MD5}


def sdk_client(
    emulator: Emulator | str,
    secret_id: str = LOCAL_SECRET_ID,
    secret_key: str = LOCAL_SECRET_KEY,
    region: str = "ap-singapore",
    version: str = "2018-03-01",
    timeout_s: int = 5,
) -> CommonClient:
    """The official SDK's client for the emulator (its handle or its base URL)."""
    endpoint = (emulator if isinstance(emulator, str) else emulator.url).removeprefix("http://")
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=timeout_s))
    return CommonClient("faceid", version, Credential(secret_id, secret_key), region, profile=profile)


def sdk_error(client: CommonClient, action: str = "ApplyWebVerificationToken", params: Any = None) -> str:
    with pytest.raises(TencentCloudSDKException) as raised:
        client.call_json(action, PARAMS if params is None else params)
    assert raised.value.requestId  # every API error carries a RequestId
    return str(raised.value.code)


def signed_request(emulator: Emulator, body: bytes, *, sign_body: bytes | None = None) -> dict[str, Any]:
    """A request signed by the emulator's own signer (independent of the SDK), optionally tampered."""
    timestamp = int(time.time())
    host = emulator.url.removeprefix("http://")
    headers = {"content-type": "application/json", "host": host}
    signature = tc3.signature(
        secret_key=LOCAL_SECRET_KEY,
        service="faceid",
        timestamp=timestamp,
        method="POST",
        path="/",
        query="",
        headers=headers,
        signed_headers=("content-type", "host"),
        payload_hash=hashlib.sha256(sign_body if sign_body is not None else body).hexdigest(),
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    headers |= {
        "Authorization": f"TC3-HMAC-SHA256 Credential={LOCAL_SECRET_ID}/{date}/faceid/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}",
        "X-TC-Action": "ApplyWebVerificationToken",
        "X-TC-Version": "2018-03-01",
        "X-TC-Region": "ap-singapore",
        "X-TC-Timestamp": str(timestamp),
    }
    answer = requests.post(emulator.url + "/", data=body, headers=headers, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    return answer.json()["Response"]


def test_sdk_signed_request_is_accepted_and_answered(emulator: Emulator) -> None:
    answer = sdk_client(emulator).call_json("ApplyWebVerificationToken", PARAMS)["Response"]
    assert set(answer) == {"BizToken", "VerificationUrl", "RequestId"}
    assert answer["VerificationUrl"] == f"{emulator.url}/verify/{answer['BizToken']}"
    assert emulator.calls[-1]["outcome"] == "ok"


def test_independently_signed_request_is_accepted(emulator: Emulator) -> None:
    assert "BizToken" in signed_request(emulator, json.dumps(PARAMS).encode())


def test_tampered_body_is_rejected(emulator: Emulator) -> None:
    signed = json.dumps(PARAMS).encode()
    tampered = json.dumps({**PARAMS, "RedirectUrl": "https://evil.example.com/"}).encode()
    answer = signed_request(emulator, tampered, sign_body=signed)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_wrong_secret_key_is_rejected(emulator: Emulator) -> None:
    assert sdk_error(sdk_client(emulator, secret_key="WrongSecretKeyForTestsOnly0000000000")) == (
        "AuthFailure.SignatureFailure"
    )


def test_unknown_secret_id_is_rejected(emulator: Emulator) -> None:
    assert sdk_error(sdk_client(emulator, secret_id="AKIDnobody")) == "AuthFailure.SecretIdNotFound"


def test_clock_skew_over_300_seconds_is_rejected(emulator: Emulator) -> None:
    emulator.state.clock_offset_s = 301
    assert sdk_error(sdk_client(emulator)) == "AuthFailure.SignatureExpire"
    emulator.state.clock_offset_s = 290
    assert "BizToken" in sdk_client(emulator).call_json("ApplyWebVerificationToken", PARAMS)["Response"]


def test_missing_authorization_is_rejected(emulator: Emulator) -> None:
    answer = requests.post(emulator.url + "/", json=PARAMS, headers={"X-TC-Action": "X"}, timeout=5).json()
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_version_action_and_region_are_checked(emulator: Emulator) -> None:
    assert sdk_error(sdk_client(emulator, version="2017-01-01")) == "NoSuchVersion"
    assert sdk_error(sdk_client(emulator), action="DescribeInstances") == "InvalidAction"
    assert sdk_error(sdk_client(emulator, region="ap-guangzhou")) == "UnsupportedRegion"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({k: v for k, v in PARAMS.items() if k != "CompareImageMd5"}, "MissingParameter"),
        ({**PARAMS, "Extra": "x"}, "UnknownParameter"),
        ({**PARAMS, "CompareImageMd5": "not-md5"}, "InvalidParameterValue"),
        ({**PARAMS, "CompareImageUrl": "ftp://x/y"}, "InvalidParameterValue"),
        ({**PARAMS, "RedirectUrl": 5}, "InvalidParameter"),  # a wrong JSON type
        ({**PARAMS, "RedirectUrl": ""}, "InvalidParameterValue"),
    ],
)
def test_parameters_are_checked(emulator: Emulator, params: dict[str, Any], code: str) -> None:
    assert sdk_error(sdk_client(emulator), params=params) == code


def test_more_than_20_requests_per_second_are_throttled(emulator: Emulator) -> None:
    # GIVEN the emulator's rate window frozen at one instant
    now = [1000.0]
    emulator.state.monotonic = lambda: now[0]
    client = sdk_client(emulator)

    def burst(n: int) -> list[str]:
        codes = []
        for _ in range(n):
            try:
                client.call_json("ApplyWebVerificationToken", PARAMS)
                codes.append("ok")
            except TencentCloudSDKException as exc:
                codes.append(str(exc.code))
        return codes

    # WHEN 25 requests arrive within the same second THEN the 21st and later are throttled
    assert burst(25) == ["ok"] * 20 + ["RequestLimitExceeded"] * 5
    # AND a second later requests pass again
    now[0] += 1.0
    assert burst(1) == ["ok"]


def test_injected_error_applies_to_the_next_n_calls_only(emulator: Emulator) -> None:
    emulator.fault(code="InternalError", message="injected", count=2)
    client = sdk_client(emulator)
    assert sdk_error(client) == "InternalError"
    assert sdk_error(client) == "InternalError"
    assert "BizToken" in client.call_json("ApplyWebVerificationToken", PARAMS)["Response"]


def test_injected_latency_and_control_endpoint(emulator: Emulator) -> None:
    fault = {"latency_ms": 300, "count": 1}
    assert requests.post(f"{emulator.url}/__emulator__/faults", json=fault, timeout=5).json() == {"ok": True}
    started = time.monotonic()
    sdk_client(emulator).call_json("ApplyWebVerificationToken", PARAMS)
    assert time.monotonic() - started >= 0.3


def test_verification_page_redirects_with_the_token(emulator: Emulator) -> None:
    answer = sdk_client(emulator).call_json("ApplyWebVerificationToken", PARAMS)["Response"]
    page = requests.get(answer["VerificationUrl"], timeout=5)
    assert page.status_code == 200
    assert 'value="pass"' in page.text
    done = requests.post(answer["VerificationUrl"], data={"outcome": "pass"}, allow_redirects=False, timeout=5)
    assert done.status_code == 302
    assert done.headers["Location"] == f"{REDIRECT_URL}?token={answer['BizToken']}"
    assert emulator.state.sessions[answer["BizToken"]].outcome == "pass"


def test_unknown_verification_page_is_404(emulator: Emulator) -> None:
    assert requests.get(f"{emulator.url}/verify/NOPE", timeout=5).status_code == 404


def upload_slot(emulator: Emulator) -> dict[str, Any]:
    return dict(
        sdk_client(emulator).call_json("CreateUploadUrl", {"TargetAction": "ApplyWebVerificationToken"})["Response"]
    )


def test_create_upload_url_accepts_a_put_and_checks_the_md5_on_apply(emulator: Emulator) -> None:
    # GIVEN an upload slot, and a photo PUT to it exactly as FaceID's clients do (plain PUT, no headers)
    slot = upload_slot(emulator)
    assert slot["ExpiredTimestamp"] >= int(time.time()) + 7100
    photo = b"\x89PNG\r\n\x1a\n" + b"pixels"
    assert requests.put(slot["UploadUrl"], data=photo, timeout=5).status_code == 200
    client = sdk_client(emulator)
    params = {**PARAMS, "CompareImageUrl": slot["ResourceUrl"], "CompareImageMd5": md5(photo)}
    # WHEN a session is started with the ResourceUrl THEN the MD5 of the uploaded bytes is accepted
    assert "BizToken" in client.call_json("ApplyWebVerificationToken", params)["Response"]
    # AND a different MD5 is rejected as the real service does
    assert sdk_error(client, params={**params, "CompareImageMd5": "0" * 32}) == "InvalidParameterValue"


def test_resource_that_was_never_uploaded_is_rejected(emulator: Emulator) -> None:
    slot = upload_slot(emulator)
    params = {**PARAMS, "CompareImageUrl": slot["ResourceUrl"]}
    assert sdk_error(sdk_client(emulator), params=params) == "InvalidParameterValue"


def test_upload_needs_the_url_signature(emulator: Emulator) -> None:
    slot = upload_slot(emulator)
    tampered = slot["UploadUrl"].replace("q-signature=", "q-signature=0")
    assert requests.put(tampered, data=b"x", timeout=5).status_code == 403
    unsigned = slot["UploadUrl"].split("?")[0]
    assert requests.put(unsigned, data=b"x", timeout=5).status_code == 403


def test_create_upload_url_checks_its_parameter(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    assert sdk_error(client, action="CreateUploadUrl", params={}) == "MissingParameter"
    assert sdk_error(client, action="CreateUploadUrl", params={"TargetAction": "Nope"}) == "InvalidParameterValue"


def test_sessions_listing_and_calls_name_each_session_and_the_fault_a_call_met(emulator: Emulator) -> None:
    # GIVEN a session started after a slowed call, one finished and one never opened
    emulator.fault(latency_ms=1, count=1)
    client = sdk_client(emulator)
    slowed = client.call_json("ApplyWebVerificationToken", PARAMS)["Response"]["BizToken"]
    untouched = client.call_json("ApplyWebVerificationToken", PARAMS)["Response"]["BizToken"]
    requests.post(f"{emulator.url}/verify/{slowed}", data={"outcome": "left"}, allow_redirects=False, timeout=5)
    # WHEN the control endpoints are asked
    listing = requests.get(f"{emulator.url}/__emulator__/sessions", timeout=5).json()
    calls = requests.get(f"{emulator.url}/__emulator__/calls", timeout=5).json()
    # THEN every session is listed with the ErrorCode a result read would answer now
    codes = {s["BizToken"]: (s["Outcome"], s["ErrorCode"]) for s in listing}
    assert codes == {slowed: ("left", 1410), untouched: (None, None)}
    # AND each start names the BizToken it answered, and the slowed one its fault
    assert [(c["biz_token"], c.get("fault")) for c in calls] == [
        (slowed, {"code": None, "latency_ms": 1, "reset": False}),
        (untouched, None),
    ]
    # AND a token past its lifetime reads 15 (expired) there too
    requests.post(f"{emulator.url}/__emulator__/config", json={"age_sessions_s": 7201}, timeout=5)
    listing = requests.get(f"{emulator.url}/__emulator__/sessions", timeout=5).json()
    assert {s["BizToken"]: s["ErrorCode"] for s in listing} == {slowed: 1410, untouched: 15}
