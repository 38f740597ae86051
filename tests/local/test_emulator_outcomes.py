"""The emulator against Tencent's current contract: regions per action, the whole page Config, photo
errors, 3-day results, and every outcome the hosted page offers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from tencentcloud.common.common_client import CommonClient

from local.emulator import INTL_CONFIG_FIELDS, INTL_MAX_BASE64, RESULT_RETENTION_S
from local.sample_photo import png
from tests.conftest import REDIRECT_URL, Emulator
from tests.local.test_emulator import PARAMS, sdk_client, sdk_error

PHOTO = base64.b64encode(png()).decode()
INTL = "ApplyWebVerificationBizTokenIntl"
INTL_RESULT = "GetWebVerificationResultIntl"
# One documented value for each of WebVerificationConfigIntl's 17 fields.
FULL_CONFIG: dict[str, Any] = {
    "AutoSkipStartPage": True,
    "AutoSkip": False,
    "CheckMode": 1,
    "IDCardType": "HKIDCard",
    "DisableCheckOcrWarnings": False,
    "SecurityLevel": 2,
    "SkipPrivacyPolicy": False,
    "IdCardCutReturn": True,
    "ThemeColor": "#2d72f1",
    "Language": "zh-tc",
    "AutoDowngrade": 2,
    "ActionList": "blink,mouth",
    "LivenessRetryLimit": 3,
    "LivenessTimeout": 60,
    "SelectedWarningCodes": "-9101,-9102",
    "AllowExpiredDocument": False,
    "Version": "PLUS",
}


def intl_params(**overrides: Any) -> dict[str, Any]:
    return {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO, **overrides}


def start_intl(emulator: Emulator, config: dict[str, Any] | None = None, region: str = "ap-singapore") -> Any:
    params = intl_params(Config=config) if config is not None else intl_params()
    return sdk_client(emulator, region=region).call_json(INTL, params)["Response"]


def read(client: CommonClient, token: str, action: str = INTL_RESULT) -> dict[str, Any]:
    return dict(client.call_json(action, {"BizToken": token})["Response"])


def choose(url: str, outcome: str) -> requests.Response:
    return requests.post(url, data={"outcome": outcome}, allow_redirects=False, timeout=5)


def test_full_config_has_17_fields() -> None:
    assert set(FULL_CONFIG) == set(INTL_CONFIG_FIELDS)
    assert len(INTL_CONFIG_FIELDS) == 17


def test_intl_start_accepts_every_config_field_and_rule_id_and_returns_both_urls(emulator: Emulator) -> None:
    answer = sdk_client(emulator).call_json(INTL, intl_params(Config=FULL_CONFIG, RuleId="1", Extra="x"))["Response"]
    assert set(answer) == {"VerificationUrl", "BizToken", "VerificationURL", "RequestId"}
    assert answer["VerificationURL"] == answer["VerificationUrl"] == f"{emulator.url}/verify/{answer['BizToken']}"


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"CheckMode": 5}, "InvalidParameterValue"),  # 1-4 only
        ({"CheckMode": "1"}, "InvalidParameter"),  # wrong JSON type
        ({"AutoSkip": 1}, "InvalidParameter"),  # a number is not a bool
        ({"Language": "fr"}, "InvalidParameterValue"),
        ({"IDCardType": "LibraryCard"}, "InvalidParameterValue"),
        ({"LivenessRetryLimit": 100}, "InvalidParameterValue"),
        ({"LivenessTimeout": 601}, "InvalidParameterValue"),
        ({"AutoDowngrade": 3}, "InvalidParameterValue"),
        ({"Version": "GOLD"}, "InvalidParameterValue"),
        ({"ActionList": "blink"}, "InvalidParameterValue"),  # only with SecurityLevel 2 or 4
        ({"ActionList": "blink,mouth,nod", "SecurityLevel": 2}, "InvalidParameterValue"),
        ({"SelectedWarningCodes": "-1"}, "InvalidParameterValue"),
        ({"Checkmode": 1}, "UnknownParameter"),  # casing matters
        ({"IdCardType": "HKIDCard"}, "UnknownParameter"),  # the SDK spells it IDCardType
    ],
)
def test_config_values_are_checked(emulator: Emulator, config: dict[str, Any], code: str) -> None:
    assert sdk_error(sdk_client(emulator), INTL, intl_params(Config=config)) == code


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (intl_params(CompareImageBase64="A" * (INTL_MAX_BASE64 + 4)), "FailedOperation.ImageSizeTooLarge"),
        (intl_params(CompareImageBase64="not base64!"), "FailedOperation.ImageDecodeFailed"),
        (intl_params(CompareImageBase64=base64.b64encode(b"GIF89a....").decode()), "FailedOperation.ImageDecodeFailed"),
        (intl_params(RuleId=1), "InvalidParameter"),
        (intl_params(RedirectUrl=REDIRECT_URL), "UnknownParameter"),  # the Intl action spells it RedirectURL
        ({"CompareImageBase64": PHOTO}, "MissingParameter"),
    ],
)
def test_intl_parameters_are_checked(emulator: Emulator, params: dict[str, Any], code: str) -> None:
    assert sdk_error(sdk_client(emulator), INTL, params) == code


@pytest.mark.parametrize(
    ("action", "params", "allowed"),
    [
        (INTL, None, ("ap-singapore", "ap-jakarta", "ap-bangkok", "ap-hongkong", "sa-saopaulo")),
        ("ApplyWebVerificationToken", PARAMS, ("ap-singapore", "ap-jakarta")),
        (
            "CreateUploadUrl",
            {"TargetAction": "ApplyWebVerificationToken"},
            ("ap-bangkok", "ap-hongkong", "ap-singapore"),
        ),
    ],
)
def test_each_action_answers_only_in_its_regions(
    emulator: Emulator, action: str, params: dict[str, Any] | None, allowed: tuple[str, ...]
) -> None:
    regions = ("ap-singapore", "ap-jakarta", "ap-bangkok", "ap-hongkong", "sa-saopaulo", "ap-guangzhou")
    for region in regions:
        client = sdk_client(emulator, region=region)
        if region in allowed:
            assert "RequestId" in client.call_json(action, params or intl_params())["Response"], region
        else:
            assert sdk_error(client, action, params or intl_params()) == "UnsupportedRegion", region


@pytest.mark.parametrize("flow", ["legacy", "intl"])
def test_results_are_kept_three_days_then_biz_token_expired(emulator: Emulator, flow: str) -> None:
    # GIVEN a session the person passed
    client = sdk_client(emulator)
    if flow == "intl":
        answer, action = start_intl(emulator), INTL_RESULT
    else:
        answer, action = client.call_json("ApplyWebVerificationToken", PARAMS)["Response"], "GetWebVerificationResult"
    assert choose(answer["VerificationUrl"], "pass").status_code == 302
    # WHEN almost three days have passed (the control endpoint ages sessions; signatures are unaffected)
    aged = requests.post(
        f"{emulator.url}/__emulator__/config", json={"age_sessions_s": RESULT_RETENTION_S - 5}, timeout=5
    )
    assert aged.json() == {"ok": True}
    # THEN the result is still there
    assert read(client, answer["BizToken"], action)["ErrorCode"] == 0
    # AND past 259,200 s the result call answers BizTokenExpired
    emulator.state.age_sessions(10)
    assert sdk_error(client, action, {"BizToken": answer["BizToken"]}) == "InvalidParameterValue.BizTokenExpired"


def test_result_is_null_before_the_page_opens_17_while_open_and_15_after_the_token_expired(
    emulator: Emulator,
) -> None:
    answer = start_intl(emulator)
    client = sdk_client(emulator)
    assert read(client, answer["BizToken"])["ErrorCode"] is None
    assert requests.get(answer["VerificationURL"], timeout=5).status_code == 200
    assert (read(client, answer["BizToken"])["ErrorCode"], read(client, answer["BizToken"])["ErrorMsg"]) == (
        17,
        "Process not finished",
    )
    emulator.state.age_sessions(601)  # the intl token lives 10 minutes
    assert read(client, answer["BizToken"])["ErrorCode"] == 15
    assert requests.get(answer["VerificationURL"], timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("outcome", "code", "liveness", "compare", "tags"),
    [
        ("pass", 0, 0, 0, []),
        ("liveness", 1005, 1005, None, ["02"]),
        ("compare", 2016, 0, 2016, []),
        ("faces", 2012, 0, 2012, []),
        ("left", 1410, None, None, None),
        ("timeout", 1409, None, None, None),
    ],
)
def test_each_outcome_redirects_with_the_token_and_sets_the_result(
    emulator: Emulator, outcome: str, code: int, liveness: int | None, compare: int | None, tags: list[str] | None
) -> None:
    answer = start_intl(emulator)
    page = requests.get(answer["VerificationURL"], timeout=5).text
    assert f'id="{outcome}"' in page
    done = choose(answer["VerificationURL"], outcome)
    assert done.status_code == 302
    assert done.headers["Location"] == f"{REDIRECT_URL}?token={answer['BizToken']}"
    result = read(sdk_client(emulator), answer["BizToken"])
    assert result["ErrorCode"] == code
    assert result["OCRResult"] is None  # CheckMode 2 reads no document
    if tags is None:
        assert result["VerificationDetailList"] is None
    else:
        [detail] = result["VerificationDetailList"]
        assert (detail["LivenessErrorCode"], detail["CompareErrorCode"], detail["LivenessInfoTag"]) == (
            liveness,
            compare,
            tags,
        )
        assert (detail["Similarity"] is not None) == (code == 0)


def test_leave_unfinished_stays_on_the_page_and_the_person_can_come_back(emulator: Emulator) -> None:
    answer = start_intl(emulator)
    client = sdk_client(emulator)
    left = choose(answer["VerificationURL"], "unfinished")
    assert left.status_code == 200
    assert 'id="back"' in left.text
    assert f"?token={answer['BizToken']}" in left.text
    assert read(client, answer["BizToken"])["ErrorCode"] == 17
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    assert read(client, answer["BizToken"])["ErrorCode"] == 0
    assert choose(answer["VerificationURL"], "liveness").status_code == 302  # the first final choice wins
    assert read(client, answer["BizToken"])["ErrorCode"] == 0


def test_document_outcome_only_in_the_ocr_modes(emulator: Emulator) -> None:
    answer = start_intl(emulator)  # CheckMode 2 (default)
    assert 'id="document"' not in requests.get(answer["VerificationURL"], timeout=5).text
    assert choose(answer["VerificationURL"], "document").status_code == 400


@pytest.mark.parametrize("card", ["HKIDCard", "InternationalIDPassport"])
def test_check_mode_1_returns_the_document_read_with_synthetic_data(emulator: Emulator, card: str) -> None:
    answer = start_intl(emulator, {"CheckMode": 1, "IDCardType": card})
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    result = read(sdk_client(emulator), answer["BizToken"])
    [ocr] = result["OCRResult"]
    assert ocr["IsPass"] is True
    assert ocr["WarnCardInfos"] == []
    names = {"HKIDCard": "EnName", "InternationalIDPassport": "FullName"}
    assert ocr["CardInfo"][card][names[card]] == "TEST PERSON"
    assert ocr["NormalCardInfo"][card]["FullName"] == "TEST PERSON"
    assert result["VerificationDetailList"][0]["ErrorCode"] == 0


def test_document_failed_in_check_mode_1(emulator: Emulator) -> None:
    answer = start_intl(emulator, {"CheckMode": 1})
    assert 'id="document"' in requests.get(answer["VerificationURL"], timeout=5).text
    assert choose(answer["VerificationURL"], "document").status_code == 302
    result = read(sdk_client(emulator), answer["BizToken"])
    assert result["ErrorCode"] == -9102
    [ocr] = result["OCRResult"]
    assert (ocr["IsPass"], ocr["WarnCardInfos"]) == (False, [-9102])


def test_check_mode_4_reads_the_document_only(emulator: Emulator) -> None:
    answer = start_intl(emulator, {"CheckMode": 4})
    page = requests.get(answer["VerificationURL"], timeout=5).text
    assert 'id="liveness"' not in page
    assert 'id="document"' in page
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    result = read(sdk_client(emulator), answer["BizToken"])
    assert result["ErrorCode"] == 0
    assert result["VerificationDetailList"] is None
    [ocr] = result["OCRResult"]
    assert ocr["CardInfo"] is None
    assert "TEST PERSON" in ocr["OriginalCardInfo"]


def test_check_mode_3_compares_nothing(emulator: Emulator) -> None:
    answer = start_intl(emulator, {"CheckMode": 3})
    assert 'id="compare"' not in requests.get(answer["VerificationURL"], timeout=5).text
    assert choose(answer["VerificationURL"], "pass").status_code == 302
    [detail] = read(sdk_client(emulator), answer["BizToken"])["VerificationDetailList"]
    assert (detail["LivenessErrorCode"], detail["CompareErrorCode"], detail["Similarity"]) == (0, None, None)


def test_legacy_details_have_no_liveness_info_tag(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    answer = client.call_json("ApplyWebVerificationToken", PARAMS)["Response"]
    assert choose(answer["VerificationUrl"], "liveness").status_code == 302
    [detail] = read(client, answer["BizToken"], "GetWebVerificationResult")["VerificationDetailList"]
    assert "LivenessInfoTag" not in detail
    assert detail["LivenessErrorCode"] == 1005


def test_the_page_looks_like_a_verification_step(emulator: Emulator) -> None:
    answer = start_intl(emulator, {"CheckMode": 1})
    page = requests.get(answer["VerificationURL"], timeout=5)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    for marker in ("<title>Verify your identity", 'class="camera"', 'id="biz-token"'):
        assert marker in page.text
    for outcome in ("pass", "liveness", "compare", "faces", "document", "left", "timeout", "unfinished"):
        assert f'id="{outcome}"' in page.text
    assert 'id="fail"' not in page.text  # the older test hook is accepted, not offered


def test_a_shorter_intl_token_life_expires_the_token_sooner(emulator: Emulator) -> None:
    # GIVEN the emulator's intl tokens set to live 30 s (the soak's quick form moves FaceID's clock so)
    requests.post(f"{emulator.url}/__emulator__/config", json={"intl_token_ttl_s": 30}, timeout=5)
    token = start_intl(emulator)["BizToken"]
    client = sdk_client(emulator)
    # WHEN it is read before and after those 30 s
    before = read(client, token)["ErrorCode"]
    emulator.state.age_sessions(31)
    after = read(client, token)["ErrorCode"]
    # THEN it is not finished, then expired (15), and a token life of 0 is refused
    assert (before, after) == (None, 15)
    refused = requests.post(f"{emulator.url}/__emulator__/config", json={"intl_token_ttl_s": 0}, timeout=5)
    assert refused.status_code == 400
