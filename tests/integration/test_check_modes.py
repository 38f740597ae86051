"""What FaceID checks (FACEID_INTL_CONFIG.CheckMode) decides whether a start takes a reference photo: only
CheckMode 2 (the default) and the legacy flow compare with one; 1 compares with the person's document, 3
is liveness only, 4 the document only. And the console's business process (FACEID_RULE_ID) is named on
every intl start. handler -> SDK -> the emulator (which plays each mode's page), the COS stand-in, moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from local.sample_photo import png
from tests.aws import AWS_REGION, COS_BUCKET, UPLOAD_BUCKET, cos_put, md5, s3_record
from tests.conftest import Emulator, LambdaContext, LogLines, Response, http_event

pytestmark = pytest.mark.usefixtures("aws")

Invoke = Callable[[dict[str, Any]], Response]
PHOTO_KEY = "reference/alice.png"
PHOTO_URL = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
MISSING_URL = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/reference/nobody.png"
START = "ApplyWebVerificationBizTokenIntl"


@pytest.fixture
def mode(configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    """The intl flow with this CheckMode (None: unset), the photo in the COS stand-in."""
    cos_put(cos_server, PHOTO_KEY, png())

    def apply(check_mode: int | None, **overrides: str) -> None:
        config = {} if check_mode is None else {"CheckMode": check_mode}
        configure(FACEID_FLOW="intl", COS_ENDPOINT=cos_server, FACEID_INTL_CONFIG=json.dumps(config), **overrides)

    return apply


def with_photo(url: str = PHOTO_URL) -> dict[str, Any]:
    return {"CompareImageUrl": url, "CompareImageMd5": md5(png())}


def page(session: dict[str, Any]) -> str:
    return requests.get(session["VerificationUrl"], timeout=5).text


def finish(session: dict[str, Any], outcome: str = "pass") -> None:
    answer = requests.post(session["VerificationUrl"], data={"outcome": outcome}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302


def read(invoke: Invoke, token: str) -> dict[str, Any]:
    event = http_event(method="GET", path=f"/verifications/{token}")
    event["body"] = None
    response = invoke(event)
    assert response.status == 200, response.body
    return dict(response.body)


@pytest.mark.parametrize(
    ("check_mode", "steps"),
    [
        (1, {"step-document", "step-selfie", "step-compare"}),
        (3, {"step-selfie"}),
        (4, {"step-document"}),
    ],
)
def test_a_mode_without_a_reference_photo_starts_without_one_and_passes(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator, check_mode: int, steps: set[str]
) -> None:
    # GIVEN a CheckMode that compares with no photo of the caller's
    mode(check_mode)
    # WHEN a session is started with a body that names no photo
    response = invoke(http_event(body={"Extra": "order-1"}))
    # THEN it starts, FaceID got no photo, and its page plays the mode's steps
    assert response.status == 201, response.body
    [call] = emulator.calls
    assert call["action"] == START
    assert "CompareImageBase64" not in call["params"]
    assert call["params"]["Config"] == {"CheckMode": check_mode}
    html = page(response.body)
    assert {s for s in ("step-document", "step-selfie", "step-compare") if f'id="{s}"' in html} == steps
    # AND once the person passes, the result says so, with the document read in the document modes
    finish(response.body)
    result = read(invoke, response.body["BizToken"])
    assert result["Status"] == "passed"
    assert (result["OCRResult"] is not None) == (check_mode in (1, 4))


@pytest.mark.parametrize("check_mode", [1, 3, 4])
def test_a_photo_sent_in_a_mode_that_compares_with_none_is_a_400_and_nothing_is_read_or_sent(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator, check_mode: int
) -> None:
    mode(check_mode)
    # a photo that is not there: a read would answer another error (InvalidParameterValue.CompareImageUrl)
    response = invoke(http_event(body=with_photo(MISSING_URL)))
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameter"
    assert response.body["Error"]["Message"].startswith(f"CheckMode {check_mode} compares with no photo of yours")
    assert "send no CompareImageUrl or CompareImageMd5" in response.body["Error"]["Message"]
    assert emulator.calls == []


@pytest.mark.parametrize("check_mode", [2, None])
def test_the_photo_mode_needs_the_photo(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator, check_mode: int | None
) -> None:
    mode(check_mode)
    response = invoke(http_event(body={"Extra": "order-1"}))
    assert response.status == 400
    assert response.body["Error"] == {
        "Code": "InvalidParameter",
        "Message": "CompareImageUrl and CompareImageMd5 are required: CheckMode 2 compares the selfie with it",
    }
    assert emulator.calls == []
    # AND with the photo it starts, sending it
    assert invoke(http_event(body=with_photo())).status == 201
    assert "CompareImageBase64" in emulator.calls[-1]["params"]


@pytest.mark.legacy_flow
def test_the_legacy_flow_needs_the_photo(invoke: Invoke, emulator: Emulator) -> None:
    response = invoke(http_event(body={}))
    assert response.status == 400
    assert response.body["Error"]["Message"] == (
        "CompareImageUrl and CompareImageMd5 are required: the legacy flow compares the selfie with it"
    )
    assert emulator.calls == []


@pytest.mark.parametrize("field", ["CompareImageUrl", "CompareImageMd5"])
def test_the_photo_and_its_md5_go_together(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator, field: str
) -> None:
    mode(1)
    response = invoke(http_event(body={field: with_photo()[field]}))
    assert response.status == 400
    assert response.body["Error"] == {
        "Code": "InvalidParameter",
        "Message": "CompareImageUrl and CompareImageMd5 go together: send both or neither",
    }
    assert emulator.calls == []


def test_an_upload_in_a_mode_that_compares_with_no_photo_is_refused_and_not_retried(
    mode: Callable[..., None], emulator: Emulator, lambda_context: LambdaContext
) -> None:
    # GIVEN CheckMode 1 (the document is the reference), and a photo uploaded to S3
    mode(1)
    photo = png(seed=4)
    boto3.client("s3", region_name=AWS_REGION).put_object(Bucket=UPLOAD_BUCKET, Key="reference/bob/a.png", Body=photo)
    import handler

    # WHEN its record arrives
    summary = handler.handler({"Records": [s3_record(UPLOAD_BUCKET, "reference/bob/a.png", photo)]}, lambda_context)
    # THEN it is a failure that no retry can fix (the invocation does not raise), and nothing was sent
    assert summary["Sessions"] == []
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "PhotoNotCompared"
    assert failure["Error"]["Message"] == "CheckMode 1 compares with no uploaded photo: not started"
    assert failure["Retryable"] is False
    assert emulator.calls == []


def test_the_console_process_is_named_on_every_intl_start(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator
) -> None:
    # GIVEN FACEID_RULE_ID naming a process the console has (the emulator knows rule "1")
    mode(1, FACEID_RULE_ID="1")
    assert invoke(http_event(body={})).status == 201
    mode(2, FACEID_RULE_ID="1")
    assert invoke(http_event(body=with_photo())).status == 201
    # THEN both starts named it
    assert [c["params"].get("RuleId") for c in emulator.calls] == ["1", "1"]
    # AND without the setting none is sent
    mode(2)
    assert invoke(http_event(body=with_photo())).status == 201
    assert "RuleId" not in emulator.calls[-1]["params"]


def test_a_rule_the_console_does_not_have_is_our_502_logged_at_error(
    mode: Callable[..., None], invoke: Invoke, emulator: Emulator, logs: LogLines
) -> None:
    mode(2, FACEID_RULE_ID="2")
    response = invoke(http_event(body=with_photo()))
    assert response.status == 502
    assert response.body["Error"] == {
        "Code": "InvalidParameterValue.RuleIdNotExist",
        "Message": "RuleId does not exist. Go to the eKYC console to apply.",
    }
    assert response.body["RequestId"] == emulator.calls[-1]["request_id"]
    [line] = logs.records("FaceID call failed: fix the function's configuration")
    assert (line["level"], line["outcome"]) == ("ERROR", "InvalidParameterValue.RuleIdNotExist")
