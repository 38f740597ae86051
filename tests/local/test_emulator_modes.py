"""The emulator plays each CheckMode (document and selfie for 1, selfie and the app's photo for 2, selfie
only for 3, document only for 4), knows the console's processes (RuleId), labels its outcomes with
Tencent's current codes and keeps the documented photo limit."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from local.emulator import INTL_MAX_BASE64
from local.sample_photo import png
from tests.conftest import REDIRECT_URL, Emulator, free_port
from tests.local.test_emulator import sdk_client, sdk_error
from tests.local.test_emulator_outcomes import INTL, PHOTO, choose, read

RULE_ID_NOT_EXIST = "InvalidParameterValue.RuleIdNotExist"


def start(emulator: Emulator, config: dict[str, Any] | None, *, photo: bool, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"RedirectURL": REDIRECT_URL, **params}
    if config is not None:
        body["Config"] = config
    if photo:
        body["CompareImageBase64"] = PHOTO
    return dict(sdk_client(emulator).call_json(INTL, body)["Response"])


# (Config, photo sent, the steps the page plays, what the selfie is compared with)
MODES = [
    ({"CheckMode": 1}, False, ["step-document", "step-selfie", "step-compare"], "the photo on your document"),
    ({"CheckMode": 2}, True, ["step-selfie", "step-compare"], "the reference photo the app sent"),
    (None, True, ["step-selfie", "step-compare"], "the reference photo the app sent"),  # 2 is the default
    ({"CheckMode": 3}, False, ["step-selfie"], None),
    ({"CheckMode": 4}, False, ["step-document"], None),
]


@pytest.mark.parametrize(("config", "photo", "steps", "compared"), MODES, ids=lambda v: str(v))
def test_each_check_mode_plays_its_steps_and_finishes(
    emulator: Emulator, config: dict[str, Any] | None, photo: bool, steps: list[str], compared: str | None
) -> None:
    # GIVEN a start with the photo only where the mode compares with it (none in 1, 3 and 4)
    answer = start(emulator, config, photo=photo)
    # THEN the page plays the mode's steps
    page = requests.get(answer["VerificationURL"], timeout=5).text
    shown = [step for step in ("step-document", "step-selfie", "step-compare") if f'id="{step}"' in page]
    assert shown == steps
    if compared:
        assert f"your face is compared with {compared}" in page
    assert 'id="photo-unused"' not in page
    # AND a person who passes is read as usual, with the document in the OCR modes
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    result = read(sdk_client(emulator), answer["BizToken"])
    assert result["ErrorCode"] == 0
    assert (result["OCRResult"] is not None) == ("step-document" in steps)


@pytest.mark.parametrize("config", [{"CheckMode": 2}, None, {"CheckMode": None}])
def test_check_mode_2_needs_the_photo_it_compares_with(emulator: Emulator, config: dict[str, Any] | None) -> None:
    params: dict[str, Any] = {"RedirectURL": REDIRECT_URL}
    if config is not None:
        params["Config"] = config
    assert sdk_error(sdk_client(emulator), INTL, params) == "MissingParameter"


@pytest.mark.parametrize("mode", [1, 3])
def test_a_photo_sent_in_a_mode_without_comparison_photo_is_accepted_and_not_used(
    emulator: Emulator, mode: int
) -> None:
    answer = start(emulator, {"CheckMode": mode}, photo=True)
    page = requests.get(answer["VerificationURL"], timeout=5).text
    assert 'id="photo-unused"' in page
    assert "the reference photo the app sent" not in page
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    [detail] = read(sdk_client(emulator), answer["BizToken"])["VerificationDetailList"]
    assert detail["CompareErrorCode"] == (0 if mode == 1 else None)  # 1 compares with the document


def test_the_configured_rule_id_is_known_and_another_one_does_not_exist(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    params = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO}
    assert "BizToken" in client.call_json(INTL, {**params, "RuleId": "1"})["Response"]  # the default rule
    assert sdk_error(client, INTL, {**params, "RuleId": "2"}) == RULE_ID_NOT_EXIST
    assert sdk_error(client, INTL, {**params, "RuleId": ""}) == RULE_ID_NOT_EXIST


def test_the_control_endpoint_sets_the_console_rules(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    params = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO}
    configured = requests.post(f"{emulator.url}/__emulator__/config", json={"rule_ids": ["kyc-hk"]}, timeout=5)
    assert configured.json() == {"ok": True}
    answer = client.call_json(INTL, {**params, "RuleId": "kyc-hk"})["Response"]
    assert "RuleId kyc-hk" in requests.get(answer["VerificationURL"], timeout=5).text
    assert sdk_error(client, INTL, {**params, "RuleId": "1"}) == RULE_ID_NOT_EXIST
    emulator.state.reset()  # back to the rules it started with
    assert "BizToken" in client.call_json(INTL, {**params, "RuleId": "1"})["Response"]


def test_the_command_line_names_the_console_rules() -> None:
    port = free_port()
    command = [sys.executable, "-m", "local.emulator", "--port", str(port), "--rule-id", "7", "--rule-id", "8"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{url}/__emulator__/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        client = sdk_client(url)
        params = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO}
        for rule in ("7", "8"):
            assert "BizToken" in client.call_json(INTL, {**params, "RuleId": rule})["Response"]
        assert sdk_error(client, INTL, {**params, "RuleId": "1"}) == RULE_ID_NOT_EXIST
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("outcome", "label", "code", "message"),
    [
        ("compare", "Not the same person", 2016, "The similarity did not reach the passing standard"),
        ("faces", "Multiple faces", 2012, "Multiple faces detected"),
    ],
)
def test_comparison_outcomes_carry_tencents_current_codes_and_labels(
    emulator: Emulator, outcome: str, label: str, code: int, message: str
) -> None:
    answer = start(emulator, {"CheckMode": 1}, photo=False)
    page = requests.get(answer["VerificationURL"], timeout=5).text
    assert f"{label}<small>ErrorCode {code}</small>" in page
    assert choose(answer["VerificationURL"], outcome).status_code == 302
    result = read(sdk_client(emulator), answer["BizToken"])
    assert (result["ErrorCode"], result["ErrorMsg"]) == (code, message)
    [detail] = result["VerificationDetailList"]
    assert (detail["CompareErrorCode"], detail["CompareErrorMsg"]) == (code, message)
    # AND a mode that compares nothing does not offer it
    liveness_only = start(emulator, {"CheckMode": 3}, photo=False)
    assert f'id="{outcome}"' not in requests.get(liveness_only["VerificationURL"], timeout=5).text
    assert choose(liveness_only["VerificationURL"], outcome).status_code == 400


def _photo_of(chars: int) -> str:
    """A PNG padded with zero bytes to exactly `chars` characters of base64."""
    assert chars % 4 == 0
    image = png()
    return base64.b64encode(image + bytes(chars // 4 * 3 - len(image))).decode()


def test_the_photo_limit_is_8_000_000_characters_of_base64(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    assert INTL_MAX_BASE64 == 8_000_000  # "max 8 MB": the figure the function keeps to as well
    at_limit = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": _photo_of(INTL_MAX_BASE64)}
    assert "BizToken" in client.call_json(INTL, at_limit)["Response"]
    over = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": _photo_of(INTL_MAX_BASE64 + 4)}
    assert sdk_error(client, INTL, over) == "FailedOperation.ImageSizeTooLarge"
