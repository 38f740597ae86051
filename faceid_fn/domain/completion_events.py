"""The `Verification Completed` event and the webhook body built from it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from faceid_fn.domain.models import FinalStatusName

EVENT_SOURCE = "faceid-fn"
DETAIL_TYPE = "Verification Completed"
WEBHOOK_TYPE = "verification.completed"


class SessionSource(BaseModel):
    """Where the session was started: over HTTP, or by an uploaded object."""

    Type: Literal["http", "s3", "cos"]
    Bucket: str | None = None
    Key: str | None = None


class CompletionDetail(BaseModel):
    """What the `Verification Completed` event (and the webhook's `data`) says about a finished session."""

    model_config = ConfigDict(defer_build=True)  # built when a session first completes, not at cold start

    BizToken: str
    Status: FinalStatusName = Field(description="The final Status (docs/http.md, Result codes: all but pending)")
    ErrorCode: int | None = Field(description="FaceID's result code (null when FaceID never gave one)")
    ErrorMsg: str | None
    Owner: str | None = Field(description="The JWT `sub` that started the session, or the upload's owner")
    Source: SessionSource
    Extra: str | None = Field(description="The caller's reference (intl flow), or the uploaded object's name")
    RequestId: str | None = Field(description="FaceID's RequestId of the read that found the final status")
    CompletedAt: str = Field(description="When the final status was found (UTC, ISO 8601)")


class WebhookPayload(BaseModel):
    """The body POSTed to WEBHOOK_URL (Standard Webhooks: `type`, `timestamp`, `data`)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["verification.completed"]
    timestamp: str
    data: CompletionDetail


# A redaction (POST /verifications/{BizToken}/redact) is announced once too, on the same bus and webhook.
REDACTED_DETAIL_TYPE = "Verification Redacted"
REDACTED_WEBHOOK_TYPE = "verification.redacted"


class RedactionDetail(BaseModel):
    """What the `Verification Redacted` event (and its webhook's `data`) says: nothing of the person."""

    model_config = ConfigDict(defer_build=True)

    BizToken: str
    Status: FinalStatusName = Field(description="The session's final Status, kept for the audit")
    Owner: str | None
    RedactedAt: str = Field(description="When its personal data was deleted (UTC, ISO 8601)")


class RedactionWebhookPayload(BaseModel):
    """The body POSTed to WEBHOOK_URL for a redaction (Standard Webhooks: `type`, `timestamp`, `data`)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["verification.redacted"]
    timestamp: str
    data: RedactionDetail
