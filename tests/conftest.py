"""Fixtures shared by every test layer. Every server a test talks to listens on 127.0.0.1."""

from __future__ import annotations

import copy
import importlib
import io
import json
import logging
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.emulator import LOCAL_SECRET_ID, LOCAL_SECRET_KEY, EmulatorServer, Fault, start_in_thread
from tests.secret_scan import SecretScan

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

VALID_MD5 = "9e107d9d372bb6826bd81d3542a419d6"
COS_URL = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/alice/reference.jpg"
REDIRECT_URL = "https://app.example.com/verification-done"


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SecretScan(config), "faceid-secret-scan")
    _no_constants_from_our_modules()


# `make test` runs the suite in parallel (pytest-xdist). Each group below runs in one worker, one test after
# another; every other test is scheduled on its own. (xdist's `--dist loadgroup` marks groups by renaming node
# ids, which pytest 9.2 no longer lets it do.)
ONE_WORKER = {
    # they share files of the repository: the local stacks' .local-logs/, osls' .serverless/
    "tests/e2e/": "local-stack",
    "tests/template/": "local-stack",
    # the fuzz counts file, written when the module ends
    "tests/fuzz/test_fuzz_events.py": "fuzz-counts",
    # each starts tens of processes that keep both cores busy (the bench's .bench/ and bench/results/ too):
    # one at a time, so that a burst's instances are not starved by a soak's
    "tests/bench/": "many-processes",
    "tests/integration/test_pacing_burst.py": "many-processes",
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class SharedFilesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((group for prefix, group in ONE_WORKER.items() if nodeid.startswith(prefix)), nodeid)

    return SharedFilesTogether(config, log)


def pytest_collection_finish(session: pytest.Session) -> None:
    """pytest-xdist tells tests apart by node id: of two with the same id, it runs one and counts it once."""
    twice = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in session.items).items() if count > 1)
    if twice:
        raise pytest.UsageError(f"tests that share a node id (only one of each would run in parallel): {twice}")


def _no_constants_from_our_modules() -> None:
    """Hypothesis mixes into its inputs the literals of every non-test module imported so far. Which modules
    those are depends on the order tests ran in and on what the handler imported lazily, so the same seed drew
    other inputs run to run (FlakyStrategyDefinition); and the literals include the emulator's test SecretKey
    and personal data, which the secret scan then finds in the function's logs. Our property tests draw from
    their own strategies only. Hypothesis has no setting for this: its pool is replaced by an empty one (the
    pinned version's names; a version that renames them fails here, loudly)."""
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants()
    assert callable(providers._get_local_constants)
    providers._get_local_constants = lambda: empty  # type: ignore[attr-defined]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str = "faceid-fn-test-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:123456789012:function:faceid-fn-test-api"
    aws_request_id: str = "lambda-request-0001"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


class LogLines:
    """The function's log lines during one test, formatted exactly as in production."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self, message: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [r for r in lines if message is None or r.get("message") == message]


@pytest.fixture
def logs() -> Iterator[LogLines]:
    """A second handler on the function's logger, with the production (redacting) formatter."""
    from faceid_fn.observability import logger

    std_logger = logging.getLogger(logger.name)
    lines = LogLines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(std_logger.handlers[0].formatter)
    std_logger.addHandler(handler)
    yield lines
    std_logger.removeHandler(handler)


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    server = start_in_thread()
    yield server
    server.shutdown()


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Iterator[Emulator]:
    emulator_server.emulator.reset()
    yield Emulator(emulator_server)
    emulator_server.emulator.reset()


