"""Tencent credentials for the SDK: from the environment, or from AWS Secrets Manager.

With FACEID_CREDENTIALS_SECRET set, the SDK asks `get_credential_info()` before signing each request;
the secret (JSON `{"SecretId", "SecretKey"[, "Token"]}`) is read with Powertools Parameters and cached
for FACEID_CREDENTIALS_MAX_AGE_S, so a rotated secret is used without a redeploy. If a refresh fails,
the last good value is kept (and the failure logged) rather than failing requests that it can still sign.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.observability import logger
from faceid_fn.redaction import register_secret

CREDENTIALS_UNAVAILABLE = "CredentialsUnavailable"


class TencentCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    SecretId: str = Field(min_length=1)
    SecretKey: str = Field(min_length=1, repr=False)
    Token: str | None = Field(default=None, repr=False)

    def info(self) -> tuple[str, str, str | None]:
        return self.SecretId, self.SecretKey, self.Token or None


class SecretsManagerCredential:
    """A credential provider for the Tencent SDK backed by one Secrets Manager secret."""

    def __init__(self, secret_name: str, max_age_s: int, provider: Any = None) -> None:
        if provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from faceid_fn.aws import bounded_config

            provider = SecretsProvider(boto_config=bounded_config())
        self._provider = provider
        self._secret_name = secret_name
        self._max_age_s = max_age_s
        self._last_good: TencentCredentials | None = None

    def get_credential_info(self) -> tuple[str, str, str | None]:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        try:
            value = self._provider.get(self._secret_name, transform="json", max_age=self._max_age_s)
            credentials = TencentCredentials.model_validate(value)
        except (GetParameterError, TransformParameterError, ValidationError) as exc:
            if self._last_good is not None:
                logger.warning(
                    "credentials secret unreadable; using the last good value", extra={"error": type(exc).__name__}
                )
                return self._last_good.info()
            logger.error("credentials secret unreadable", extra={"error": type(exc).__name__})
            raise TencentCloudSDKException(
                CREDENTIALS_UNAVAILABLE, "The Tencent credentials secret could not be read"
            ) from None
        if credentials != self._last_good:
            register_secret(credentials.SecretKey)
            register_secret(credentials.Token)
            if self._last_good is not None:
                logger.info("rotated Tencent credentials picked up", extra={"secret_id": credentials.SecretId})
            self._last_good = credentials
        return credentials.info()
