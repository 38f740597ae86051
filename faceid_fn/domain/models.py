"""Pydantic models of what crosses our boundaries: HTTP bodies, upload summaries and the error envelope
(field names as FaceID's, PascalCase, so that a client can pass its values through)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from faceid_fn.domain.page_config import PageOptions

MD5_PATTERN = r"^[0-9a-fA-F]{32}$"
PHOTO_PAIR = "CompareImageUrl and CompareImageMd5 go together: send both or neither"

# Models of the result read and of upload events are built (validators, serializers) on first use rather
# than at import: the cold start of POST /verifications does not pay for them (bench/README.md).
BUILT_ON_FIRST_USE = ConfigDict(defer_build=True)


_PHOTO_RULE = (
    "Required where the server compares the selfie with a photo of yours (FACEID_FLOW=legacy, or "
    "FACEID_INTL_CONFIG.CheckMode 2, the default); refused (400) in CheckMode 1 (the person's identity "
    "document is the reference), 3 (liveness only) and 4 (the document only)."
)


class StartVerification(BaseModel):
    """Body of `POST /verifications`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    CompareImageUrl: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="https URL of the reference photo in Tencent COS (same region as the function), "
        "or a ResourceUrl from CreateUploadUrl; a percent-encoded URL is decoded once. " + _PHOTO_RULE,
    )
    CompareImageMd5: str | None = Field(
        default=None, pattern=MD5_PATTERN, description="MD5 of the photo, 32 hex digits. " + _PHOTO_RULE
    )
    RedirectUrl: str | None = Field(
        default=None,
        max_length=2048,
        description="Where FaceID sends the browser afterwards; host must be on FACEID_REDIRECT_HOSTS.",
    )
    Extra: str | None = Field(
        default=None,
        max_length=1000,
        description="The caller's reference, passed through to the result (FACEID_FLOW=intl only).",
    )
    # `Config` as FaceID names it (pydantic reserves the attribute name, hence the alias).
    page_options: PageOptions | None = Field(
        default=None,
        alias="Config",
        description="Page options the app may choose per request (FACEID_FLOW=intl only): Language, ThemeColor. "
        "Security options (CheckMode, SecurityLevel, ...) are set server-side in FACEID_INTL_CONFIG.",
    )

    @model_validator(mode="after")
    def _photo_and_md5_together(self) -> StartVerification:
        if (self.CompareImageUrl is None) != (self.CompareImageMd5 is None):
            raise ValueError(PHOTO_PAIR)
        return self


class Session(BaseModel):
    """Answer of `POST /verifications` (201)."""

    BizToken: str
    VerificationUrl: str
    RequestId: str
    ExpiresAt: datetime = Field(description="When the BizToken stops being usable (UTC).")
    # None only in an answer stored (Idempotency-Key) before the region was recorded: FACEID_REGION's.
    Region: str | None = Field(
        default=None,
        description="The FaceID region that started the session, where the person's data is processed: "
        "FACEID_REGION, or one of FACEID_FAILOVER_REGIONS when FaceID failed there.",
    )


StatusName = Literal["pending", "passed", "failed", "expired", "abandoned", "error", "canceled"]
# Every status but `pending`, the only one that can still change (docs/http.md, "Result codes"). `canceled`
# is ours (POST /verifications/{BizToken}/cancel), never FaceID's.
FinalStatusName = Literal["passed", "failed", "expired", "abandoned", "error", "canceled"]


