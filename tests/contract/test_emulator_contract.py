"""The emulator accepts exactly the official request fields and answers exactly the official response
fields (tests/contract/faceid_models.json, from the official SDK), for every action we use."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tencentcloud.common.common_client import CommonClient

from tests.conftest import COS_URL, REDIRECT_URL, VALID_MD5, Emulator
from tests.contract import sdk
from tests.local.test_emulator import sdk_client, sdk_error
from tests.local.test_emulator_outcomes import FULL_CONFIG, PHOTO

# A valid value for every request field of every action (a field the SDK adds must be added here).
SAMPLES: dict[str, Any] = {
    "RedirectURL": REDIRECT_URL,
    "CompareImageBase64": PHOTO,
    "Extra": "order-17",
    "RuleId": "1",
    "Config": FULL_CONFIG,
    "RedirectUrl": REDIRECT_URL,
    "CompareImageUrl": COS_URL,
    "CompareImageMd5": VALID_MD5,
    "TargetAction": "ApplyWebVerificationToken",
    "BizToken": None,  # a token the emulator issued: filled in per test
}
# A value of the wrong JSON type for each SDK type.
WRONG_TYPE = {"str": 12345, "int": "1", "bool": "true", "float": "high"}
RESULT_OF = {"GetWebVerificationResultIntl": "intl", "GetWebVerificationResult": "legacy"}


def start(client: CommonClient, flow: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    if flow == "intl":
        params = {"RedirectURL": REDIRECT_URL, "CompareImageBase64": PHOTO, "Config": config or {}}
        return dict(client.call_json("ApplyWebVerificationBizTokenIntl", params)["Response"])
    params = {"RedirectUrl": REDIRECT_URL, "CompareImageUrl": COS_URL, "CompareImageMd5": VALID_MD5}
    return dict(client.call_json("ApplyWebVerificationToken", params)["Response"])


def full_request(client: CommonClient, action: str) -> dict[str, Any]:
    """Every request field of the SDK model, each with a valid value."""
    name, models = sdk.model(action, "request")
    fields = models[name]
    assert set(fields) <= set(SAMPLES), f"no sample value for {set(fields) - set(SAMPLES)} of {name}"
    params = {field: SAMPLES[field] for field in fields}
    if "BizToken" in params:
        params["BizToken"] = start(client, RESULT_OF[action])["BizToken"]
    return params


def request_fields() -> list[tuple[str, str, str]]:
    """(action, dotted field path, SDK type) for every request field, Config's included."""
    out = []
    for action in sdk.actions():
        name, models = sdk.model(action, "request")
        for field, spec in models[name].items():
            out.append((action, field, spec["type"]))
            if spec["type"] in models:
                out += [(action, f"{field}.{sub}", s["type"]) for sub, s in models[spec["type"]].items()]
    return out


def with_field(params: dict[str, Any], path: str, value: Any, *, rename: str | None = None) -> dict[str, Any]:
    """A copy of params with the field at `path` set to value (or renamed)."""
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.items()}
    *parents, leaf = path.split(".")
    target = params
    for parent in parents:
        target = target[parent]
    if rename is not None:
        target[rename] = target.pop(leaf)
    else:
        target[leaf] = value
    return params


@pytest.mark.parametrize("action", sdk.actions())
def test_every_official_request_field_is_accepted(emulator: Emulator, action: str) -> None:
    client = sdk_client(emulator)
    params = full_request(client, action)
    answer = client.call_json(action, params)["Response"]
    assert "Error" not in answer
    assert emulator.calls[-1]["params"] == params


@pytest.mark.parametrize(("action", "path", "type_name"), request_fields(), ids=lambda v: str(v))
def test_a_misspelt_field_is_unknown_and_a_wrong_type_is_invalid(
    emulator: Emulator, action: str, path: str, type_name: str
) -> None:
    client = sdk_client(emulator)
    params = full_request(client, action)
    leaf = path.split(".")[-1]
    # GIVEN the field's name with its first letter's case flipped (casing is part of the name)
    misspelt = leaf[0].swapcase() + leaf[1:]
    assert sdk_error(client, action, with_field(params, path, None, rename=misspelt)) == "UnknownParameter"
    # AND a value of the wrong JSON type
    wrong = WRONG_TYPE.get(type_name, "not an object")
    assert sdk_error(client, action, with_field(params, path, wrong)) in ("InvalidParameter", "InvalidParameterValue")


@pytest.mark.parametrize("action", sdk.actions())
def test_a_field_the_sdk_does_not_have_is_unknown(emulator: Emulator, action: str) -> None:
    client = sdk_client(emulator)
    params = full_request(client, action)
    assert sdk_error(client, action, {**params, "Region": "ap-singapore"}) == "UnknownParameter"
    if "Config" in params:
        assert sdk_error(client, action, with_field(params, "Config.Theme", "dark")) == "UnknownParameter"


def check_answer(action: str, answer: dict[str, Any]) -> list[str]:
    """Every field of the answer is in the SDK's response model with its type, and every model field
    is present (null allowed), nested models included."""
    name, models = sdk.model(action, "response")
    return sdk.object_problems(answer, name, models, action) + sdk.missing_fields(answer, name, models, action)


def test_start_and_upload_answers_are_exactly_the_sdk_models(emulator: Emulator) -> None:
    client = sdk_client(emulator)
    for action in ("ApplyWebVerificationBizTokenIntl", "ApplyWebVerificationToken", "CreateUploadUrl"):
        answer = client.call_json(action, full_request(client, action))["Response"]
        assert check_answer(action, answer) == []


# The states a result can be read in: (flow, Config, what the person did on the page).
RESULT_STATES = [
    ("legacy", None, None),
    ("legacy", None, "open"),
    *[("legacy", None, o) for o in ("pass", "liveness", "compare", "faces", "left", "timeout", "unfinished")],
    ("intl", {}, None),
    ("intl", {}, "open"),
    *[("intl", {}, o) for o in ("pass", "liveness", "compare", "faces", "left", "timeout", "unfinished")],
    *[("intl", {"CheckMode": 1}, o) for o in ("pass", "document", "liveness", "compare", "faces")],
    *[("intl", {"CheckMode": 1, "IDCardType": "InternationalIDPassport"}, o) for o in ("pass", "document")],
    *[("intl", {"CheckMode": 4}, o) for o in ("pass", "document")],
    ("intl", {"CheckMode": 3}, "pass"),
]


@pytest.mark.parametrize(("flow", "config", "done"), RESULT_STATES, ids=lambda v: str(v))
def test_result_answers_are_exactly_the_sdk_models(
    emulator: Emulator, flow: str, config: dict[str, Any] | None, done: str | None
) -> None:
    client = sdk_client(emulator)
    session = start(client, flow, config)
    url = session.get("VerificationURL") or session["VerificationUrl"]
    if done == "open":
        assert requests.get(url, timeout=5).status_code == 200
    elif done is not None:
        assert requests.post(url, data={"outcome": done}, allow_redirects=False, timeout=5).status_code in (200, 302)
    action = "GetWebVerificationResultIntl" if flow == "intl" else "GetWebVerificationResult"
    answer = client.call_json(action, {"BizToken": session["BizToken"]})["Response"]
    assert check_answer(action, answer) == []
    if done in ("pass", "document") and config and config.get("CheckMode") in (1, 4):
        assert answer["OCRResult"]  # the document models were really exercised
