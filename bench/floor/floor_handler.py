"""The design card's floor: the smallest honest function that does what the card requires, and nothing more.

Pydantic validation and Powertools routing (`APIGatewayHttpResolver(enable_validation=True)`, one route,
`POST /verifications`), structured tracing (Powertools Tracer: the handler, and the FaceID call with its
annotations; only `requests` patched at init; when tracing is off, a do-nothing provider), Powertools
Logger (as the baseline), the FaceID call through the common SDK's `CommonClient` built once at init (as
ours). As deployed: the Tencent credentials read at init with one GET to the Parameters and Secrets
extension, and one DynamoDB PutItem per start (the session ledger) as a plain `requests` POST signed with
requests-aws4auth. No settings model, no policies, no metrics, no retries, no error envelope beyond one
line: what ours adds on top of this is ours' own cost.

Run by bench/worker.py from ours' venv with the artifact's dependencies (its lazy package inits) on sys.path.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment
from pydantic import BaseModel, Field
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile


class NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class NoTracing(BaseProvider):
    """What a disabled Tracer calls: nothing. With Powertools' default provider, a Tracer disabled by
    POWERTOOLS_TRACE_DISABLED still imports the X-Ray SDK and builds its recorder (outside Lambda, with
    its centralized sampler's botocore client: about 140 ms), which tracing off needs not (ours does this too)."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        yield NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Any) -> None: ...
    def patch_all(self) -> None: ...


logger = Logger(service="faceid-floor")
if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true", "yes", "on"):
    tracer = Tracer(service="faceid-floor", provider=NoTracing(), disabled=True)
else:
    tracer = Tracer(service="faceid-floor", patch_modules=["requests"])  # only what init imports anyway
app = APIGatewayHttpResolver(enable_validation=True)


class StartVerification(BaseModel):
    CompareImageUrl: str
    CompareImageMd5: str = Field(pattern=r"^[0-9a-fA-F]{32}$")


def tencent_credentials() -> Credential:
    """From the secret through the Parameters and Secrets extension (as deployed), else from the environment."""
    secret = os.environ.get("FACEID_CREDENTIALS_SECRET")
    if not secret:
        return Credential(os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"])
    port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
    answer = requests.get(
        f"http://localhost:{port}/secretsmanager/get?secretId={quote(secret, safe='')}",
        headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]},
        timeout=5,
    )
    answer.raise_for_status()
    value = json.loads(answer.json()["SecretString"])
    return Credential(value["SecretId"], value["SecretKey"])


endpoint = urlsplit(os.environ.get("FACEID_ENDPOINT", "https://faceid.intl.tencentcloudapi.com"))
faceid = CommonClient(
    "faceid",
    "2018-03-01",
    tencent_credentials(),
    os.environ.get("FACEID_REGION", "ap-singapore"),
    profile=ClientProfile(httpProfile=HttpProfile(protocol=endpoint.scheme, endpoint=endpoint.netloc)),
)

SESSIONS_TABLE = os.environ.get("SESSIONS_TABLE")
if SESSIONS_TABLE:
    from requests_aws4auth import AWS4Auth

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    dynamodb_url = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or f"https://dynamodb.{region}.amazonaws.com/"
    dynamodb_auth = AWS4Auth(
        os.environ["AWS_ACCESS_KEY_ID"],
        os.environ["AWS_SECRET_ACCESS_KEY"],
        region,
        "dynamodb",
        session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )
    dynamodb = requests.Session()


def record_start(biz_token: str) -> None:
    """The session ledger's item (its key, BizToken, and a few attributes): one PutItem."""
    item = {
        "BizToken": {"S": biz_token},
        "Status": {"S": "pending"},
        "CreatedAt": {"N": str(int(time.time()))},
    }
    answer = dynamodb.post(
        dynamodb_url,
        data=json.dumps({"TableName": SESSIONS_TABLE, "Item": item}),
        headers={"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"},
        auth=dynamodb_auth,
        timeout=(2, 5),
    )
    answer.raise_for_status()


@tracer.capture_method(capture_response=False)
def apply_web_verification_token(body: StartVerification) -> dict:
    params = {
        "RedirectUrl": os.environ["FACEID_REDIRECT_URL"],
        "CompareImageUrl": body.CompareImageUrl,
        "CompareImageMd5": body.CompareImageMd5,
    }
    try:
        answer = faceid.call_json("ApplyWebVerificationToken", params)["Response"]
    except TencentCloudSDKException as err:
        tracer.put_annotation("RequestId", err.get_request_id() or "")
        tracer.put_annotation("outcome", err.get_code() or "error")
        raise
    tracer.put_annotation("RequestId", answer["RequestId"])
    tracer.put_annotation("outcome", "ok")
    return answer


@app.post("/verifications")
def start_verification(body: StartVerification) -> Response[str]:
    try:
        answer = apply_web_verification_token(body)
    except TencentCloudSDKException as err:
        logger.warning("ApplyWebVerificationToken failed", extra={"code": err.get_code()})
        return Response(HTTPStatus.BAD_GATEWAY, content_types.APPLICATION_JSON, json.dumps({"error": err.get_code()}))
    if SESSIONS_TABLE:
        record_start(answer["BizToken"])
    logger.info("verification started", extra={"request_id": answer["RequestId"]})
    session = {key: answer[key] for key in ("BizToken", "VerificationUrl", "RequestId")}
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, json.dumps(session))


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
