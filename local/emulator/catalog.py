"""What the emulated FaceID knows: its actions and regions, request fields and their types, the
documented values of the intl Config, lifetimes, and the outcomes a tester can choose on the page."""

from __future__ import annotations

from typing import Any

API_VERSION = "2018-03-01"
SERVICE = "faceid"
MAX_SKEW_S = 300
DEFAULT_RATE_LIMIT = 20  # requests per second, per SecretId and action
TOKEN_TTL_S = 7200

# Credentials the local stack and the tests use. Not a secret anywhere: the emulator is local only.
LOCAL_SECRET_ID = "AKIDlocalEmulatorFaceidFn0000000000"
LOCAL_SECRET_KEY = "LocalEmulatorSecretKey0NotForProduction"

INTL_REGIONS = ("ap-singapore", "ap-jakarta", "ap-bangkok", "ap-hongkong", "sa-saopaulo")
LEGACY_REGIONS = ("ap-singapore", "ap-jakarta")
# Where Tencent lists each action.
ACTION_REGIONS: dict[str, tuple[str, ...]] = {
    "ApplyWebVerificationToken": LEGACY_REGIONS,
    "GetWebVerificationResult": LEGACY_REGIONS,
    "CreateUploadUrl": ("ap-bangkok", "ap-hongkong", "ap-singapore"),
    "ApplyWebVerificationBizTokenIntl": INTL_REGIONS,
    "GetWebVerificationResultIntl": INTL_REGIONS,
}
ACTIONS = tuple(ACTION_REGIONS)
REGIONS = tuple(sorted({r for regions in ACTION_REGIONS.values() for r in regions}))
# How long FaceID keeps a result readable after the start: three days, both flows.
RESULT_RETENTION_S = 3 * 24 * 3600
INTL_TOKEN_TTL_S = 600
# CompareImageBase64: "max 8 MB" of base64 text (SDK model and API page). MB read as 10**6, the stricter
# reading: 8,000,000 characters (6,000,000 bytes of photo). The function keeps to the same figure.
INTL_MAX_BASE64 = 8_000_000

# Request fields per action, with their JSON types (official SDK models; `dict` = a nested model).
REQUEST_FIELDS: dict[str, dict[str, type]] = {
    "ApplyWebVerificationToken": {"RedirectUrl": str, "CompareImageUrl": str, "CompareImageMd5": str},
    "GetWebVerificationResult": {"BizToken": str},
    "CreateUploadUrl": {"TargetAction": str},
    "ApplyWebVerificationBizTokenIntl": {
        "RedirectURL": str,
        "CompareImageBase64": str,
        "Extra": str,
        "RuleId": str,
        "Config": dict,
    },
    "GetWebVerificationResultIntl": {"BizToken": str},
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "ApplyWebVerificationToken": ("RedirectUrl", "CompareImageUrl", "CompareImageMd5"),
    "GetWebVerificationResult": ("BizToken",),
    "CreateUploadUrl": ("TargetAction",),
    "ApplyWebVerificationBizTokenIntl": ("RedirectURL",),
    "GetWebVerificationResultIntl": ("BizToken",),
}
# WebVerificationConfigIntl: its 17 fields and their types.
INTL_CONFIG_FIELDS: dict[str, type] = {
    "AutoSkipStartPage": bool,
    "AutoSkip": bool,
    "CheckMode": int,
    "IDCardType": str,
    "DisableCheckOcrWarnings": bool,
    "SecurityLevel": int,
    "SkipPrivacyPolicy": bool,
    "IdCardCutReturn": bool,
    "ThemeColor": str,
    "Language": str,
    "AutoDowngrade": int,
    "ActionList": str,
    "LivenessRetryLimit": int,
    "LivenessTimeout": int,
    "SelectedWarningCodes": str,
    "AllowExpiredDocument": bool,
    "Version": str,
}
# The documented values of the Config fields that have a list or range (ThemeColor falls back to the
# default colour when malformed, so any string passes).
ID_CARD_TYPES = (
    "HKIDCard",
    "MLIDCard",
    "IndonesiaIDCard",
    "PhilippinesVoteID",
    "PhilippinesDrivingLicense",
    "PhilippinesTinID",
    "PhilippinesSSSID",
    "PhilippinesUMID",
    "InternationalIDPassport",
    "ThailandIDCard",
    "SingaporeIDCard",
    "MainlandIDCard",
)
CONFIG_CHOICES: dict[str, tuple[object, ...]] = {
    "CheckMode": (1, 2, 3, 4),
    "SecurityLevel": (1, 2, 3, 4),
    "Language": ("th", "en", "zh-cn", "zh-tc", "id"),
    "AutoDowngrade": (1, 2),
    "IDCardType": ID_CARD_TYPES,
    "Version": ("BASIC", "PLUS"),
}
CONFIG_RANGES: dict[str, tuple[int, int]] = {"LivenessRetryLimit": (1, 99), "LivenessTimeout": (0, 600)}
LIVENESS_ACTIONS = ("blink", "mouth", "nod", "shake")
OCR_WARNING_CODES = ("-9101", "-9102", "-9103", "-9104", "-9107", "-9108", "-9109")
# WebVerificationConfigIntl.CheckMode: 1 OCR + liveness + comparison with the document's photo,
# 2 liveness + comparison with CompareImageBase64, 3 liveness only, 4 OCR only; unset = 2 (SDK model).
DEFAULT_CHECK_MODE = 2
OCR_CHECK_MODES = (1, 4)  # the CheckModes that read a document
FACE_CHECK_MODES = (1, 2, 3)  # the CheckModes that take a selfie (liveness)
PHOTO_CHECK_MODES = (2,)  # the CheckModes that compare with the photo sent with the start
OCR_MODE_DEFAULT_CARD = "HKIDCard"
# RuleId: the processes configured in the console that the emulator knows (another one answers
# InvalidParameterValue.RuleIdNotExist); `--rule-id` or the control endpoint set others.
DEFAULT_RULE_IDS = ("1",)

