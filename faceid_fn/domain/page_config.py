"""The FaceID page's options: the server's WebVerificationConfigIntl (FACEID_INTL_CONFIG) and
the presentation options a caller may choose per request."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

LanguageCode = Literal["th", "en", "zh-cn", "zh-tc", "id"]
ActionListValue = Annotated[str, Field(pattern=r"^(blink|mouth|nod|shake)(,(blink|mouth|nod|shake))?$")]
# A business process of the eKYC console, sent as RuleId ("" = none).
RuleId = Annotated[
    Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] | None, BeforeValidator(lambda v: v or None)
]
# WebVerificationConfigIntl.CheckMode (official SDK): 1 OCR + liveness + comparison with the document's
# photo, 2 liveness + comparison with CompareImageBase64, 3 liveness, 4 OCR; unset means 2.
DEFAULT_CHECK_MODE = 2
PHOTO_CHECK_MODES = frozenset({2})
CHECK_MODES = {
    1: "the person's identity document is the reference",
    2: "liveness, and the selfie compared with your photo",
    3: "liveness only",
    4: "the identity document only",
}
WARNING_CODES = ("-9101", "-9102", "-9103", "-9104", "-9107", "-9108", "-9109")
IdCardType = Literal[
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
]


class PageOptions(BaseModel):
    """The presentation options of WebVerificationConfigIntl that a caller may choose per request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Language: LanguageCode | None = Field(
        default=None, description="Page language: th, en, zh-cn, zh-tc or id (FaceID's default: en)"
    )
    ThemeColor: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$", description="Page theme colour, #RRGGBB")


class IntlConfig(PageOptions):
    """WebVerificationConfigIntl, all 17 fields of the official SDK model (unset fields are not sent),
    each checked against its documented range or list. Set server-side with FACEID_INTL_CONFIG."""

    AutoSkipStartPage: bool | None = None
    AutoSkip: bool | None = None
    CheckMode: Literal[1, 2, 3, 4] | None = None  # see DEFAULT_CHECK_MODE
    IDCardType: IdCardType | None = None
    DisableCheckOcrWarnings: bool | None = None
    SecurityLevel: Literal[1, 2, 3, 4] | None = None  # silent, action, light, action + light
    SkipPrivacyPolicy: bool | None = None
    IdCardCutReturn: bool | None = None
    AutoDowngrade: Literal[1, 2] | None = None
    ActionList: ActionListValue | None = None
    LivenessRetryLimit: int | None = Field(default=None, ge=1, le=99)
    LivenessTimeout: int | None = Field(default=None, ge=0, le=600)
    SelectedWarningCodes: str | None = None
    AllowExpiredDocument: bool | None = None
    Version: Literal["BASIC", "PLUS"] | None = None

    @field_validator("SelectedWarningCodes")
    @classmethod
    def _known_warning_codes(cls, value: str | None) -> str | None:
        if value is not None and not all(code.strip() in WARNING_CODES for code in value.split(",")):
            raise ValueError(f"must be a comma-separated list of {', '.join(WARNING_CODES)}")
        return value

    @model_validator(mode="after")
    def _actions_need_action_liveness(self) -> IntlConfig:
        # FaceID answers an API error for ActionList unless SecurityLevel asks for actions.
        if self.ActionList is not None and self.SecurityLevel not in (2, 4):
            raise ValueError("ActionList needs SecurityLevel 2 or 4")
        return self

    @property
    def check_mode(self) -> int:
        return self.CheckMode or DEFAULT_CHECK_MODE

    @property
    def compares_with_photo(self) -> bool:
        """Only CheckMode 2 compares the selfie with a photo the app sends (1 with the person's document)."""
        return self.check_mode in PHOTO_CHECK_MODES

    def params(self, page: PageOptions | None = None) -> dict[str, object]:
        """The Config to send: the server's options, with the caller's presentation options over them."""
        chosen = self.model_dump(exclude_none=True)
        if page is not None:
            chosen.update(page.model_dump(exclude_none=True))
        return chosen
