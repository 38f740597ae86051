"""The COS forwarder: a Tencent SCF event function (runtime Python 3.10) that hands each COS upload event
to faceid-fn's API function on AWS, with Lambda's asynchronous Invoke.

COS notifies only SCF functions in the bucket's own region, and no Tencent service posts COS events to an
address on AWS: this function, triggered on `cos:ObjectCreated:*`, is that hop. It POSTs the event's
`Records`, unchanged but for the uploader's credentials (its request's `Authorization` header), to
`/2015-03-31/functions/<FORWARD_FUNCTION>/invocations` with `X-Amz-Invocation-Type: Event`, and Lambda
answers 202 once it has queued the invocation. A refusal, or no answer, raises: SCF reports a failed
invocation and retries COS's asynchronous invocation. Every repeat (SCF's, Lambda's, COS's own
at-least-once delivery) is absorbed by the API function's idempotency table. docs/deploying.md,
"The COS path", has the whole path, the configuration and the deploy command.

SigV4 is signed by hand with the standard library only: SCF's Python runtimes ship no libraries (no
boto3), and this file is all that is deployed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

# The SCF environment variables it reads (FORWARD_*: nothing SCF or an AWS SDK sets itself).
FUNCTION_ENV = "FORWARD_FUNCTION"  # the COS uploads function's ARN (stack output CosForwarderTarget) or name
REGION_ENV = "FORWARD_AWS_REGION"  # its AWS region
KEY_ID_ENV = "FORWARD_AWS_ACCESS_KEY_ID"  # the access key of the stack's CosForwarderUser
SECRET_ENV = "FORWARD_AWS_SECRET_ACCESS_KEY"  # noqa: S105 (a variable's name, not its value)
ENDPOINT_ENV = "FORWARD_LAMBDA_ENDPOINT"  # optional: tests and the local stack (serverless-offline)
REQUIRED = (FUNCTION_ENV, REGION_ENV, KEY_ID_ENV, SECRET_ENV)

# The uploader's credentials in a COS record (its request's signature, a temporary key's token): they stay
# on Tencent's side, whatever the case of the header's name.
UPLOADER_CREDENTIAL_HEADERS = frozenset({"authorization", "x-cos-security-token"})

# Lambda queues an asynchronous invocation and answers at once; a request that takes longer has failed,
# and SCF's retry is the better next attempt (SCF's own timeout, in serverless.yml, is longer than this).
TIMEOUT_S = 10.0
SERVICE = "lambda"
ALGORITHM = "AWS4-HMAC-SHA256"


class ForwardFailed(Exception):
    """The event was not handed to Lambda; raised to SCF, which retries the invocation. Its message names
    what failed (the status, AWS's error type and RequestId), never a key, a signature or the event."""


@dataclass(frozen=True)
class Config:
    function: str
    region: str
    endpoint: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Config:
        missing = [name for name in REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise ForwardFailed(f"missing configuration (SCF environment variables): {', '.join(missing)}")
        region = env[REGION_ENV].strip()
        endpoint = env.get(ENDPOINT_ENV, "").strip().rstrip("/") or _default_endpoint(region)
        parts = urlsplit(endpoint)
        # Plain http only on this machine (tests, the local stack): anywhere else the records and the signed
        # request travel over TLS.
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ForwardFailed(f"{ENDPOINT_ENV} must be an https URL (http only on 127.0.0.1)")
        return cls(
            function=env[FUNCTION_ENV].strip(),
            region=region,
            endpoint=endpoint,
            access_key_id=env[KEY_ID_ENV].strip(),
            secret_access_key=env[SECRET_ENV].strip(),
        )


def _default_endpoint(region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://lambda.{region}.{suffix}"


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    """SCF's entry point (index.main_handler): forward the event's Records, or raise."""
    config = Config.from_environment(os.environ)
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise ForwardFailed("the event holds no Records: nothing to forward (is the trigger a COS trigger?)")
    body = json.dumps(
        {"Records": [without_uploader_credentials(r) for r in records]}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    # The upload's request id: the API function's log lines for each record carry it as correlation_id.
    fields = {"records": len(records), "correlation_ids": [_upload_request_id(r) for r in records]}
    try:
        status, request_id = invoke(config, body)
    except ForwardFailed as failed:
        _log("ERROR", str(failed), **fields)
        raise
    _log("INFO", "forwarded to Lambda", status=status, aws_request_id=request_id, **fields)
    return {"Forwarded": len(records), "StatusCode": status, "RequestId": request_id}


def without_uploader_credentials(record: Any) -> Any:
    """The record with `event.requestParameters.requestHeaders` less the uploader's credentials (a copy:
    the event SCF handed us is left as it is)."""
    event = record.get("event") if isinstance(record, dict) else None
    parameters = event.get("requestParameters") if isinstance(event, dict) else None
    headers = parameters.get("requestHeaders") if isinstance(parameters, dict) else None
    if not (isinstance(event, dict) and isinstance(parameters, dict) and isinstance(headers, dict)):
        return record
    kept = {name: value for name, value in headers.items() if str(name).lower() not in UPLOADER_CREDENTIAL_HEADERS}
    return {**record, "event": {**event, "requestParameters": {**parameters, "requestHeaders": kept}}}


def _upload_request_id(record: Any) -> str | None:
    event = record.get("event") if isinstance(record, dict) else None
    reqid = event.get("reqid") if isinstance(event, dict) else None
    return None if reqid is None else str(reqid)


# -- Lambda's Invoke, signed ---------------------------------------------------------------------------


def invoke(config: Config, body: bytes, now: datetime | None = None) -> tuple[int, str]:
    """POST the body as an asynchronous invocation; (status, AWS RequestId) once Lambda took it."""
    # The path names the function percent-encoded (an ARN's colons too), as AWS's SDKs send it.
    url = f"{config.endpoint}/2015-03-31/functions/{quote(config.function, safe='')}/invocations"
    headers = {"content-type": "application/json", "x-amz-invocation-type": "Event"}
    headers = sign("POST", url, headers, body, config, now or datetime.now(timezone.utc))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (https, or http on loopback: Config)
    host = urlsplit(url).netloc
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as answer:
            return answer.status, answer.headers.get("x-amzn-RequestId", "")
    except urllib.error.HTTPError as refused:
        with refused:
            detail = refused.read(64 * 1024)
        answered = {name.lower(): value for name, value in refused.headers.items()}
        raise ForwardFailed(_refusal(config, refused.code, answered, detail)) from None
    except (OSError, http.client.HTTPException) as unreachable:  # URLError, timeouts, resets
        reason = getattr(unreachable, "reason", None) or unreachable
        raise ForwardFailed(
            f"Lambda at {host} did not take the invocation: {type(reason).__name__}: {reason}"
            " (it may have been queued all the same; SCF retries, and the API function absorbs a repeat)"
        ) from None


def sign(
    method: str, url: str, headers: Mapping[str, str], body: bytes, config: Config, now: datetime
) -> dict[str, str]:
    """The headers with SigV4's (host, x-amz-date, authorization) added: every header given is signed."""
    parts = urlsplit(url)
    amz_date = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signed = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    signed.update({"host": parts.netloc, "x-amz-date": amz_date})
    names = sorted(signed)
    canonical_request = "\n".join(
        [
            method,
            quote(parts.path, safe="/~"),  # every service but S3 signs the path encoded once more
            "",  # no query string
            *(f"{name}:{signed[name]}" for name in names),
            "",
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{config.region}/{SERVICE}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = ("AWS4" + config.secret_access_key).encode("utf-8")
    for part in (amz_date[:8], config.region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={config.access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**signed, "authorization": authorization}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Lambda never redirects an Invoke: a 3xx is an answer from something else, and a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment either: the signed request goes to Lambda's endpoint and nowhere else.
_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))

# What to check, by status, when Lambda refuses (its error type says which; SCF retries in every case).
_HINTS = {
    400: "the request was refused as it is (not JSON, or too large)",
    401: f"check {KEY_ID_ENV} and {SECRET_ENV}",
    403: f"check {KEY_ID_ENV} and {SECRET_ENV}, and that the key's user (CosForwarderUser) may invoke {FUNCTION_ENV}",
    404: f"check {FUNCTION_ENV} and {REGION_ENV}",
    413: "the event is larger than Lambda takes",
    429: "Lambda throttled the request",
}


def _refusal(config: Config, status: int, headers: Mapping[str, str], detail: bytes) -> str:
    """Status, AWS's error type and RequestId (`headers` by lower-case name). Not AWS's message: that of an
    InvalidSignatureException repeats the request it expected to be signed."""
    error_type = (headers.get("x-amzn-errortype") or "").split(":", 1)[0].strip()
    if not error_type:
        try:
            parsed = json.loads(detail)
        except ValueError:
            parsed = None
        raw = (parsed.get("__type") or parsed.get("code")) if isinstance(parsed, dict) else None
        error_type = str(raw).rsplit("#", 1)[-1] if raw else "no error type"
    hint = _HINTS.get(status, "Lambda failed" if status >= 500 else "an unexpected answer")
    request_id = headers.get("x-amzn-requestid") or "none"
    return (
        f"Lambda refused the invocation of {config.function}: HTTP {status} {error_type[:100]}"
        f" (RequestId {request_id[:100]}): {hint}"
    )


def _log(level: str, message: str, **fields: Any) -> None:
    """One JSON line on stdout, which SCF keeps as the invocation's log."""
    print(json.dumps({"level": level, "message": message, **fields}), flush=True)