class Emulator:
    """Test-side handle on the in-process emulator."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.state = server.emulator
        self.url = server.url

    def fault(self, **options: Any) -> None:
        self.state.inject(Fault(**options))

    @property
    def calls(self) -> list[dict[str, Any]]:
        return list(self.state.calls)


# The Parameters and Secrets extension's stand-in (local/secrets_extension.py): the secret's name, and the
# function's session token the extension checks. A module using `extension` defines `secrets` (name -> value).
SECRET_NAME = "faceid-fn/tencent-credentials"
SESSION_TOKEN = "FunctionSessionTokenForTestsOnly000000"


@pytest.fixture
def extension(secrets: dict[str, str]) -> Iterator[Any]:
    from local.secrets_extension import start_in_thread

    # ttl 0: the stand-in reads "Secrets Manager" on every request, as the real one does once its TTL passed
    server = start_in_thread(SESSION_TOKEN, secrets.get, ttl_s=0)
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: the sockets stay bound until all are chosen (two free_port() calls in a
    row may return the same port)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def function_environment(endpoint: str, **overrides: str) -> dict[str, str]:
    env = {
        "TENCENTCLOUD_SECRET_ID": LOCAL_SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": LOCAL_SECRET_KEY,
        "FACEID_REGION": "ap-singapore",
        "FACEID_ENDPOINT": endpoint,
        "FACEID_REDIRECT_URL": REDIRECT_URL,
        "FACEID_TIMEOUT_S": "3",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "FaceidFnTest",
    }
    env.update(overrides)
    return env


@pytest.fixture
def configure(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, request: pytest.FixtureRequest
) -> Callable[..., None]:
    """Set the function's environment (emulator endpoint by default) and forget built clients.
    Tests marked `legacy_flow` run the withdrawn flow (FACEID_FLOW=legacy) unless they set another."""
    from faceid_fn import container

    flow = {"FACEID_FLOW": "legacy"} if request.node.get_closest_marker("legacy_flow") else {}

    def apply(**overrides: str) -> None:
        from faceid_fn.config import Settings

        # Only what the test sets: nothing from the shell (e.g. after `source local/env.sh`).
        for name in [
            *(field.upper() for field in Settings.model_fields),
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_EVENTBRIDGE",
        ]:
            monkeypatch.delenv(name, raising=False)
        for name, value in function_environment(emulator.url, **{**flow, **overrides}).items():
            monkeypatch.setenv(name, value)
        container.reset()

    apply()
    yield apply
    container.reset()


@pytest.fixture
def invoke(configure: Callable[..., None], lambda_context: LambdaContext) -> Callable[[dict[str, Any]], Response]:
    """Call handler.handler the way Lambda does, and read the HTTP answer."""

    def call(event: dict[str, Any]) -> Response:
        import handler

        importlib.reload(handler)  # cold start under the environment the test set
        return Response.of(handler.handler(copy.deepcopy(event), lambda_context))

    return call


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]

    @classmethod
    def of(cls, result: dict[str, Any]) -> Response:
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ",".join(values)
        body = result.get("body")
        if body and "json" in headers.get("content-type", "json"):
            body = json.loads(body)
        return cls(result["statusCode"], headers, body or None, result)


def load_event(kind: str) -> dict[str, Any]:
    names = {"http": "http-api-v2.json", "rest": "rest-api-v1.json", "function_url": "function-url.json"}
    return json.loads((EVENTS / names[kind]).read_text())


def http_event(
    kind: str = "http",
    body: Any = None,
    *,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/verifications",
    method: str = "POST",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A sample event from events/ with the given body (a dict is sent as JSON)."""
    event = load_event(kind)
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    if headers:
        event["headers"].update(headers)
    context = event["requestContext"]
    if kind == "rest":
        event["path"] = event["resource"] = path
        event["httpMethod"] = method
        context["resourcePath"], context["httpMethod"] = path, method
    else:
        event["rawPath"] = path
        context["http"]["path"], context["http"]["method"] = path, method
        event["routeKey"] = "$default" if kind == "function_url" else f"{method} {path}"
    if request_id:
        context["requestId"] = request_id
    return event


def start_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"CompareImageUrl": COS_URL, "CompareImageMd5": VALID_MD5}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for S3 and DynamoDB, with the upload bucket and the idempotency and pacing tables created."""
    from moto import mock_aws

    from tests.aws import AWS_REGION, PACING_TABLE, UPLOAD_BUCKET, create_idempotency_table, create_table

    for name, value in {
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_REGION": AWS_REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        import boto3

        boto3.client("s3", region_name=AWS_REGION).create_bucket(
            Bucket=UPLOAD_BUCKET, CreateBucketConfiguration={"LocationConstraint": AWS_REGION}
        )
        create_idempotency_table()
        create_table(PACING_TABLE, "expires_at")
        yield


@pytest.fixture(scope="session")
def cos_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 standing in for COS's S3-compatible endpoint (real HTTP)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