# What the tester can choose on the hosted page: ErrorCode, ErrorMsg (Tencent's error-code page), and
# the detail codes behind it. "unfinished" keeps the session open (ErrorCode 17, no redirect).
# "fail" is the older test hook (1001, kept for existing tests).
OUTCOMES: dict[str, dict[str, Any]] = {
    "pass": {"label": "Pass", "code": 0, "msg": "Success", "liveness": 0, "compare": 0},
    "liveness": {"label": "Liveness failed", "code": 1005, "msg": "Liveness detection failed", "liveness": 1005},
    # Not the same person: the similarity is under the passing mark (2016 in Tencent's FaceID codes, the
    # same words as the SDK's InternalError.CompareLowSimilarity).
    "compare": {
        "label": "Not the same person",
        "code": 2016,
        "msg": "The similarity did not reach the passing standard",
        "liveness": 0,
        "compare": 2016,
    },
    # 2012 is "Multiple faces detected" (Tencent's error-code change of 10 March 2026).
    "faces": {
        "label": "Multiple faces",
        "code": 2012,
        "msg": "Multiple faces detected",
        "liveness": 0,
        "compare": 2012,
    },
    # Nor a document-check code: the OCR alarm (OCRResult.WarnCardInfos, -9102 photocopy) is reported.
    "document": {"label": "Document failed", "code": -9102, "msg": "Document photocopy alarm"},
    "left": {"label": "Person left", "code": 1410, "msg": "User exited voluntarily"},
    "timeout": {"label": "Timed out", "code": 1409, "msg": "Verification process timed out"},
    "unfinished": {"label": "Leave unfinished", "code": 17, "msg": "Process not finished", "stays": True},
    # Accepted from tests that post it, never offered on the page.
    "fail": {
        "label": "Fail (engine error)",
        "code": 1001,
        "msg": "Failed to call the liveness engine",
        "liveness": 1001,
    },
}
# Every throttling code FaceID documents, with its documented message: the API 3.0 common codes
# (RequestLimitExceeded*, the SDK's retry list) and FaceID's own FailedOperation.RequestLimitExceeded.
THROTTLING_CODES: dict[str, str] = {
    "RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded": "Uin exceeds the frequency limit.",
    "RequestLimitExceeded.IPLimitExceeded": "The number of ip requests exceeds the frequency limit.",
    "RequestLimitExceeded.UinLimitExceeded": "The number of uin requests exceeds the frequency limit.",
    "FailedOperation.RequestLimitExceeded": "The number of calls exceeded the limit.",
}
# How a failed region answers every call signed for it (control endpoint `regions`): an HTTP 5xx, an
# InternalError envelope, no answer until the caller gives up, or a reset connection.
REGION_FAILURES = ("http", "internal", "timeout", "reset")
NOT_FINISHED = (17, "Process not finished")
TOKEN_EXPIRED = (15, "Token expired")
UPLOAD_TTL_S = 7200
# The COS bucket the emulator pretends CreateUploadUrl resources live in.
UPLOAD_BUCKET = "faceid-emulator-1250000000"
# What a photo must start with: JPEG, PNG or BMP.
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")
