"""Tencent credentials through the AWS Parameters and Secrets Lambda Extension (a stand-in on 127.0.0.1),
and Powertools Parameters (moto) when the extension is not there."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from faceid_fn.config import ConfigError
from local.secrets_extension import SecretsExtension
from tests.aws import AWS_REGION
from tests.clock import Clock
from tests.conftest import (
    ROOT,
    SECRET_NAME,
    SESSION_TOKEN,
    Emulator,
    LambdaContext,
    LogLines,
    Response,
    free_port,
    http_event,
    start_body,
)
from tests.secret_scan import find_secrets

# Written for the legacy flow (COS URL sent as is), as test_credentials.py.
pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.legacy_flow]

KEY_A = "ExtensionSecretKeyA00000000000000000"
KEY_B = "ExtensionSecretKeyB00000000000000000"


@pytest.fixture
def secrets() -> dict[str, str]:
    """What Secrets Manager holds, as the extension would read it (by secret id)."""
    return {SECRET_NAME: json.dumps({"SecretId": "AKIDextensionA", "SecretKey": KEY_A})}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock the function's share of the cache is counted on: it stands still until a test moves it."""
    from faceid_fn.adapters.tencent import credentials

    now = Clock(1000.0)
    monkeypatch.setattr(credentials, "monotonic", now)
    return now


@pytest.fixture
def extension_env(
    configure: Callable[..., None],
    emulator: Emulator,
    extension: SecretsExtension,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> Callable[..., None]:
    """GIVEN the function reads its Tencent credentials from the secret, with the extension's layer (the
    cache's clock standing still)."""
    emulator.state.credentials.update({"AKIDextensionA": KEY_A, "AKIDextensionB": KEY_B})

    def apply(**overrides: str) -> None:
        layer = {
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "SECRETS_MANAGER_TTL": "150",
        }
        layer.update({k: overrides.pop(k) for k in list(overrides) if k in layer})
        configure(**{"FACEID_CREDENTIALS_SECRET": SECRET_NAME, "FACEID_CREDENTIALS_MAX_AGE_S": "300", **overrides})
        for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in layer.items():
            monkeypatch.setenv(name, value)

    apply()
    return apply


def warm(event: dict[str, Any]) -> Response:
    import handler

    return Response.of(handler.handler(event, LambdaContext()))


def test_secret_is_read_from_the_extension_with_the_session_token(
    extension_env: Callable[..., None],
    extension: SecretsExtension,
    emulator: Emulator,
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
) -> None:
    # GIVEN Secrets Manager itself (moto) has no such secret: only the extension can answer
    # WHEN the function starts and serves a request
    assert invoke(http_event(body=start_body())).status == 201
    # THEN the call was signed with the secret's credentials, read from the extension with the token
    assert emulator.calls[-1]["secret_id"] == "AKIDextensionA"
    assert extension.requests == [{"secret_id": SECRET_NAME, "token_ok": True}]
    # AND a warm request within the cache's age (the function's share: 300 s - 150 s) does not ask again
    clock.now = 1000 + 149.5
    assert warm(http_event(body=start_body())).status == 201
    assert len(extension.requests) == 1
    assert find_secrets(logs.text, [KEY_A, SESSION_TOKEN]) == []


def test_rotation_is_followed_within_the_max_age_with_the_extension_cache_counted(
    extension_env: Callable[..., None],
    extension: SecretsExtension,
    secrets: dict[str, str],
    emulator: Emulator,
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
    clock: Clock,
) -> None:
    # GIVEN a max age of 2 s of which the extension's own cache (SECRETS_MANAGER_TTL) takes 1 s
    extension_env(FACEID_CREDENTIALS_MAX_AGE_S="2", SECRETS_MANAGER_TTL="1")
    assert invoke(http_event(body=start_body())).status == 201
    # WHEN the secret is rotated
    secrets[SECRET_NAME] = json.dumps({"SecretId": "AKIDextensionB", "SecretKey": KEY_B})
    clock.now = 1000.5
    assert warm(http_event(body=start_body())).status == 201
    assert emulator.calls[-1]["secret_id"] == "AKIDextensionA"  # within the function's 1 s share
    assert len(extension.requests) == 1
    clock.now = 1001.0  # the function's share (max age - extension TTL) has passed
    del emulator.state.credentials["AKIDextensionA"]  # the old key is revoked upstream
    # THEN the next request asks the extension again and signs with the new key
    assert warm(http_event(body=start_body())).status == 201
    assert emulator.calls[-1]["secret_id"] == "AKIDextensionB"
    assert len(extension.requests) == 2
    assert "rotated Tencent credentials picked up" in logs.text


def test_without_the_extension_the_secret_is_read_with_powertools_parameters(
    extension_env: Callable[..., None],
    emulator: Emulator,
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
) -> None:
    # GIVEN no layer: nothing listens on the extension's port; the secret is in Secrets Manager (moto)
    boto3.client("secretsmanager", region_name=AWS_REGION).create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"SecretId": "AKIDextensionB", "SecretKey": KEY_B})
    )
    extension_env(PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(free_port()))
    # WHEN the function starts and serves a request
    assert invoke(http_event(body=start_body())).status == 201
    # THEN it fell back to boto3 and said so once
    assert emulator.calls[-1]["secret_id"] == "AKIDextensionB"
    assert logs.text.count("Parameters and Secrets extension not reachable") == 1


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_extension_refusing_the_secret_fails_at_cold_start(
    extension_env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    # GIVEN the extension is there but refuses (wrong token), or the secret does not exist
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        extension_env(FACEID_CREDENTIALS_SECRET="faceid-fn/does-not-exist")
    from faceid_fn import container

    # THEN the container stops with the one configuration line (no fallback: the extension answered)
    with pytest.raises(
        ConfigError, match=r"^faceid-fn configuration error: The Tencent credentials secret could not be read$"
    ):
        container.check_configuration()


def test_extension_path_imports_no_boto3(extension: SecretsExtension, emulator: Emulator) -> None:
    # GIVEN a fresh process configured as deployed with the layer (tracing off: the X-Ray SDK is apart)
    from tests.conftest import function_environment

    emulator.state.credentials["AKIDextensionA"] = KEY_A

    env = {
        **function_environment(
            emulator.url,
            FACEID_CREDENTIALS_SECRET=SECRET_NAME,
            AWS_SESSION_TOKEN=SESSION_TOKEN,
            PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(extension.port),
            SECRETS_MANAGER_TTL="150",
            AWS_REGION=AWS_REGION,
            FACEID_FLOW="legacy",
        ),
        "PATH": "/usr/bin:/bin",
    }
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        del env[name]
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import handler
        from tests.conftest import LambdaContext, http_event, start_body
        answer = handler.handler(http_event(body=start_body()), LambdaContext())
        print(json.dumps({"status": answer["statusCode"], "boto3": "boto3" in sys.modules,
                          "aws_client": "botocore.client" in sys.modules}))
        """
    )
    # WHEN it starts and serves its first request
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # THEN neither boto3 nor botocore's client machinery was imported (Powertools imports the bare
    # `botocore` package for its user agent: a few hundred microseconds)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"status": 201, "boto3": False, "aws_client": False}


def test_an_extension_ttl_longer_than_the_max_age_is_logged(logs: LogLines) -> None:
    from faceid_fn.adapters.tencent.credentials import ExtensionSecrets, SecretsManagerCredential

    SecretsManagerCredential("s", 60, extension=ExtensionSecrets(1, "t", ttl_s=300))
    assert "SECRETS_MANAGER_TTL is longer than FACEID_CREDENTIALS_MAX_AGE_S" in logs.text
