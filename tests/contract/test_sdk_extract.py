"""The checked-in extract is what tools/sdk_extract.py makes of the pinned official SDK release."""

from __future__ import annotations

import pytest

from tests.contract import sdk
from tools import sdk_extract


def test_the_pinned_sdk_still_agrees_with_the_extract() -> None:
    # GIVEN the wheel requirements-sdk.txt pins (make sdk-models downloads it, hash-checked)
    try:
        wheel = sdk_extract.pinned_wheel()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    # WHEN its FaceID models are extracted again
    fresh = sdk_extract.current_part(wheel)
    # THEN they are exactly the checked-in ones (a renamed or retyped field fails here, by name)
    stored = sdk.document()["current"]
    assert fresh["version"] == stored["version"] == sdk_extract.pinned_version()
    assert fresh["wheel_sha256"] == stored["wheel_sha256"]
    for name in sorted(set(fresh["models"]) | set(stored["models"])):
        assert fresh["models"].get(name) == stored["models"].get(name), name
    assert fresh == stored


def test_the_legacy_actions_come_from_the_last_release_that_had_them() -> None:
    legacy = sdk.document()["legacy"]
    assert legacy["version"] == sdk_extract.LEGACY_VERSION == "3.1.49"
    assert set(legacy["actions"]) == {"ApplyWebVerificationToken", "GetWebVerificationResult"}
    # and the current release no longer has them (dropped in 3.1.50), which is why they are frozen
    assert not set(legacy["actions"]) & set(sdk.document()["current"]["actions"])


def test_the_extract_parses_types_deprecation_and_nesting() -> None:
    models = sdk.document()["current"]["models"]
    answer = models["ApplyWebVerificationBizTokenIntlResponse"]
    assert answer["VerificationUrl"] == {"type": "str", "deprecated": True}
    assert answer["VerificationURL"] == {"type": "str"}
    assert models["ApplyWebVerificationBizTokenIntlRequest"]["Config"] == {"type": "WebVerificationConfigIntl"}
    assert len(models["WebVerificationConfigIntl"]) == 17
    assert models["GetWebVerificationResultIntlResponse"]["OCRResult"] == {"type": "list of OCRResult"}
    assert models["VerificationDetail"]["LivenessInfoTag"] == {"type": "list of str"}
    assert models["OCRResult"]["WarnCardInfos"] == {"type": "list of int"}


def test_the_checks_catch_a_misspelt_name_a_wrong_type_and_a_missing_field() -> None:
    from pydantic import BaseModel

    name, models = sdk.model("GetWebVerificationResultIntl", "response")
    answer = {field: None for field in models[name]}
    assert sdk.object_problems(answer, name, models, "r") == []
    assert sdk.missing_fields(answer, name, models, "r") == []
    detail = dict.fromkeys(models["VerificationDetail"], None)
    assert sdk.object_problems({**answer, "VerificationDetailList": [{**detail, "Similarty": 1.0}]}, name, models, "r")
    assert sdk.object_problems({**answer, "ErrorCode": "0"}, name, models, "r") == [
        "r.ErrorCode: str '0', the SDK has int"
    ]
    assert sdk.object_problems({**answer, "ErrorCode": True}, name, models, "r")  # a bool is not an int
    assert sdk.missing_fields({k: v for k, v in answer.items() if k != "OCRResult"}, name, models, "r") == [
        "r.OCRResult: missing (the SDK's GetWebVerificationResultIntlResponse has it)"
    ]

    class Ours(BaseModel):
        ErrorCode: int | None = None
        Errormsg: str | None = None

    problems, checked = sdk.pydantic_problems(Ours, name, models)
    assert (problems, checked) == (["Ours.Errormsg: not a field of the SDK's GetWebVerificationResultIntlResponse"], 2)
