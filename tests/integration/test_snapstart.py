"""SnapStart runtime hooks, called the way Lambda's runtime calls them: every (func, args, kwargs) in
snapshot_restore_py's registries, before-snapshot hooks in reverse order of registration."""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import requests
import snapshot_restore_py

from local.secrets_extension import SecretsExtension
from tests.conftest import (
    SECRET_NAME,
    SESSION_TOKEN,
    Emulator,
    LambdaContext,
    LogLines,
    Response,
    http_event,
    start_body,
)

KEY_A = "SnapStartSecretKeyA00000000000000000"
KEY_B = "SnapStartSecretKeyB00000000000000000"

pytestmark = pytest.mark.legacy_flow  # COS URLs sent as is


def run_before_snapshot() -> None:
    for func, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
        func(*args, **kwargs)


def run_after_restore() -> None:
    for func, args, kwargs in snapshot_restore_py.get_after_restore():
        func(*args, **kwargs)


@pytest.fixture
def secrets() -> dict[str, str]:
    return {SECRET_NAME: json.dumps({"SecretId": "AKIDsnapA", "SecretKey": KEY_A})}


@pytest.fixture
def snapshot_env(
    configure: Callable[..., None], emulator: Emulator, extension: SecretsExtension, monkeypatch: pytest.MonkeyPatch
) -> Emulator:
    """GIVEN a function reading its credentials from the secret through the extension (cache: 300 s)."""
    emulator.state.credentials.update({"AKIDsnapA": KEY_A, "AKIDsnapB": KEY_B})
    configure(FACEID_CREDENTIALS_SECRET=SECRET_NAME, FACEID_CREDENTIALS_MAX_AGE_S="300")
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(extension.port))
    monkeypatch.setenv("SECRETS_MANAGER_TTL", "150")
    return emulator


def warm(event: dict[str, Any]) -> Response:
    import handler

    return Response.of(handler.handler(event, LambdaContext()))


def pooled(session: requests.Session) -> int:
    return sum(len(adapter.poolmanager.pools) for adapter in session.adapters.values())  # type: ignore[attr-defined]


def test_hooks_are_registered_once_per_process(snapshot_env: Emulator) -> None:
    import handler
    from faceid_fn.entrypoints import snapstart

    importlib.reload(handler)
    importlib.reload(handler)
    assert [f for f, _, _ in snapshot_restore_py.get_before_snapshot()].count(snapstart.before_snapshot) == 1
    assert [f for f, _, _ in snapshot_restore_py.get_after_restore()].count(snapstart.after_restore) == 1


def test_a_restored_instance_reseeds_random_drops_connections_and_rereads_credentials(
    snapshot_env: Emulator,
    extension: SecretsExtension,
    secrets: dict[str, str],
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
) -> None:
    from faceid_fn import container

    # GIVEN an initialised instance (what the snapshot holds): credentials read, a warm connection to FaceID
    assert invoke(http_event(body=start_body())).status == 201
    built = container.faceid()
    sdk_session = built._client.request.conn._session
    assert pooled(sdk_session) == 1
    assert len(extension.requests) == 1
    # WHEN Lambda takes the snapshot
    run_before_snapshot()
    # THEN no pooled connection goes into it
    assert pooled(sdk_session) == 0
    # WHEN two instances are restored from the same snapshot (the same random state) while the secret
    # was rotated after the snapshot
    secrets[SECRET_NAME] = json.dumps({"SecretId": "AKIDsnapB", "SecretKey": KEY_B})
    snapshot_state = random.getstate()
    run_after_restore()
    first_instance = [random.random() for _ in range(3)]  # noqa: S311 (the state is what is tested)
    random.setstate(snapshot_state)
    run_after_restore()
    second_instance = [random.random() for _ in range(3)]  # noqa: S311
    # THEN each draws its own random numbers (the SDK's Nonce, retry jitter)
    assert first_instance != second_instance
    # AND the first request opens a new connection and reads the credentials again: the rotated key signs
    assert pooled(sdk_session) == 0
    assert warm(http_event(body=start_body())).status == 201
    assert container.faceid() is built
    assert pooled(sdk_session) == 1
    assert snapshot_env.calls[-1]["secret_id"] == "AKIDsnapB"
    assert len(extension.requests) == 2
    assert "restored from a SnapStart snapshot" in logs.text


def test_after_a_restore_a_failed_credentials_read_falls_back_to_the_snapshot_value(
    snapshot_env: Emulator,
    extension: SecretsExtension,
    secrets: dict[str, str],
    invoke: Callable[[dict[str, Any]], Response],
    logs: LogLines,
) -> None:
    assert invoke(http_event(body=start_body())).status == 201
    run_before_snapshot()
    run_after_restore()
    # GIVEN the extension cannot read the secret right after the restore
    del secrets[SECRET_NAME]
    # THEN the request is still signed, with the value read before the snapshot
    assert warm(http_event(body=start_body())).status == 201
    assert snapshot_env.calls[-1]["secret_id"] == "AKIDsnapA"
    assert "using the last good value" in logs.text


@pytest.mark.usefixtures("aws")
def test_the_snapshot_holds_the_aws_clients_the_first_requests_need_and_they_reconnect_after_a_restore(
    snapshot_env: Emulator, configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from faceid_fn import container
    from tests.aws import EVENT_BUS, SESSIONS_TABLE, create_ledger_and_bus

    # GIVEN the session ledger and the completion bus, as serverless.yml deploys them
    create_ledger_and_bus()
    configure(
        FACEID_CREDENTIALS_SECRET=SECRET_NAME,
        SESSIONS_TABLE=SESSIONS_TABLE,
        EVENT_BUS_NAME=EVENT_BUS,
    )
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name)
    import handler

    importlib.reload(handler)  # init, as before a snapshot: no AWS client built yet
    created: list[str] = []
    real_client = boto3.client

    def counting_client(service: str, *args: Any, **kwargs: Any) -> Any:
        created.append(service)
        return real_client(service, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", counting_client)
    # WHEN Lambda takes the snapshot
    run_before_snapshot()
    # THEN the before-snapshot hook built the clients the request paths use (the ledger's DynamoDB, EventBridge)
    assert set(created) == {"dynamodb", "events"}
    ledger = container.ledger()
    assert ledger is not None
    snapshot_client = ledger.built_client
    assert snapshot_client is not None
    # AND after a restore, a start is recorded in the ledger through that client, reconnected
    run_after_restore()
    assert warm(http_event(body=start_body())).status == 201
    assert ledger.built_client is snapshot_client
    assert len(recorded_sessions(real_client)) == 1
    run_before_snapshot()
    run_after_restore()
    assert warm(http_event(body=start_body())).status == 201
    assert len(recorded_sessions(real_client)) == 2


def recorded_sessions(client: Callable[..., Any]) -> list[dict[str, Any]]:
    """The ledger's session items (not the per-owner start counters the same table holds)."""
    from tests.aws import AWS_REGION, SESSIONS_TABLE

    items = client("dynamodb", region_name=AWS_REGION).scan(TableName=SESSIONS_TABLE)["Items"]
    return [item for item in items if "Status" in item]