class VerificationDetail(BaseModel):
    """One attempt of the person, as FaceID reports it (every field may be null)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    ErrorCode: int | None = None
    ErrorMsg: str | None = None
    LivenessErrorCode: int | None = None
    LivenessErrorMsg: str | None = None
    CompareErrorCode: int | None = None
    CompareErrorMsg: str | None = None
    ReqTimestamp: int | None = Field(default=None, description="Milliseconds since the epoch")
    Similarity: float | None = Field(default=None, ge=0, le=100)
    Seq: str | None = None
    LivenessInfoTag: list[str] | None = Field(
        default=None, description="Why the liveness phase rejected the attempt (intl, PLUS version)"
    )


# Every document model of the official SDK is a flat set of strings (GeneralCard.Address is itself an
# object of strings); the document's fields are passed on as FaceID names them.
Document = dict[str, str | dict[str, str | None] | None]


class _Documents(BaseModel):
    """The document types both of OCRResult's readings name (the official SDK's CardInfo and NormalCardInfo)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    HKIDCard: Document | None = None
    MLIDCard: Document | None = None
    PhilippinesVoteID: Document | None = None
    IndonesiaIDCard: Document | None = None
    PhilippinesDrivingLicense: Document | None = None
    PhilippinesTinID: Document | None = None
    PhilippinesSSSID: Document | None = None
    PhilippinesUMID: Document | None = None
    InternationalIDPassport: Document | None = None
    GeneralCard: Document | None = None
    IndonesiaDrivingLicense: Document | None = None
    ThailandIDCard: Document | None = None
    SingaporeIDCard: Document | None = None
    MacaoIDCard: Document | None = None
    TaiWanIDCard: Document | None = None
    JapanIDCard: Document | None = None


class OcrCardInfo(_Documents):
    """The document FaceID read, by type (OCRResult.CardInfo); one of them is set."""

    BangladeshIDCard: Document | None = None
    NigeriaIDCard: Document | None = None
    NigeriaDrivingLicense: Document | None = None
    PakistanIDCard: Document | None = None
    PakistanDrivingLicense: Document | None = None


class OcrNormalCardInfo(_Documents):
    """The document in FaceID's normalised field names (OCRResult.NormalCardInfo)."""

    MainlandIDCard: Document | None = None
    HMTPermitCard: Document | None = None


# OCRResult's image fields: personal data, returned only with ?include=media.
OCR_MEDIA_FIELDS = (
    "CardImageBase64",
    "CardCutImageBase64",
    "CardBackImageBase64",
    "CardBackCutImageBase64",
    "HeadImageBase64",
)


