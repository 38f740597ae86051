"""The two FaceID web flows (intl, the default; legacy, withdrawn by Tencent) and the actions each region
offers: one table, checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, get_args

FlowName = Literal["legacy", "intl"]

APPLY_LEGACY = "ApplyWebVerificationToken"
RESULT_LEGACY = "GetWebVerificationResult"
APPLY_INTL = "ApplyWebVerificationBizTokenIntl"
RESULT_INTL = "GetWebVerificationResultIntl"
CREATE_UPLOAD_URL = "CreateUploadUrl"

# ApplyWebVerificationBizTokenIntl takes at most 8 MB of base64; we keep CompareImageBase64 at or under
# 8,000,000 characters, i.e. at most 6,000,000 bytes of photo (base64 makes 4 characters of 3 bytes).
INTL_MAX_BASE64_CHARS = 8_000_000
INTL_MAX_PHOTO_BYTES = INTL_MAX_BASE64_CHARS // 4 * 3


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

# The FaceID actions each region offers, from the "This API only supports" line of each action's page
# and the official SDK.
Region = Literal["ap-singapore", "ap-jakarta", "ap-bangkok", "ap-hongkong", "sa-saopaulo"]
REGIONS: tuple[Region, ...] = get_args(Region)  # every region some flow works in
INTL_REGIONS = REGIONS  # the intl flow works in all of them
LEGACY_REGIONS = ("ap-singapore", "ap-jakarta")
UPLOAD_URL_REGIONS = ("ap-bangkok", "ap-hongkong", "ap-singapore")

REGION_ACTIONS: dict[str, frozenset[str]] = {
    region: frozenset(
        {APPLY_INTL, RESULT_INTL}
        | ({APPLY_LEGACY, RESULT_LEGACY} if region in LEGACY_REGIONS else set())
        | ({CREATE_UPLOAD_URL} if region in UPLOAD_URL_REGIONS else set())
    )
    for region in REGIONS
}

# Tencent SCF's COS records name the bucket's region by COS's short code.
COS_SHORT_REGIONS = {
    "sg": "ap-singapore",
    "jkt": "ap-jakarta",
    "th": "ap-bangkok",
    "hk": "ap-hongkong",
    "sao": "sa-saopaulo",
}

# Logged once at cold start when FACEID_FLOW=legacy is chosen.
LEGACY_WARNING = (
    "FACEID_FLOW=legacy uses ApplyWebVerificationToken/GetWebVerificationResult, which Tencent has withdrawn "
    "(their pages say 'This document is currently invalid'; the SDK dropped them in 3.1.50): set FACEID_FLOW=intl"
)


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
    hint = ""
    if missing == [CREATE_UPLOAD_URL]:
        hint = " (use FACEID_FLOW=intl, or S3_UPLOADS=false)"
    elif flow == "legacy" and region in INTL_REGIONS:
        hint = " (use FACEID_FLOW=intl)"
    return f"FaceID in {region} does not offer {', '.join(missing)}, which FACEID_FLOW={flow} needs{hint}"


def failover_problem(regions: tuple[str, ...], flow: FlowName, s3_uploads: bool, *, ledger: bool) -> str | None:
    """Why FACEID_FAILOVER_REGIONS (regions[1:], after FACEID_REGION) cannot work, or None."""
    failovers = regions[1:]
    if not failovers:
        return None
    if len(set(regions)) != len(regions):
        return "FACEID_FAILOVER_REGIONS must name each region once, and not FACEID_REGION"
    if flow == "legacy":  # its COS URL must be in the region of the call (ApplyWebVerificationToken's page)
        return "FACEID_FAILOVER_REGIONS needs FACEID_FLOW=intl (the legacy flow's photo is bound to one region)"
    if not ledger:  # a session is read where it was started, which only the ledger knows
        return "FACEID_FAILOVER_REGIONS needs SESSIONS_TABLE (it records the region each session was started in)"
    return next(filter(None, (capability_problem(region, flow, s3_uploads) for region in failovers)), None)
