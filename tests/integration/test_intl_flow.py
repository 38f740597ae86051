"""FACEID_FLOW=intl: the same HTTP contract and upload behaviour over ApplyWebVerificationBizTokenIntl.

The photo is read from COS (a moto server standing in for its S3-compatible API), checked against
CompareImageMd5, and sent as base64; the legacy action's withdrawal is shown too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from local.emulator import PERSONAL_DATA
from local.sample_photo import png
from tests.aws import AWS_REGION, COS_BUCKET, IDEMPOTENCY_TABLE, UPLOAD_BUCKET, cos_put, cos_record, md5, s3_record
from tests.conftest import Emulator, LambdaContext, LogLines, Response, http_event
from tests.secret_scan import find_secrets

pytestmark = pytest.mark.usefixtures("aws")

PHOTO_KEY = "reference/alice.png"
PHOTO_URL = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"


@pytest.fixture
def intl(configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    def apply(**overrides: str) -> None:
        configure(
            **{
                "FACEID_FLOW": "intl",
                "COS_ENDPOINT": cos_server,
                "FACEID_INTL_CONFIG": '{"CheckMode": 2, "Language": "en"}',
                **overrides,
            }
        )

    apply()
    return apply


def body(**overrides: Any) -> dict[str, Any]:
    return {"CompareImageUrl": PHOTO_URL, "CompareImageMd5": md5(png()), **overrides}


def test_intl_session_sends_the_photo_and_tells_its_true_expiry(
    intl: Callable[..., None],
    cos_server: str,
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
    logs: LogLines,
) -> None:
    # GIVEN the reference photo in COS
    photo = png()
    cos_put(cos_server, PHOTO_KEY, photo)
    before = datetime.now(UTC).replace(microsecond=0)
    # WHEN a session is started through the same HTTP contract
    response = invoke(http_event(body=body(Extra="order-17")))
    # THEN the answer has the same shape, with the intl token's 10-minute life
    assert response.status == 201, response.body
    assert set(response.body) == {"BizToken", "VerificationUrl", "RequestId", "ExpiresAt", "Region"}
    assert response.body["Region"] == "ap-singapore"  # where the person's data is processed
    assert response.body["VerificationUrl"] == f"{emulator.url}/verify/{response.body['BizToken']}"
    expires = datetime.fromisoformat(response.body["ExpiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=10) <= expires <= datetime.now(UTC) + timedelta(minutes=10)
    # AND FaceID got the photo itself, the RedirectURL (that casing), Extra and the page Config
    call = emulator.calls[-1]
    assert call["action"] == "ApplyWebVerificationBizTokenIntl"
    assert base64.b64decode(call["params"]["CompareImageBase64"]) == photo
    assert call["params"]["RedirectURL"] == "https://abc123.execute-api.ap-southeast-1.amazonaws.com/return"
    assert call["params"]["Extra"] == "order-17"
    assert call["params"]["Config"] == {"CheckMode": 2, "Language": "en"}
    # AND the photo's base64 is in no log line
    assert call["params"]["CompareImageBase64"] not in logs.text
    assert "FaceID call succeeded" in logs.text


def test_md5_mismatch_is_a_400_and_nothing_is_sent(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    cos_put(cos_server, PHOTO_KEY, png())
    response = invoke(http_event(body=body(CompareImageMd5="0" * 32)))
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.CompareImageMd5"
    assert emulator.calls == []


def test_oversize_photo_is_a_400_and_nothing_is_sent(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    intl(UPLOAD_MAX_BYTES="100")
    big = png(width=64, height=64)
    cos_put(cos_server, PHOTO_KEY, big)
    response = invoke(http_event(body=body(CompareImageMd5=md5(big))))
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.CompareImageUrl"
    assert "larger than 100 bytes" in response.body["Error"]["Message"]
    assert emulator.calls == []


def test_missing_photo_is_a_400(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    cos_put(cos_server, "other.png", png())
    response = invoke(http_event(body=body()))
    assert response.status == 400
    assert response.body["Error"]["Code"] == "InvalidParameterValue.CompareImageUrl"
    assert emulator.calls == []


def test_withdrawn_legacy_action_is_a_clear_502_naming_the_setting(
    configure: Callable[..., None],
    intl: Callable[..., None],
    cos_server: str,
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
) -> None:
    # GIVEN FaceID has withdrawn ApplyWebVerificationToken, and the deployment still uses it
    emulator.state.offline_actions = {"ApplyWebVerificationToken"}
    configure(FACEID_FLOW="legacy")
    response = invoke(http_event(body=body(CompareImageUrl=PHOTO_URL)))
    # THEN callers get a 502 that says what to change
    assert response.status == 502
    assert response.body["Error"] == {
        "Code": "ActionOffline",
        "Message": "FaceID no longer offers ApplyWebVerificationToken: set FACEID_FLOW=intl and redeploy",
    }
    assert response.body["RequestId"] == emulator.calls[-1]["request_id"]
    # AND with FACEID_FLOW=intl the same request starts a session
    cos_put(cos_server, PHOTO_KEY, png())
    intl()
    assert invoke(http_event(body=body())).status == 201


def test_s3_upload_in_the_intl_flow_needs_no_upload_slot(
    intl: Callable[..., None], invoke: Callable[[dict[str, Any]], Response], emulator: Emulator, lambda_context: Any
) -> None:
    intl(IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
    photo = png(seed=3)
    boto3.client("s3", region_name=AWS_REGION).put_object(Bucket=UPLOAD_BUCKET, Key="a.png", Body=photo)
    import handler

    event = {"Records": [s3_record(UPLOAD_BUCKET, "a.png", photo)]}
    first = handler.handler(json.loads(json.dumps(event)), lambda_context)
    second = handler.handler(json.loads(json.dumps(event)), lambda_context)
    assert first == second
    [session] = first["Sessions"]
    assert session["Source"]["Key"] == "a.png"
    assert [c["action"] for c in emulator.calls] == ["ApplyWebVerificationBizTokenIntl"]
    assert base64.b64decode(emulator.calls[0]["params"]["CompareImageBase64"]) == photo
    assert emulator.calls[0]["params"]["Extra"] == f"s3:{UPLOAD_BUCKET}/a.png#{md5(photo)}"


def test_cos_upload_in_the_intl_flow_reads_the_photo(
    intl: Callable[..., None], cos_server: str, emulator: Emulator, lambda_context: Any
) -> None:
    photo = png(seed=5)
    cos_put(cos_server, PHOTO_KEY, photo)
    import handler

    summary = handler.handler(
        {"Records": [cos_record(PHOTO_KEY, size=len(photo), md5_meta=md5(photo))]}, lambda_context
    )
    assert summary["Failures"] == []
    assert base64.b64decode(emulator.calls[-1]["params"]["CompareImageBase64"]) == photo


def test_intl_is_the_default_and_legacy_by_choice_warns_once_at_cold_start(
    configure: Callable[..., None], invoke: Callable[[dict[str, Any]], Response], logs: LogLines
) -> None:
    # GIVEN no FACEID_FLOW: a cold start logs no withdrawal warning
    configure()
    invoke(http_event(path="/verifications/UNKNOWN-TOKEN-1", method="GET"))
    assert [r for r in logs.records() if r["level"] == "WARNING" and "withdrawn" in r["message"]] == []
    # WHEN the legacy flow is chosen and the container serves two requests
    configure(FACEID_FLOW="legacy")
    invoke(http_event(path="/verifications/UNKNOWN-TOKEN-1", method="GET"))
    import handler  # the same container, warm

    handler.handler(http_event(path="/verifications/UNKNOWN-TOKEN-2", method="GET"), LambdaContext())
    # THEN one WARNING says Tencent withdrew it
    warnings = [r for r in logs.records() if r["level"] == "WARNING" and "withdrawn" in r["message"]]
    assert len(warnings) == 1
    assert "FACEID_FLOW=intl" in warnings[0]["message"]


def test_the_caller_chooses_the_page_language_and_the_server_keeps_security_options(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    # GIVEN a server Config (CheckMode 2, English) and the photo in COS
    cos_put(cos_server, PHOTO_KEY, png())
    # WHEN the app asks for Thai and a theme colour
    response = invoke(http_event(body=body(Config={"Language": "th", "ThemeColor": "#112233"})))
    # THEN FaceID gets the server's options with the app's presentation
    assert response.status == 201, response.body
    assert emulator.calls[-1]["params"]["Config"] == {"CheckMode": 2, "Language": "th", "ThemeColor": "#112233"}


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"CheckMode": 4}, "InvalidParameterValue.Config"),
        ({"SecurityLevel": 1}, "InvalidParameterValue.Config"),
        ({"Language": "fr"}, "InvalidParameterValue.Config"),
        ({"ThemeColor": "red"}, "InvalidParameterValue.Config"),
        ("th", "InvalidParameter"),
    ],
)
def test_a_security_option_or_a_bad_page_option_from_the_caller_is_a_400(
    intl: Callable[..., None],
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
    config: Any,
    code: str,
) -> None:
    response = invoke(http_event(body=body(Config=config)))
    assert response.status == 400
    assert response.body["Error"]["Code"] == code
    assert emulator.calls == []


# The intl result of each outcome the emulator's page offers, read through our GET (docs/http.md, "Result codes").
def start_session(
    cos_server: str, invoke: Callable[[dict[str, Any]], Response], *, photo: bool = True
) -> dict[str, Any]:
    cos_put(cos_server, PHOTO_KEY, png())
    response = invoke(http_event(body=body() if photo else {}))
    assert response.status == 201, response.body
    return dict(response.body)


def choose(session: dict[str, Any], outcome: str) -> None:
    """The person's side: the emulator's hosted page, as a browser posts it."""
    answer = requests.post(session["VerificationUrl"], data={"outcome": outcome}, allow_redirects=False, timeout=5)
    assert answer.status_code in (200, 302)


def read(invoke: Callable[[dict[str, Any]], Response], token: str, query: str = "") -> Response:
    event = http_event(method="GET", path=f"/verifications/{token}")
    event["body"] = None
    if query:
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict([query.split("=")])
    return invoke(event)


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        ("pass", "passed", 0),
        ("liveness", "failed", 1005),
        ("compare", "failed", 2016),
        ("faces", "failed", 2012),
        ("left", "abandoned", 1410),
        ("timeout", "expired", 1409),
        ("unfinished", "pending", 17),
        ("fail", "error", 1001),
    ],
)
def test_each_outcome_of_the_page_reads_as_its_status(
    intl: Callable[..., None],
    cos_server: str,
    invoke: Callable[[dict[str, Any]], Response],
    outcome: str,
    status: str,
    code: int,
) -> None:
    session = start_session(cos_server, invoke)
    choose(session, outcome)
    response = read(invoke, session["BizToken"])
    assert response.status == 200
    assert (response.body["Status"], response.body["ErrorCode"]) == (status, code)


def test_pending_before_the_page_is_opened_then_expired_then_gone(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    session = start_session(cos_server, invoke)
    token = session["BizToken"]
    assert (read(invoke, token).body["Status"], read(invoke, token).body["ErrorCode"]) == ("pending", None)
    emulator.state.age_sessions(601)  # past the BizToken's 10 minutes: never finished
    assert (read(invoke, token).body["Status"], read(invoke, token).body["ErrorCode"]) == ("expired", 15)
    emulator.state.age_sessions(259_200)  # past the 3 days FaceID keeps results
    gone = read(invoke, token)
    assert (gone.status, gone.body["Error"]["Code"]) == (410, "ResultNoLongerAvailable")


@pytest.mark.parametrize("check_mode", [1, 4])
def test_document_modes_return_ocr_results_and_never_log_personal_data(
    intl: Callable[..., None],
    cos_server: str,
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
    check_mode: int,
) -> None:
    # GIVEN a CheckMode that reads the person's document, and a document that fails its check
    intl(FACEID_INTL_CONFIG=json.dumps({"CheckMode": check_mode, "IDCardType": "HKIDCard"}))
    session = start_session(cos_server, invoke, photo=False)  # the document is the reference
    choose(session, "document")
    # WHEN the outcome is read, plainly and with media
    plain = read(invoke, session["BizToken"]).body
    media = read(invoke, session["BizToken"], "include=media").body
    # THEN it is a verdict on the document, with FaceID's reading of it
    assert plain["Status"] == "failed"
    [ocr] = plain["OCRResult"]
    assert ocr["IsPass"] is False
    assert ocr["WarnCardInfos"] == [-9102]
    if check_mode == 1:
        assert ocr["CardInfo"]["HKIDCard"]["EnName"] == "TEST PERSON"
        assert ocr["NormalCardInfo"]["HKIDCard"]["FullName"] == "TEST PERSON"
    else:  # OCR only: FaceID's original reading, as JSON text
        assert "TEST PERSON" in ocr["OriginalCardInfo"]
    # AND the card images come only with include=media
    assert ocr["CardImageBase64"] is None
    assert ocr["HeadImageBase64"] is None
    assert media["OCRResult"][0]["CardImageBase64"]
    # AND no personal data reached a log line
    assert find_secrets(logs.text, PERSONAL_DATA) == []
    assert "verification result read" in logs.text


def test_a_caller_reference_and_liveness_tags_come_back(
    intl: Callable[..., None], cos_server: str, invoke: Callable[[dict[str, Any]], Response]
) -> None:
    intl(FACEID_INTL_CONFIG='{"CheckMode": 2, "Version": "PLUS"}')
    cos_put(cos_server, PHOTO_KEY, png())
    session = invoke(http_event(body=body(Extra="order-55"))).body
    choose(session, "liveness")
    result = read(invoke, session["BizToken"]).body
    assert result["Extra"] == "order-55"
    assert isinstance(result["VerificationDetailList"][0]["LivenessInfoTag"], list)
