"""The two FaceID web flows, and which actions each region offers: one table, checked at start-up.

- `legacy`: ApplyWebVerificationToken with a COS URL (S3 photos go through CreateUploadUrl first),
  results from GetWebVerificationResult; the BizToken lives 7,200 s. Tencent's page for it now says
  "This document is currently invalid" and the international SDK dropped it in 3.1.50.
- `intl`: ApplyWebVerificationBizTokenIntl with the photo itself (base64, at most 8 MB encoded),
  results from GetWebVerificationResultIntl; the BizToken lives 10 minutes, results stay 3 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

FlowName = Literal["legacy", "intl"]

APPLY_LEGACY = "ApplyWebVerificationToken"
RESULT_LEGACY = "GetWebVerificationResult"
APPLY_INTL = "ApplyWebVerificationBizTokenIntl"
RESULT_INTL = "GetWebVerificationResultIntl"
CREATE_UPLOAD_URL = "CreateUploadUrl"

# ApplyWebVerificationBizTokenIntl takes at most 8 MB of base64, i.e. 6 MiB of photo.
INTL_MAX_PHOTO_BYTES = 8 * 1024 * 1024 * 3 // 4


@dataclass(frozen=True)
class Flow:
    name: FlowName
    apply_action: str
    result_action: str
    token_ttl: timedelta


FLOWS: dict[FlowName, Flow] = {
    "legacy": Flow("legacy", APPLY_LEGACY, RESULT_LEGACY, timedelta(seconds=7200)),
    "intl": Flow("intl", APPLY_INTL, RESULT_INTL, timedelta(minutes=10)),
}

# The FaceID actions each supported region lists (CreateUploadUrl is missing for ap-jakarta in one
# version of Tencent's region table, so it is treated as unavailable there).
REGION_ACTIONS: dict[str, frozenset[str]] = {
    "ap-singapore": frozenset({APPLY_LEGACY, RESULT_LEGACY, CREATE_UPLOAD_URL, APPLY_INTL, RESULT_INTL}),
    "ap-jakarta": frozenset({APPLY_LEGACY, RESULT_LEGACY, APPLY_INTL, RESULT_INTL}),
}


def required_actions(flow: FlowName, s3_uploads: bool) -> frozenset[str]:
    spec = FLOWS[flow]
    needed = {spec.apply_action, spec.result_action}
    if flow == "legacy" and s3_uploads:
        needed.add(CREATE_UPLOAD_URL)  # legacy S3 photos reach FaceID through its upload slot
    return frozenset(needed)


def capability_problem(region: str, flow: FlowName, s3_uploads: bool) -> str | None:
    """Why this combination cannot work, or None."""
    missing = sorted(required_actions(flow, s3_uploads) - REGION_ACTIONS.get(region, frozenset()))
    if not missing:
        return None
    hint = " (use FACEID_FLOW=intl, or S3_UPLOADS=false)" if missing == [CREATE_UPLOAD_URL] else ""
    return f"FaceID in {region} does not offer {', '.join(missing)}, which FACEID_FLOW={flow} needs{hint}"
