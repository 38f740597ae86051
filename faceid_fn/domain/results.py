"""Reading a session's outcome: FaceID's result, with our Status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from faceid_fn.domain.errors import ResultGone, UpstreamError
from faceid_fn.domain.flows import FLOWS
from faceid_fn.domain.models import OCR_MEDIA_FIELDS, StatusName, VerificationResult
from faceid_fn.observability import logger, metrics

if TYPE_CHECKING:
    from faceid_fn.config import Settings
    from faceid_fn.domain.ports import ResultGateway


# FaceID's result ErrorCode -> our Status (docs/http.md, "Result codes"). Codes not listed are verdicts on the
# person (liveness, comparison, document checks: FaceID's lists of those grow), hence `failed`.
STATUS_OF_CODE: dict[int | None, StatusName] = {
    None: "pending",  # not finished (or not started)
    17: "pending",  # process not finished
    0: "passed",
    15: "expired",  # the BizToken ran out before the person finished
    1409: "expired",  # the verification process timed out
    1410: "abandoned",  # the person left
    # not a verdict on the person: invalid parameters, internal errors, a session already used
    **{code: "error" for code in (1, 2, 3, 4, 8, 9, 10, 11, 14, 202, 1001, 1105)},
}


def result_status(error_code: int | None) -> StatusName:
    return STATUS_OF_CODE.get(error_code, "failed")


def read_result(
    biz_token: str,
    *,
    settings: Settings,
    faceid: ResultGateway,
    trace_id: str,
    include_media: bool = False,
    region: str | None = None,
    budget_s: float | None = None,
) -> VerificationResult:
    """GET /verifications/{BizToken}: FaceID's outcome, with a normalised Status, read in the region that
    started the session (FACEID_REGION unless the ledger says another), within `budget_s` (FACEID_TIMEOUT_S
    unless shorter)."""
    flow, region = FLOWS[settings.faceid_flow], region or settings.faceid_region
    try:
        answer = faceid.get_result(
            result_action=flow.result_action, biz_token=biz_token, trace_id=trace_id, region=region, budget_s=budget_s
        )
    except UpstreamError as exc:
        if exc.code == "InvalidParameterValue.BizTokenExpired":  # on the result call: past the 3-day retention
            raise ResultGone(exc.request_id) from None
        raise
    try:
        ocr = answer.get("OCRResult")
        if isinstance(ocr, list) and not include_media:
            ocr = [_without(item, OCR_MEDIA_FIELDS) for item in ocr]
        result = VerificationResult.model_validate(
            {
                **{k: v for k, v in answer.items() if k in VerificationResult.model_fields},
                "BizToken": biz_token,
                "Status": result_status(answer.get("ErrorCode")),  # type: ignore[arg-type]
                "VerificationDetailList": answer.get("VerificationDetailList") or [],
                "OCRResult": ocr or None,
                "BestFrameBase64": answer.get("BestFrameBase64") if include_media else None,
                "VideoBase64": answer.get("VideoBase64") if include_media else None,
            }
        )
    except ValidationError:
        raise UpstreamError(
            "UpstreamUnavailable", "FaceID's result could not be read", str(answer.get("RequestId"))
        ) from None
    metrics.add_metric(name="ResultRead", unit="Count", value=1)
    logger.info(
        "verification result read",
        extra={
            "biz_token": biz_token,
            "status": result.Status,
            "error_code": result.ErrorCode,
            "faceid_request_id": result.RequestId,
        },
    )
    return result


def _without(item: object, fields: tuple[str, ...]) -> object:
    return {k: v for k, v in item.items() if k not in fields} if isinstance(item, dict) else item
