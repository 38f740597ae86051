"""The function sends only official request fields and reads only official response fields.

What it sends is collected by running it (handler -> SDK -> the emulator, which records every call's
parameters) through each FaceID action it uses; what it reads is its pydantic result models. Both are
checked against the official SDK's models (tests/contract/faceid_models.json) by exact name, casing and
JSON type. This does not lean on the emulator's own checks: the extract is the reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local.sample_photo import png
from tests.aws import COS_BUCKET, UPLOAD_BUCKET, cos_put, md5, s3_record
from tests.conftest import Emulator, LambdaContext, Response, http_event
from tests.contract import sdk
from tests.local.test_emulator_outcomes import FULL_CONFIG

pytestmark = pytest.mark.usefixtures("aws")

Invoke = Callable[[dict[str, Any]], Response]
PHOTO_KEY = "reference/contract.png"
# Fields of our result that are ours, not FaceID's.
OWN_RESULT_FIELDS = frozenset({"BizToken", "Status"})


def intl_config_fields() -> dict[str, Any]:
    """The function's page Config model (faceid_fn.domain.page_config.IntlConfig) and its fields."""
    from faceid_fn.domain.page_config import IntlConfig

    return dict(IntlConfig.model_fields)


def run_every_action(
    configure: Callable[..., None], invoke: Invoke, cos_server: str, lambda_context: LambdaContext
) -> None:
    """Drive the function through each FaceID action it can call, with every option it can send."""
    import boto3

    import handler

    photo = png(seed=7)
    cos_put(cos_server, PHOTO_KEY, photo)
    url = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
    body: dict[str, Any] = {"CompareImageUrl": url, "CompareImageMd5": md5(photo), "Extra": "order-17"}
    # intl: start with every Config field the function knows (documented values) and a console process,
    # then read the result; CheckMode 1 (the document is the reference) without a photo, 2 with one
    config = {name: FULL_CONFIG.get(name) for name in intl_config_fields()}
    for mode, start in ((1, {k: v for k, v in body.items() if k == "Extra"}), (2, body)):
        configure(
            FACEID_FLOW="intl",
            COS_ENDPOINT=cos_server,
            FACEID_INTL_CONFIG=json.dumps({**config, "CheckMode": mode}),
            FACEID_RULE_ID="1",
        )
        started = invoke(http_event(body={**start, "Config": {"Language": "th", "ThemeColor": "#112233"}}))
        if started.status == 201:
            invoke(http_event(method="GET", path=f"/verifications/{started.body['BizToken']}"))
    # legacy: start and read, and an S3 upload (CreateUploadUrl, then the start with its ResourceUrl)
    configure(FACEID_FLOW="legacy", COS_ENDPOINT=cos_server)
    started = invoke(http_event(body={k: v for k, v in body.items() if k not in ("Extra", "Config")}))
    if started.status == 201:
        invoke(http_event(method="GET", path=f"/verifications/{started.body['BizToken']}"))
    boto3.client("s3").put_object(Bucket=UPLOAD_BUCKET, Key="contract.png", Body=photo)
    handler.handler({"Records": [s3_record(UPLOAD_BUCKET, "contract.png", photo)]}, lambda_context)


def test_every_parameter_the_function_sends_is_an_sdk_request_field(
    configure: Callable[..., None],
    invoke: Invoke,
    cos_server: str,
    lambda_context: LambdaContext,
    emulator: Emulator,
) -> None:
    # GIVEN the function run through every action it uses
    run_every_action(configure, invoke, cos_server, lambda_context)
    calls = [c for c in emulator.calls if "params" in c]
    # WHEN each call's parameters are compared with the SDK's request model of its action
    problems = []
    for call in calls:
        name, models = sdk.model(call["action"], "request")
        problems += sdk.object_problems(call["params"], name, models, call["action"])
    # THEN every name (and casing) exists, with its type
    assert problems == []
    # AND every action was exercised, each successfully (the emulator agreed)
    assert {c["action"] for c in calls} == set(sdk.actions())
    assert [c for c in calls if c["outcome"] != "ok"] == []
    document, photo = [c["params"] for c in calls if c["action"] == "ApplyWebVerificationBizTokenIntl"]
    assert set(photo["Config"]) == set(intl_config_fields())  # every Config field was sent
    assert "CompareImageBase64" in photo
    assert "CompareImageBase64" not in document
    assert photo["RuleId"] == document["RuleId"] == "1"


def test_the_page_config_is_the_sdks_web_verification_config_intl() -> None:
    from faceid_fn.domain.page_config import IntlConfig

    name, models = sdk.model("ApplyWebVerificationBizTokenIntl", "request")
    config_model = models[name]["Config"]["type"]
    problems, checked = sdk.pydantic_problems(IntlConfig, config_model, models)
    assert problems == []
    assert checked == len(IntlConfig.model_fields)
    missing = sorted(set(models[config_model]) - set(IntlConfig.model_fields))
    assert missing == [], f"WebVerificationConfigIntl fields the function cannot send: {missing}"


def result_models() -> tuple[str, dict[str, Any]]:
    """One model with the fields of both result answers (intl over legacy), and every nested model."""
    legacy_name, legacy = sdk.model("GetWebVerificationResult", "response")
    intl_name, current = sdk.model("GetWebVerificationResultIntl", "response")
    models = {**legacy, **current}  # VerificationDetail: the current model is a superset
    models["AnyResult"] = {**legacy[legacy_name], **current[intl_name]}
    return "AnyResult", models


def test_every_field_the_function_reads_is_an_sdk_response_field() -> None:
    from faceid_fn.domain.models import VerificationResult

    name, models = result_models()
    loose: list[str] = []
    problems, checked = sdk.pydantic_problems(
        VerificationResult, name, models, own_fields=OWN_RESULT_FIELDS, loose=loose
    )
    assert problems == []
    assert checked >= 10
    # The documents inside CardInfo/NormalCardInfo are passed on as FaceID sends them (plain objects):
    # their member names are the SDK's, their inner fields are not checked here.
    assert all(f.startswith(("OcrCardInfo.", "OcrNormalCardInfo.")) for f in loose), loose


def test_the_sdks_documents_are_flat_strings_as_the_function_assumes() -> None:
    # The function keeps each document of CardInfo/NormalCardInfo as a plain object of strings
    # (faceid_fn.domain.models.Document); that holds while every SDK document model is strings, or one level of
    # a model of strings (GeneralCard.Address).
    _, models = sdk.model("GetWebVerificationResultIntl", "response")
    documents = {spec["type"] for info in ("CardInfo", "NormalCardInfo") for spec in models[info].values()}
    assert len(documents) == 27
    for document in sorted(documents):
        for field, spec in models[document].items():
            if spec["type"] != "str":
                assert {s["type"] for s in models[spec["type"]].values()} == {"str"}, f"{document}.{field}"


def test_the_function_and_the_emulator_share_the_photo_limit_and_the_throttling_codes() -> None:
    # One figure for the photo (base64 characters), and every throttling code the emulator can answer is
    # one the function backs off from (and no other).
    from faceid_fn.domain.errors import THROTTLING_CODES
    from faceid_fn.domain.flows import INTL_MAX_BASE64_CHARS
    from local.emulator import INTL_MAX_BASE64
    from local.emulator import THROTTLING_CODES as EMULATED

    assert INTL_MAX_BASE64_CHARS == INTL_MAX_BASE64
    assert set(EMULATED) == THROTTLING_CODES
