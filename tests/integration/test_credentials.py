"""Tencent credentials from AWS Secrets Manager (moto), read with Powertools Parameters and rotated."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from faceid_fn.config import ConfigError
from tests.aws import AWS_REGION
from tests.clock import Clock
from tests.conftest import Emulator, LogLines, Response, http_event, start_body
from tests.secret_scan import find_secrets

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.legacy_flow]

SECRET_NAME = "faceid-fn/tencent-credentials"
KEY_A = "RotatingSecretKeyA000000000000000000"
KEY_B = "RotatingSecretKeyB000000000000000000"


def put_secret(value: dict[str, Any], *, create: bool = False) -> None:
    client = boto3.client("secretsmanager", region_name=AWS_REGION)
    if create:
        client.create_secret(Name=SECRET_NAME, SecretString=json.dumps(value))
    else:
        client.put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(value))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock the cached secret's age is counted on: it stands still until a test moves it."""
    from faceid_fn.adapters.tencent import credentials

    now = Clock(1000.0)
    monkeypatch.setattr(credentials, "monotonic", now)
    return now


@pytest.fixture
def secret_env(
    configure: Callable[..., None], emulator: Emulator, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Emulator:
    # GIVEN the emulator knows two credentials, and the function reads its own from Secrets Manager
    # (FACEID_CREDENTIALS_MAX_AGE_S=1: the secret read at 1000.0 on the clock serves until 1001.0)
    emulator.state.credentials.update({"AKIDrotationA": KEY_A, "AKIDrotationB": KEY_B})
    put_secret({"SecretId": "AKIDrotationA", "SecretKey": KEY_A}, create=True)
    configure(FACEID_CREDENTIALS_SECRET=SECRET_NAME, FACEID_CREDENTIALS_MAX_AGE_S="1")
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name)
    return emulator


def signer(emulator: Emulator) -> str:
    return str(emulator.calls[-1]["secret_id"])


def test_rotated_secret_is_used_without_a_redeploy(
    secret_env: Emulator, invoke: Callable[[dict[str, Any]], Response], logs: LogLines, clock: Clock
) -> None:
    assert invoke(http_event(body=start_body())).status == 201
    assert signer(secret_env) == "AKIDrotationA"
    # WHEN the secret is rotated THEN the cached value serves until its max age, then the new one
    put_secret({"SecretId": "AKIDrotationB", "SecretKey": KEY_B})
    import handler  # the same warm container: no reload
    from tests.conftest import LambdaContext

    def warm(event: dict[str, Any]) -> Response:
        return Response.of(handler.handler(event, LambdaContext()))

    clock.now = 1000.5
    assert warm(http_event(body=start_body())).status == 201
    assert signer(secret_env) == "AKIDrotationA"
    clock.now = 1001.0  # FACEID_CREDENTIALS_MAX_AGE_S=1 has passed
    del secret_env.state.credentials["AKIDrotationA"]  # the old key is revoked upstream
    assert warm(http_event(body=start_body())).status == 201
    assert signer(secret_env) == "AKIDrotationB"
    [rotated] = logs.records("rotated Tencent credentials picked up")
    assert rotated["secret_id"] == "AKID***"  # a SecretId is logged by its first 4 characters only
    assert find_secrets(logs.text, [KEY_A, KEY_B, "AKIDrotationA", "AKIDrotationB"]) == []


def test_session_token_of_temporary_credentials_is_sent(
    secret_env: Emulator, configure: Callable[..., None], invoke: Callable[[dict[str, Any]], Response]
) -> None:
    put_secret({"SecretId": "AKIDrotationA", "SecretKey": KEY_A, "Token": "SessionTokenForTestsOnly0000000000000"})
    assert invoke(http_event(body=start_body())).status == 201
    assert secret_env.calls[-1]["token"] == "SessionTokenForTestsOnly0000000000000"


def test_missing_secret_fails_at_cold_start_with_one_line(
    configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(FACEID_CREDENTIALS_SECRET="faceid-fn/does-not-exist")
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    from faceid_fn import container

    with pytest.raises(
        ConfigError, match=r"^faceid-fn configuration error: The Tencent credentials secret could not be read$"
    ):
        container.check_configuration()


@pytest.mark.parametrize("value", [{"SecretId": "AKIDx"}, {"Key": "x"}, "not json"])
def test_malformed_secret_fails_at_cold_start(
    configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch, value: Any
) -> None:
    client = boto3.client("secretsmanager", region_name=AWS_REGION)
    client.create_secret(Name="faceid-fn/bad", SecretString=value if isinstance(value, str) else json.dumps(value))
    configure(FACEID_CREDENTIALS_SECRET="faceid-fn/bad")
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    from faceid_fn import container

    with pytest.raises(ConfigError):
        container.check_configuration()


def test_unreadable_secret_later_keeps_the_last_good_value(
    secret_env: Emulator, invoke: Callable[[dict[str, Any]], Response], logs: LogLines, clock: Clock
) -> None:
    assert invoke(http_event(body=start_body())).status == 201
    boto3.client("secretsmanager", region_name=AWS_REGION).delete_secret(
        SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True
    )
    clock.now = 1001.0  # past the max age: the next request must try to refresh
    import handler
    from tests.conftest import LambdaContext

    assert Response.of(handler.handler(http_event(body=start_body()), LambdaContext())).status == 201
    assert "using the last good value" in logs.text


def test_cos_is_signed_with_the_tencent_credentials_from_the_secret_and_follows_a_rotation(
    secret_env: Emulator, configure: Callable[..., None], lambda_context: Any, clock: Clock
) -> None:
    # GIVEN a COS upload record (the photo is already in COS) while credentials come from the secret
    from urllib.parse import parse_qs, urlsplit

    import handler
    from local.sample_photo import png
    from tests.aws import cos_record, md5

    photo = png()
    event = {"Records": [cos_record("reference/alice.png", size=len(photo), md5_meta=md5(photo))]}

    def presigned_by() -> str:
        summary = handler.handler(json.loads(json.dumps(event)), lambda_context)
        assert summary["Failures"] == []
        query = parse_qs(urlsplit(secret_env.calls[-1]["params"]["CompareImageUrl"]).query)
        assert "X-Amz-Security-Token" not in query  # no AWS session token handed to Tencent
        return query["X-Amz-Credential"][0].split("/")[0]

    # WHEN FaceID is sent the pre-signed COS URL
    # THEN it is signed with the secret's Tencent SecretId, never with the function's AWS credentials
    assert presigned_by() == "AKIDrotationA"
    # AND after a rotation (and the cache's max age), with the new one
    put_secret({"SecretId": "AKIDrotationB", "SecretKey": KEY_B})
    assert presigned_by() == "AKIDrotationA"  # within the max age
    clock.now = 1001.0
    assert presigned_by() == "AKIDrotationB"
