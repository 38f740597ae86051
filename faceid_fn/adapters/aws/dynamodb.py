"""A thin DynamoDB client for the session ledger and the pacer: DynamoDB's JSON protocol over `requests`,
SigV4-signed by `requests-aws4auth`, answering and failing as boto3's low-level client does (no boto3,
no service model)."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import requests
from requests_aws4auth import AWS4Auth  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

from faceid_fn.adapters.aws.client_config import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from faceid_fn.adapters.aws.client_config import DYNAMODB_MAX_ATTEMPTS as MAX_ATTEMPTS

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
BACKOFF_BASE_S = 0.05
RETRIED_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)


def endpoint_url(region: str) -> str:
    """Where DynamoDB is: the configured endpoint (botocore's variables) or the region's public one."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        configured = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
        if configured:
            return configured
    return f"https://dynamodb.{region}.amazonaws.com/"


class _Exceptions:
    """`client.exceptions.<Code>`: one ClientError subclass per error code, made on first use (as boto3's)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[ClientError]] = {}
        self._lock = threading.Lock()

    def of(self, code: str) -> type[ClientError]:
        from botocore.exceptions import ClientError

        with self._lock:
            found = self._classes.get(code)
            if found is None:
                found = type(code, (ClientError,), {})
                self._classes[code] = found
            return found

    def __getattr__(self, code: str) -> type[ClientError]:
        if code.startswith("_"):
            raise AttributeError(code)
        return self.of(code)


class DynamoDB:
    """DynamoDB's JSON protocol over one `requests.Session`, SigV4-signed (see the module's docstring)."""

    def __init__(self, region: str | None = None, endpoint: str | None = None) -> None:
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.endpoint = endpoint or endpoint_url(self.region)
        self.exceptions = _Exceptions()
        self._session: requests.Session | None = None
        self._signer: _Signer | None = None
        self._lock = threading.Lock()

    # The operations the ledger calls (same keyword arguments as boto3's client).
    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("GetItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self.call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self.call("DeleteItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self.call("Query", params)

    def close(self) -> None:
        """Close pooled connections and forget the credentials (both come back on next use)."""
        with self._lock:
            session, self._session, self._signer = self._session, None, None
        if session is not None:
            session.close()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB operation (`PutItem`...): its answer, or ClientError / BotoCoreError."""
        body = json.dumps(params, separators=(",", ":")).encode()
        attempt = 1
        while True:
            try:
                response = self._send(operation, body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = self._connection_error(exc)
                if attempt >= MAX_ATTEMPTS or not _retried_failure(exc):
                    raise failure from exc
            else:
                if response.status_code < 300:
                    answer: dict[str, Any] = response.json() if response.content else {}
                    answer["ResponseMetadata"] = _metadata(response, attempt - 1)
                    return answer
                error = self._client_error(operation, response, attempt - 1)
                code = error.response["Error"]["Code"]
                if attempt >= MAX_ATTEMPTS or not (code in RETRIED_CODES or response.status_code >= 500):
                    raise error
            time.sleep(random.uniform(0, BACKOFF_BASE_S * 2 ** (attempt - 1)))  # noqa: S311 (jitter, not a secret)
            attempt += 1

    def _send(self, operation: str, body: bytes) -> requests.Response:
        session, signer = self._connection()
        return session.post(
            self.endpoint,
            data=body,
            headers={"X-Amz-Target": TARGET_PREFIX + operation, "Content-Type": CONTENT_TYPE},
            auth=signer,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        )

    def _connection(self) -> tuple[requests.Session, _Signer]:
        with self._lock:
            if self._session is None:
                self._session = requests.Session()
            if self._signer is None:
                self._signer = _Signer(self.region)
            return self._session, self._signer

    def _client_error(self, operation: str, response: requests.Response, retries: int) -> ClientError:
        try:
            parsed = response.json()
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        kind = str(parsed.pop("__type", "") or response.headers.get("x-amzn-ErrorType", ""))
        code = kind.rsplit("#", 1)[-1].split(":", 1)[0] or str(response.status_code)
        message = parsed.pop("message", None) or parsed.pop("Message", None) or ""
        error_response: Any = {
            **parsed,
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": _metadata(response, retries),
        }
        return self.exceptions.of(code)(error_response, operation)

    def _connection_error(self, exc: Exception) -> Exception:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        if isinstance(exc, requests.ConnectTimeout):
            return ConnectTimeoutError(endpoint_url=self.endpoint, error=exc)
        if isinstance(exc, requests.Timeout):
            return ReadTimeoutError(endpoint_url=self.endpoint, error=exc)
        return EndpointConnectionError(endpoint_url=self.endpoint, error=exc)


class _Signer(requests.auth.AuthBase):
    """SigV4 for `dynamodb` in one region: requests-aws4auth's AWS4Auth, one request at a time (it keeps
    the signing key, and refreshed credentials, on the instance)."""

    def __init__(self, region: str) -> None:
        access_key, secret_key = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if access_key and secret_key:
            token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN") or None
            self._auth = AWS4Auth(access_key, secret_key, region, "dynamodb", session_token=token)
        else:
            self._auth = AWS4Auth(region=region, service="dynamodb", refreshable_credentials=chain_credentials())
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            signed: requests.PreparedRequest = self._auth(request)
            return signed


def chain_credentials() -> Any:
    """AWS credentials from botocore's whole resolver chain (when the environment has none)."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()
    return found


def _retried_failure(exc: Exception) -> bool:
    """A connection that failed or did not open in time is retried; a read that timed out is not."""
    return isinstance(exc, requests.ConnectTimeout) or not isinstance(exc, requests.Timeout)


def _metadata(response: requests.Response, retries: int) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return {
        "RequestId": headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": response.status_code,
        "HTTPHeaders": headers,
        "RetryAttempts": retries,
    }