class OcrResult(BaseModel):
    """One document read by FaceID (intl, CheckMode 1 and 4). Personal data: returned, never logged."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    IsPass: bool | None = Field(default=None, description="Whether the document check passed")
    CardInfo: OcrCardInfo | None = None
    NormalCardInfo: OcrNormalCardInfo | None = Field(default=None, description="Set except with CheckMode 4")
    OriginalCardInfo: str | None = Field(default=None, description="FaceID's raw reading, JSON (CheckMode 4)")
    WarnCardInfos: list[int] | None = Field(
        default=None, description="Document warnings: -9101 border, -9102 photocopy, -9103 re-photographed, ..."
    )
    RequestId: str | None = None
    CardImageBase64: str | None = Field(default=None, description="Only with ?include=media")
    CardCutImageBase64: str | None = Field(default=None, description="Only with ?include=media")
    CardBackImageBase64: str | None = Field(default=None, description="Only with ?include=media")
    CardBackCutImageBase64: str | None = Field(default=None, description="Only with ?include=media")
    HeadImageBase64: str | None = Field(default=None, description="Only with ?include=media")


class VerificationResult(BaseModel):
    """Answer of `GET /verifications/{BizToken}`."""

    model_config = BUILT_ON_FIRST_USE

    BizToken: str
    Status: StatusName = Field(description="Ours, from FaceID's ErrorCode (docs/http.md: result codes)")
    ErrorCode: int | None = Field(description="FaceID's result code: 0 passed, null or 17 not finished")
    ErrorMsg: str | None
    VerificationDetailList: list[VerificationDetail] = []
    OCRResult: list[OcrResult] | None = Field(
        default=None, description="The documents read (intl, CheckMode 1 and 4); images only with ?include=media"
    )
    VideoBestFrameUrl: str | None = Field(default=None, description="Pre-signed, valid 10 minutes (legacy)")
    VideoBestFrameMd5: str | None = None
    VideoUrl: str | None = Field(default=None, description="Pre-signed, valid 10 minutes (legacy)")
    VideoMd5: str | None = None
    Extra: str | None = Field(default=None, description="The caller's reference (intl)")
    BestFrameBase64: str | None = Field(default=None, description="Only with ?include=media (intl)")
    VideoBase64: str | None = Field(default=None, description="Only with ?include=media (intl)")
    RequestId: str


class ErrorDetail(BaseModel):
    model_config = BUILT_ON_FIRST_USE  # built on the first error answer, not at cold start

    Code: str
    Message: str


class ErrorBody(BaseModel):
    """The one error envelope of every route."""

    model_config = BUILT_ON_FIRST_USE

    Error: ErrorDetail
    RequestId: str


class ObjectSource(BaseModel):
    """The uploaded object a session is for; `Version` tells two uploads of one key apart."""

    model_config = BUILT_ON_FIRST_USE

    Storage: Literal["s3", "cos"]
    Bucket: str
    Key: str
    Version: str = Field(description="S3 VersionId or ETag; COS version id or event identity")
    VersionId: str | None = Field(default=None, description="S3 VersionId (versioned buckets)")
    Region: str | None = None
    Size: int | None = None
    Md5: str | None = Field(default=None, description="MD5 from the COS record's metadata, when present")

    @property
    def idempotency_key(self) -> str:
        return f"{self.Storage}:{self.Bucket}/{self.Key}#{self.Version}"


class UploadSession(Session):
    model_config = BUILT_ON_FIRST_USE

    Source: ObjectSource


class UploadFailure(BaseModel):
    model_config = BUILT_ON_FIRST_USE

    Source: ObjectSource | None
    Error: ErrorDetail
    Retryable: bool
    # The id the record's log lines carry: the upload's request id, else the invocation's.
    CorrelationId: str | None = None


class UploadSummary(BaseModel):
    """What an upload-event invocation returns (for Lambda's on-success/on-failure destinations)."""

    model_config = BUILT_ON_FIRST_USE

    Sessions: list[UploadSession] = []
    Failures: list[UploadFailure] = []


# -- the rest of a session's life: list, cancel, redact (faceid_fn/domain/lifecycle.py) -----------------


class SessionSummary(BaseModel):
    """One session as its owner lists it (and as a cancel answers): the ledger's view, never FaceID's details."""

    model_config = BUILT_ON_FIRST_USE

    BizToken: str
    Status: StatusName = Field(description="The ledger's Status: final once announced (docs/http.md, Result codes)")
    CreatedAt: str = Field(description="When the session started (UTC, ISO 8601)")
    ExpiresAt: str | None = Field(default=None, description="When the BizToken stops being usable (UTC)")
    CompletedAt: str | None = Field(default=None, description="When the final Status was found or set (UTC)")
    Region: str | None = Field(default=None, description="The FaceID region that started it, where FaceID keeps it")
    RedactedAt: str | None = Field(default=None, description="When its personal data was deleted (redact), if it was")


class SessionList(BaseModel):
    """Answer of `GET /verifications`: the caller's own sessions, newest first."""

    model_config = BUILT_ON_FIRST_USE

    Sessions: list[SessionSummary]
    NextCursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page (opaque)"
    )


class RetainedCopy(BaseModel):
    """Where something of a redacted session is still kept, and why faceid-fn did not delete it."""

    model_config = BUILT_ON_FIRST_USE

    Where: str
    Until: str | None = Field(description="When it goes at the latest (UTC), when known")
    Why: str


class Redaction(BaseModel):
    """Answer of `POST /verifications/{BizToken}/redact` (the same on every call once redacted)."""

    model_config = BUILT_ON_FIRST_USE

    BizToken: str
    Status: FinalStatusName = Field(description="The final Status, kept for the audit (a pending session is canceled)")
    RedactedAt: str
    Deleted: list[str] = Field(description="What faceid-fn deleted")
    Retained: list[RetainedCopy] = Field(description="What faceid-fn could not delete, and where it lies")
