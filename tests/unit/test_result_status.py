"""Every documented FaceID result ErrorCode has its Status (docs/http.md, "Result codes"), and a result read
past Tencent's retention is its own answer, never `expired`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from faceid_fn.config import Settings
from faceid_fn.domain.errors import ResultGone, UpstreamError
from faceid_fn.domain.results import read_result, result_status
from tests.conftest import ROOT

# docs/http.md, "Result codes": each row of the table, its codes written out (ranges included) as it lists
# them, and the Status it gives them.
DOCUMENTED_ROWS: list[tuple[list[int | None], str]] = [
    ([None, 17], "pending"),
    ([0], "passed"),
    ([15, 1409], "expired"),
    ([1410], "abandoned"),
    ([1, 2, 3, 4, 8, 9, 10, 11], "error"),
    ([14, 202, 1001, 1105], "error"),
    (
        [16, 1002, 1003, 1004, 1005, 1101, 1102, 1103, 1104, 1106, 1107, 1108, 1109, 1201, 1202],
        "failed",
    ),
    ([2012, 2015, 2016], "failed"),
    ([], "canceled"),  # no FaceID code gives it: the owner's cancel does (its row names none)
]


@pytest.mark.parametrize(("code", "status"), [(code, status) for codes, status in DOCUMENTED_ROWS for code in codes])
def test_each_documented_code_has_its_status(code: int | None, status: str) -> None:
    assert result_status(code) == status


def test_the_rows_above_are_the_tables_in_the_docs() -> None:
    # the table's first column as written: `null`, codes, ranges (1002-1005), and words ("document checks")
    section = (ROOT / "docs" / "http.md").read_text().split("## Result codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:4] for line in section.splitlines() if line.startswith("| ") and "`" in line]
    documented: list[tuple[list[int | None], str]] = []
    for codes, _, status in rows[1:]:  # the header row names the columns
        listed: list[int | None] = [None] if "`null`" in codes else []
        for low, high in re.findall(r"\b(\d+)(?:-(\d+))?\b", codes):
            listed.extend(range(int(low), int(high or low) + 1))
        documented.append((listed, status.strip().strip("`")))
    assert documented == DOCUMENTED_ROWS


def test_a_code_nobody_documented_yet_is_not_a_pass() -> None:
    assert result_status(4321) == "failed"


class Gateway:
    def __init__(self, answer: dict[str, Any] | None = None, error: UpstreamError | None = None) -> None:
        self.answer, self.error = answer, error

    def get_result(self, **_: str) -> dict[str, Any]:
        if self.error:
            raise self.error
        assert self.answer is not None
        return self.answer


def _settings() -> Settings:
    return Settings(
        tencentcloud_secret_id="AKIDx", tencentcloud_secret_key="k", faceid_redirect_url="https://a.example/d"
    )


def test_a_result_past_retention_is_gone_not_expired() -> None:
    gone = UpstreamError("InvalidParameterValue.BizTokenExpired", "BizToken expired", "rid-9")
    with pytest.raises(ResultGone) as raised:
        read_result("TOKEN-123456", settings=_settings(), faceid=Gateway(error=gone), trace_id="t")
    assert (raised.value.status, raised.value.code, raised.value.request_id) == (
        410,
        "ResultNoLongerAvailable",
        "rid-9",
    )


OCR = {
    "IsPass": True,
    "CardInfo": {"HKIDCard": {"EnName": "TEST PERSON", "IdNum": "A123456(7)"}},
    "NormalCardInfo": None,
    "WarnCardInfos": [-9102],
    "CardImageBase64": "aW1hZ2U=",
    "HeadImageBase64": "aGVhZA==",
    "RequestId": "ocr-1",
}
ANSWER = {
    "ErrorCode": 0,
    "ErrorMsg": "ok",
    "VerificationDetailList": [{"ErrorCode": 0, "LivenessInfoTag": ["01"], "Similarity": 91.5}],
    "OCRResult": [OCR],
    "BestFrameBase64": "ZnJhbWU=",
    "VideoBase64": "dmlkZW8=",
    "Extra": "order-1",
    "RequestId": "rid-1",
}


def test_ocr_result_and_liveness_tags_are_returned_and_images_only_with_media() -> None:
    plain = read_result("TOKEN-123456", settings=_settings(), faceid=Gateway(ANSWER), trace_id="t")
    assert plain.Status == "passed"
    assert plain.VerificationDetailList[0].LivenessInfoTag == ["01"]
    assert plain.OCRResult is not None
    ocr = plain.OCRResult[0]
    assert ocr.IsPass is True
    assert ocr.WarnCardInfos == [-9102]
    assert ocr.CardInfo is not None
    assert ocr.CardInfo.HKIDCard == {"EnName": "TEST PERSON", "IdNum": "A123456(7)"}
    assert (ocr.CardImageBase64, ocr.HeadImageBase64, plain.BestFrameBase64) == (None, None, None)

    media = read_result("TOKEN-123456", settings=_settings(), faceid=Gateway(ANSWER), trace_id="t", include_media=True)
    assert media.OCRResult is not None
    assert (media.OCRResult[0].CardImageBase64, media.OCRResult[0].HeadImageBase64) == ("aW1hZ2U=", "aGVhZA==")
    assert media.BestFrameBase64 == "ZnJhbWU="
