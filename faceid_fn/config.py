"""Settings from the environment, validated once per container: a bad value stops the cold start
with one line that names the variable."""

from __future__ import annotations

import json
import os
import re
from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from faceid_fn.domain.flows import FLOWS, REGIONS, FlowName, Region, capability_problem, failover_problem
from faceid_fn.domain.loopback import is_loopback
from faceid_fn.domain.outcomes import RETURN_PATH
from faceid_fn.domain.page_config import IntlConfig, RuleId
from faceid_fn.domain.photos import cos_bucket_names

# The FaceID API 3.0 endpoint for the international regions.
OFFICIAL_ENDPOINT = "https://faceid.intl.tencentcloudapi.com"


# API Gateway gives up after 29 s; the upstream budget must end well before that.
MAX_TIMEOUT_S = 25.0
# A replayed answer must not outlive the BizToken it carries (7,200 s).
MAX_IDEMPOTENCY_TTL_S = 7200
# FACEID_OWNER_STARTS: at most this many sessions per window, windows of at most a day.
MAX_OWNER_STARTS = 100_000
MAX_OWNER_WINDOW_S = 86_400


# A base path of an API mapping: segments of letters, digits and -._~ (no regex, no parameters).
_BASE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable function. The message is one line."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tencentcloud_secret_id: str | None = None
    tencentcloud_secret_key: SecretStr | None = None
    tencentcloud_session_token: SecretStr | None = None
    # AWS Secrets Manager secret holding {"SecretId","SecretKey"[,"Token"]}; used instead when set.
    faceid_credentials_secret: str | None = None
    faceid_credentials_max_age_s: int = Field(default=300, ge=0, le=3600)

    faceid_region: Region = "ap-singapore"
    faceid_endpoint: str = OFFICIAL_ENDPOINT
    faceid_redirect_url: str
    faceid_redirect_hosts: tuple[str, ...] = ()
    faceid_timeout_s: float = Field(default=8.0, gt=0, le=MAX_TIMEOUT_S)
    # Which FaceID web flow to use (faceid_fn/domain/flows.py); `legacy` is withdrawn by Tencent, by choice only.
    faceid_flow: FlowName = "intl"
    # Page configuration sent with the intl flow (WebVerificationConfigIntl), as JSON.
    faceid_intl_config: IntlConfig = IntlConfig()
    # The console's business process (RuleId) every intl start names; unset = none sent.
    faceid_rule_id: RuleId = None
    # Where a start goes, in order, when FaceID fails in FACEID_REGION; none by default (data residency).
    faceid_failover_regions: tuple[Region, ...] = ()

    # True when API Gateway authenticates callers (serverless.yml `auth: jwt`): a request that
    # reaches the function without the authorizer's claims is refused.
    auth_required: bool = False

    # Pacing shared by all instances (faceid_fn/adapters/aws/pacing.py, DynamoDB): off when no table is named.
    faceid_pacing_table: str | None = None
    # FaceID allows 20 requests/s per action; one less leaves room for clock skew between instances.
    faceid_pacing_rps: float = Field(default=19.0, gt=0, le=1000)
    # How long a request may wait for a send slot, on top of FACEID_TIMEOUT_S.
    faceid_pacing_max_wait_s: float = Field(default=12.0, ge=0, le=MAX_TIMEOUT_S)

    # Idempotency (Powertools, DynamoDB): off when no table is named.
    idempotency_table: str | None = None
    idempotency_ttl_s: int = Field(default=3600, ge=60, le=MAX_IDEMPOTENCY_TTL_S)

    # Upload events. S3_UPLOADS=false when the function takes no S3 events (then the legacy flow does
    # not need CreateUploadUrl).
    s3_uploads: bool = True
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0, le=50 * 1024 * 1024)
    cos_presign: bool = True
    cos_presign_ttl_s: int = Field(default=900, ge=60, le=7200)
    # S3-compatible COS endpoint used to read objects (default https://cos.<region>.myqcloud.com).
    cos_endpoint: str | None = None
    # Base paths of custom domains in front of the API (API mappings, e.g. "/faceid,/v1"): stripped from
    # a request's path before routing.
    api_base_paths: tuple[str, ...] = ()
    # COS buckets (<bucket>-<appid>) a caller's CompareImageUrl may name; empty or "*" = any in the region.
    faceid_cos_buckets: frozenset[str] = frozenset()

    # -- the session ledger, completion events and webhooks. SESSIONS_TABLE unset = no ledger: no owner-only
    # reads, no events, no sweep.
    sessions_table: str | None = None
    # Each owner's folder: UPLOAD_PREFIX + owner + "/" (`reference/user-42/photo.jpg` is user-42's).
    upload_prefix: str = "reference/"
    # Who owns an upload: the folder of its key (`key`), or the object's `owner` metadata (`metadata`, for
    # backends that write every upload with their own credentials; else the key decides).
    upload_owner_from: Literal["key", "metadata"] = "key"
    # With AUTH_REQUIRED, a caller's CompareImageUrl must lie in its own folder (`off`: photos curated
    # server-side, any object of FACEID_COS_BUCKETS may be named).
    faceid_photo_ownership: bool = True
    # At most this many new sessions per owner in each window of this many seconds (`off`: no limit),
    # counted in SESSIONS_TABLE (faceid_fn/adapters/aws/owner_starts.py).
    faceid_owner_starts: tuple[int, int] | None = (10, 3600)
    event_bus_name: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None  # local runs; deployed stages read WEBHOOK_SECRET_NAME
    webhook_secret_name: str | None = None
    webhook_secret_max_age_s: int = Field(default=300, ge=0, le=3600)
    # The scheduled sweep: at most this many sessions per run, at most this many FaceID reads a second.
    sweep_max_sessions: int = Field(default=1000, ge=1, le=1000)
    sweep_rps: float = Field(default=15.0, gt=0, le=20)
    # Local stack only (no EventBridge there): hand each completion event to the webhook code in process.
    local_event_handoff: bool = False
    # The return route (GET /return): FaceID sends the person's browser there when the check ends, the outcome
    # is read once and announced, and the browser goes on to the app's page (`off`: FaceID sends it to the
    # app's page directly, and the outcome waits for a read or the sweep).
    faceid_return: bool = True
    # The function's public base URL (the API's, or a custom domain's with its base path), where the return
    # route is; unset: an HTTP start takes it from the request (API Gateway's own domain), an upload has none.
    faceid_public_url: str | None = None

    @field_validator("faceid_intl_config", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value or "{}")
            except ValueError:
                raise ValueError("must be a JSON object") from None
        return value

    @field_validator("faceid_endpoint")
    @classmethod
    def _endpoint_is_a_base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a base URL such as https://faceid.intl.tencentcloudapi.com")
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise ValueError("must be a bare base URL: scheme, host and optional port only")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("cos_endpoint")
    @classmethod
    def _cos_endpoint_is_a_base_url(cls, value: str | None) -> str | None:
        return None if not value else cls._endpoint_is_a_base_url(value)

    @field_validator(
        "idempotency_table",
        "faceid_pacing_table",
        "sessions_table",
        "event_bus_name",
        "webhook_url",
        "webhook_secret_name",
    )
    @classmethod
    def _empty_table_is_off(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("faceid_public_url")
    @classmethod
    def _public_url_is_a_base(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise ValueError("must be an https URL (plain http is allowed for 127.0.0.1/localhost only)")
        if not parts.hostname or parts.query or parts.fragment or parts.username is not None:
            raise ValueError("must be a base URL: scheme, host, optional port and path only")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("faceid_redirect_url")
    @classmethod
    def _redirect_is_absolute(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if not parts.hostname:
            raise ValueError("must be an absolute URL")
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise ValueError("must be https (plain http is allowed for 127.0.0.1/localhost only)")
        return value.strip()

    @field_validator("faceid_redirect_hosts", "faceid_failover_regions", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower().rstrip(".") for h in value.split(",") if h.strip())
        return value

    @field_validator("api_base_paths", mode="before")
    @classmethod
    def _split_base_paths(cls, value: object) -> object:
        if isinstance(value, str):
            paths = ["/" + p.strip().strip("/") for p in value.split(",") if p.strip().strip("/")]
            for path in paths:
                if not _BASE_PATH.fullmatch(path):
                    raise ValueError(f"must be base paths such as /faceid or /v1/faceid (not {path[:64]!r})")
            return tuple(paths)
        return value

    @field_validator("faceid_owner_starts", mode="before")
    @classmethod
    def _count_per_seconds(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().lower() == "off":
            return None
        count, slash, seconds = value.strip().partition("/")
        if not (slash and count.isascii() and count.isdigit() and seconds.isascii() and seconds.isdigit()):
            raise ValueError("must be <count>/<seconds> (e.g. 10/3600) or off")
        if not (1 <= int(count) <= MAX_OWNER_STARTS and 1 <= int(seconds) <= MAX_OWNER_WINDOW_S):
            raise ValueError(f"must count 1-{MAX_OWNER_STARTS} sessions in 1-{MAX_OWNER_WINDOW_S} seconds")
        return (int(count), int(seconds))

    @field_validator("faceid_cos_buckets", mode="before")
    @classmethod
    def _split_buckets(cls, value: object) -> object:
        return cos_bucket_names(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _regions_offer_the_flow(self) -> Settings:
        problem = capability_problem(self.faceid_region, self.faceid_flow, self.s3_uploads) or failover_problem(
            self.regions, self.faceid_flow, self.s3_uploads, ledger=bool(self.sessions_table)
        )
        if self.faceid_rule_id and self.faceid_flow == "legacy":
            problem = "FACEID_RULE_ID needs FACEID_FLOW=intl (ApplyWebVerificationToken takes no RuleId)"
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _waits_fit_the_gateway(self) -> Settings:
        if self.faceid_pacing_table and self.faceid_timeout_s + self.faceid_pacing_max_wait_s > MAX_TIMEOUT_S:
            raise ValueError(
                f"FACEID_TIMEOUT_S + FACEID_PACING_MAX_WAIT_S must be at most {MAX_TIMEOUT_S:g} s "
                "(API Gateway gives up after 29 s)"
            )
        return self

    @model_validator(mode="after")
    def _webhooks_can_sign(self) -> Settings:
        if not self.webhook_url:
            return self
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise ValueError("WEBHOOK_URL must be https (plain http is allowed for 127.0.0.1/localhost only)")
        if not self.webhook_secret and not self.webhook_secret_name:
            raise ValueError("WEBHOOK_URL needs WEBHOOK_SECRET_NAME (or WEBHOOK_SECRET locally) to sign with")
        return self

    @model_validator(mode="after")
    def _owners_need_the_ledger(self) -> Settings:
        # Owner-only reads look the owner up in the ledger: without it no read could be answered.
        if self.auth_required and not self.sessions_table:
            raise ValueError("AUTH_REQUIRED needs SESSIONS_TABLE (only a session's owner may read its result)")
        return self

    @model_validator(mode="after")
    def _owner_limit_has_a_store(self) -> Settings:
        # Counted in the ledger's table (AUTH_REQUIRED needs it anyway); the default limit is off without one.
        if "faceid_owner_starts" in self.model_fields_set and self.faceid_owner_starts and not self.sessions_table:
            raise ValueError("FACEID_OWNER_STARTS needs SESSIONS_TABLE (where each owner's starts are counted)")
        return self

    @model_validator(mode="after")
    def _credentials_present(self) -> Settings:
        if self.faceid_credentials_secret:
            return self
        if not self.tencentcloud_secret_id or not self.tencentcloud_secret_key:
            raise ValueError("set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or FACEID_CREDENTIALS_SECRET")
        return self

    @property
    def regions(self) -> tuple[Region, ...]:
        return (self.faceid_region, *self.faceid_failover_regions)  # where a start may be made, in order

    @property
    def takes_photo(self) -> bool:
        """A start compares the selfie with the caller's photo: the legacy flow, or CheckMode 2 (the default)."""
        return self.faceid_flow == "legacy" or self.faceid_intl_config.compares_with_photo

    @property
    def replay_ttl_s(self) -> int:
        """How long an idempotent answer is replayed: IDEMPOTENCY_TTL_S, but never past the life of the
        BizToken it carries (7,200 s legacy, 10 minutes intl)."""
        return min(self.idempotency_ttl_s, int(FLOWS[self.faceid_flow].token_ttl.total_seconds()))

    @property
    def return_url(self) -> str | None:
        """The return route's address when it is on and the public URL is known (FACEID_PUBLIC_URL)."""
        return f"{self.faceid_public_url}{RETURN_PATH}" if self.faceid_return and self.faceid_public_url else None

    @cached_property
    def allowed_redirect_hosts(self) -> frozenset[str]:
        if self.faceid_redirect_hosts:
            return frozenset(self.faceid_redirect_hosts)
        return frozenset({(urlsplit(self.faceid_redirect_url).hostname or "").lower()})


def _one_line(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        # FACEID_INTL_CONFIG.CheckMode: the variable, then the field of its JSON value
        head, *rest = [str(part) for part in err["loc"]] or [""]
        name = ".".join([head.upper(), *rest])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error" and head in ("faceid_region", "faceid_failover_regions"):
            name, message = head.upper(), f"must be one of {', '.join(REGIONS)}"
        if err["type"] == "missing":
            message = "is required"
        problems.append(f"{name} {message}" if name else message)
    return "faceid-fn configuration error: " + "; ".join(problems)


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError with a single clear line."""
    try:
        fields = Settings.model_fields
        return Settings.model_validate({k.lower(): v for k, v in os.environ.items() if k.lower() in fields})
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
