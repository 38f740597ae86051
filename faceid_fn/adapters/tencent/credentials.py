"""Tencent credentials for the SDK: from the environment, or from Secrets Manager (the Parameters and
Secrets extension, else Powertools Parameters), read again within FACEID_CREDENTIALS_MAX_AGE_S."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.observability import logger
from faceid_fn.redaction import register_secret, register_secret_id

CREDENTIALS_UNAVAILABLE = "CredentialsUnavailable"

# The extension's settings, as AWS names them (set in serverless.yml next to the layer).
EXTENSION_PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
EXTENSION_TTL_ENV = "SECRETS_MANAGER_TTL"
EXTENSION_DEFAULT_PORT = 2773
EXTENSION_DEFAULT_TTL_S = 300  # the extension's own default when SECRETS_MANAGER_TTL is unset
EXTENSION_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 (a header name)
# The extension answers from its cache at once; on a miss it asks Secrets Manager (as boto3 would).
EXTENSION_TIMEOUT_S = (1.0, 5.0)


def monotonic() -> float:
    """The clock a cached secret's age is counted on: the default, looked up at every use, so that a test
    can move it past FACEID_CREDENTIALS_MAX_AGE_S."""
    return time.monotonic()


class TencentCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    SecretId: str = Field(min_length=1)
    SecretKey: str = Field(min_length=1, repr=False)
    Token: str | None = Field(default=None, repr=False)

    def info(self) -> tuple[str, str, str | None]:
        return self.SecretId, self.SecretKey, self.Token or None


class ExtensionUnavailable(Exception):
    """Nothing answers on the extension's port: the layer is not there."""


class SecretUnreadable(Exception):
    """The secret could not be read or is not JSON (the reason is a type name, never a value)."""


class ExtensionSecrets:
    """GET a secret from the AWS Parameters and Secrets Lambda Extension on localhost."""

    def __init__(self, port: int, token: str, ttl_s: int) -> None:
        self.port = port
        self.ttl_s = ttl_s
        self._token = token
        self._session = requests.Session()
        self._session.trust_env = False  # localhost: no proxy from the environment, no ~/.netrc

    @classmethod
    def from_environment(cls) -> ExtensionSecrets | None:
        """The extension's client, or None where it cannot be used (no session token to show it)."""
        token = os.environ.get("AWS_SESSION_TOKEN")
        if not token:
            return None
        register_secret(token)  # sent in the extension's token header
        try:
            port = int(os.environ.get(EXTENSION_PORT_ENV) or EXTENSION_DEFAULT_PORT)
            ttl_s = int(os.environ.get(EXTENSION_TTL_ENV) or EXTENSION_DEFAULT_TTL_S)
        except ValueError:
            logger.warning("Parameters and Secrets extension settings are not numbers; not using it")
            return None
        return cls(port, token, ttl_s)

    def get(self, secret_id: str) -> str:
        """The secret's SecretString. Raises ExtensionUnavailable or SecretUnreadable."""
        url = f"http://localhost:{self.port}/secretsmanager/get?secretId={quote(secret_id, safe='')}"
        try:
            answer = self._session.get(url, headers={EXTENSION_TOKEN_HEADER: self._token}, timeout=EXTENSION_TIMEOUT_S)
        except requests.ConnectionError:  # refused (or no connection at all): no extension listens
            raise ExtensionUnavailable from None
        except requests.RequestException as exc:
            raise SecretUnreadable(type(exc).__name__) from None
        if answer.status_code != 200:
            raise SecretUnreadable(f"extension answered HTTP {answer.status_code}")
        try:
            value = answer.json()["SecretString"]
        except (ValueError, KeyError, TypeError):
            raise SecretUnreadable("extension answer without SecretString") from None
        if not isinstance(value, str):
            raise SecretUnreadable("SecretString is not a string")
        return value

    def close(self) -> None:
        self._session.close()


class SecretsManagerCredential:
    """A credential provider for the Tencent SDK backed by one Secrets Manager secret."""

    def __init__(
        self,
        secret_name: str,
        max_age_s: int,
        provider: Any = None,
        extension: ExtensionSecrets | None = None,
        *,
        use_extension: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._secret_name = secret_name
        self._max_age_s = max_age_s
        self._provider = provider  # Powertools SecretsProvider, built on first use (it imports boto3)
        if extension is None and use_extension:
            extension = ExtensionSecrets.from_environment()
        self._extension = extension
        self._clock = clock
        self._last_good: TencentCredentials | None = None
        self._fresh_until: float | None = None
        self._told_fallback = False
        if self._extension is not None and self._extension.ttl_s > max_age_s:
            logger.warning(
                "SECRETS_MANAGER_TTL is longer than FACEID_CREDENTIALS_MAX_AGE_S: a rotation may show late",
                extra={"extension_ttl_s": self._extension.ttl_s, "max_age_s": max_age_s},
            )

    @property
    def source(self) -> str:
        """Where the next read goes first: "extension" or "boto3"."""
        return "extension" if self._extension is not None else "boto3"

    def get_credential_info(self) -> tuple[str, str, str | None]:
        if self._last_good is not None and self._fresh_until is not None and self._now() < self._fresh_until:
            return self._last_good.info()
        try:
            value, own_max_age_s = self._read()
            credentials = TencentCredentials.model_validate(value)
        except (SecretUnreadable, ValidationError) as exc:
            error = str(exc) if isinstance(exc, SecretUnreadable) else type(exc).__name__
            if self._last_good is not None:
                logger.warning("credentials secret unreadable; using the last good value", extra={"error": error})
                return self._last_good.info()
            logger.error("credentials secret unreadable", extra={"error": error})
            raise TencentCloudSDKException(
                CREDENTIALS_UNAVAILABLE, "The Tencent credentials secret could not be read"
            ) from None
        self._fresh_until = self._now() + own_max_age_s
        if credentials != self._last_good:
            register_secret(credentials.SecretKey)
            register_secret(credentials.Token)
            register_secret_id(credentials.SecretId)
            if self._last_good is not None:
                logger.info("rotated Tencent credentials picked up", extra={"secret_id": credentials.SecretId})
            self._last_good = credentials
        return credentials.info()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else monotonic()

    def expire(self) -> None:
        """Read the secret again on next use (after a SnapStart restore: the snapshot may be old).
        The last good value stays as the fallback for a failed read; pooled connections are closed."""
        self._fresh_until = None
        if self._extension is not None:
            self._extension.close()
        if self._provider is not None:
            self._provider.clear_cache()

    def _read(self) -> tuple[Any, float]:
        """The secret's parsed JSON, and how long to keep it here."""
        if self._extension is not None:
            try:
                raw = self._extension.get(self._secret_name)
            except ExtensionUnavailable:
                if not self._told_fallback:
                    logger.info("Parameters and Secrets extension not reachable; reading the secret with boto3")
                    self._told_fallback = True
            else:
                try:
                    value = json.loads(raw)
                except ValueError:
                    raise SecretUnreadable("secret is not JSON") from None
                return value, max(0, self._max_age_s - self._extension.ttl_s)
        return self._from_provider(), self._max_age_s

    def _from_provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from faceid_fn.adapters.aws.client_config import bounded_config

            self._provider = SecretsProvider(boto_config=bounded_config())
        try:
            # Read through: when to read again is this object's decision (its clock), not a second cache's.
            return self._provider.get(self._secret_name, transform="json", force_fetch=True)
        except (GetParameterError, TransformParameterError) as exc:
            raise SecretUnreadable(type(exc).__name__) from None
