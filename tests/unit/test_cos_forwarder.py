"""The COS forwarder (deploy/cos_forwarder/index.py, an SCF function) against a stand-in for Lambda's Invoke
API on 127.0.0.1. The stand-in checks each request's SigV4 signature with botocore, an implementation
independent of the forwarder's own, over exactly what arrived; the tests check the invocation type, the
function named in the path, and that the body is the event's records less the uploader's credentials. AWS
refusing, or not answering, raises (SCF then retries); nothing secret reaches the logs or the errors.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from deploy.cos_forwarder import index as forwarder
from tests.conftest import EVENTS, ROOT, free_port
from tests.secret_scan import find_secrets

FORWARDER = ROOT / "deploy" / "cos_forwarder"
KEY_ID = "AKIAFORWARDERTEST0001"
SECRET_KEY = "ForwarderSecretKeyForTestsOnly0000000000"  # in tests/secret_scan.py's TEST_SECRETS too
REGION = "ap-southeast-1"
FUNCTION_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:faceid-fn-test-api"
AWS_REQUEST_ID = "7f3c1a52-5d0e-4b8e-9a61-0c2d4e6f8a10"
# The uploader's credentials in events/cos-upload.json's Authorization header.
UPLOADER_SECRETS = ("AKIDuploaderExample", "5a7c2f0e0d4b9c8a1f3e6d2b7c9a0e1f2d3c4b5a")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # by lower-case name
    body: bytes

    def authorization(self) -> dict[str, str]:
        scheme, _, rest = self.headers["authorization"].partition(" ")
        assert scheme == "AWS4-HMAC-SHA256"
        return dict(part.strip().split("=", 1) for part in rest.split(","))


@dataclass
class FakeLambda:
    """Lambda's Invoke API: records each request and answers `status` with `headers` and `body`."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 202
    headers: dict[str, str] = field(default_factory=lambda: {"x-amzn-RequestId": AWS_REQUEST_ID})
    body: bytes = b""
    hold: threading.Event | None = None  # answer only once set (a Lambda that does not answer in time)


@pytest.fixture
def fake_lambda() -> Iterator[FakeLambda]:
    fake = FakeLambda()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.received.append(Received(self.command, self.path, headers, body))
            if fake.hold is not None:
                fake.hold.wait(10)
            try:
                self.send_response(fake.status)
                for name, value in fake.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)
            except OSError:  # the client gave up first
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    if fake.hold is not None:
        fake.hold.set()
    server.shutdown()
    server.server_close()


def environment(endpoint: str, **overrides: str) -> dict[str, str]:
    env = {
        forwarder.FUNCTION_ENV: FUNCTION_ARN,
        forwarder.REGION_ENV: REGION,
        forwarder.KEY_ID_ENV: KEY_ID,
        forwarder.SECRET_ENV: SECRET_KEY,
        forwarder.ENDPOINT_ENV: endpoint,
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch, fake_lambda: FakeLambda) -> Callable[..., None]:
    def apply(**overrides: str) -> None:
        for name in (*forwarder.REQUIRED, forwarder.ENDPOINT_ENV):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment(fake_lambda.url, **overrides).items():
            monkeypatch.setenv(name, value)

    apply()
    return apply


def cos_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "cos-upload.json").read_text())
    return event


def less_uploader_header(event: dict[str, Any]) -> dict[str, Any]:
    """What the API function should get: the records, each without its requestHeaders' Authorization."""
    expected = copy.deepcopy(event)
    for record in expected["Records"]:
        record["event"]["requestParameters"]["requestHeaders"].pop("Authorization")
    return {"Records": expected["Records"]}


def botocore_signature(received: Received, secret_key: str) -> str:
    """The signature botocore computes for the request as it arrived: the headers its Authorization says
    are signed, with their values as received, at the same X-Amz-Date, for its credential scope."""
    fields = received.authorization()
    key_id, _, region, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=received.method,
        url=f"http://{received.headers['host']}{received.path}",
        data=received.body,
        headers={name: received.headers[name] for name in signed},
    )
    request.context["timestamp"] = received.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(key_id, secret_key), service, region)
    signature: str = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return signature


def invocations_path(function: str) -> str:
    return f"/2015-03-31/functions/{quote(function, safe='')}/invocations"


# -- what reaches Lambda --------------------------------------------------------------------------------


def test_the_records_less_the_uploaders_authorization_go_to_lambda_signed_as_an_async_invoke(
    configure: Callable[..., None], fake_lambda: FakeLambda, capsys: pytest.CaptureFixture[str]
) -> None:
    event = cos_event()
    # WHEN SCF hands the forwarder the sample COS upload event
    result = forwarder.main_handler(event, None)
    # THEN one asynchronous Invoke of the API function went out, signed for lambda in its region
    [received] = fake_lambda.received
    assert received.method == "POST"
    assert received.path == invocations_path(FUNCTION_ARN)
    assert "arn%3Aaws%3Alambda" in received.path  # the ARN's colons percent-encoded, as AWS's SDKs send them
    assert received.headers["x-amz-invocation-type"] == "Event"
    fields = received.authorization()
    key_id, date, region, service, terminator = fields["Credential"].split("/")
    assert (key_id, region, service, terminator) == (KEY_ID, REGION, "lambda", "aws4_request")
    assert {"host", "x-amz-date", "x-amz-invocation-type", "content-type"} <= set(fields["SignedHeaders"].split(";"))
    assert fields["Signature"] == botocore_signature(received, SECRET_KEY)
    assert botocore_signature(received, "AnotherSecretKey") != fields["Signature"]  # the check can fail
    sent_at = datetime.strptime(received.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)  # AWS allows 5
    assert date == received.headers["x-amz-date"][:8]
    # AND its body is the event's records, unchanged but for the uploader's Authorization header
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == less_uploader_header(cos_event())
    assert b"q-signature" not in received.body
    # AND the event SCF handed over is left as it was
    assert event == cos_event()
    # AND the forwarder says what it did, with the upload's request id the API function logs under
    assert result == {"Forwarded": 1, "StatusCode": 202, "RequestId": AWS_REQUEST_ID}
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line == {
        "level": "INFO",
        "message": "forwarded to Lambda",
        "status": 202,
        "aws_request_id": AWS_REQUEST_ID,
        "records": 1,
        "correlation_ids": ["179398952"],
    }


def test_the_path_and_invocation_type_are_those_of_botocores_own_lambda_client(
    configure: Callable[..., None], fake_lambda: FakeLambda
) -> None:
    import botocore.session

    # GIVEN the request botocore's Lambda client sends for the same asynchronous Invoke
    client = botocore.session.get_session().create_client(
        "lambda",
        region_name=REGION,
        endpoint_url=fake_lambda.url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET_KEY,
    )
    client.invoke(FunctionName=FUNCTION_ARN, InvocationType="Event", Payload=b"{}")
    # WHEN the forwarder sends its own
    forwarder.main_handler(cos_event(), None)
    # THEN both name the function and the invocation type alike, and the stand-in's check passes for both
    sdk, ours = fake_lambda.received
    assert ours.path == sdk.path
    assert ours.headers["x-amz-invocation-type"] == sdk.headers["x-amz-invocation-type"] == "Event"
    for received in (sdk, ours):
        assert received.authorization()["Signature"] == botocore_signature(received, SECRET_KEY)


def test_a_function_name_and_the_local_stacks_endpoint_work_too(
    configure: Callable[..., None], fake_lambda: FakeLambda
) -> None:
    configure(FORWARD_FUNCTION="faceid-fn-dev-api")  # the name serverless-offline knows the API function by
    forwarder.main_handler(cos_event(), None)
    [received] = fake_lambda.received
    assert received.path == "/2015-03-31/functions/faceid-fn-dev-api/invocations"
    assert received.authorization()["Signature"] == botocore_signature(received, SECRET_KEY)


def test_every_record_goes_in_one_invocation_and_uploader_credentials_go_in_any_case(
    configure: Callable[..., None], fake_lambda: FakeLambda
) -> None:
    first, second, third = (cos_event()["Records"][0] for _ in range(3))
    second["event"]["requestParameters"]["requestHeaders"] = {
        "authorization": "q-sign-algorithm=sha1&q-ak=AKIDuploaderExample&q-signature=0a1b",
        "X-COS-Security-Token": "UploaderTemporaryToken",
        "x-cos-meta-owner": "user-42",
    }
    del third["event"]["requestParameters"]  # nothing to remove: forwarded as it is
    forwarder.main_handler({"Records": [first, second, third]}, None)
    [received] = fake_lambda.received
    forwarded = json.loads(received.body)["Records"]
    assert len(forwarded) == 3
    assert forwarded[0]["event"]["requestParameters"]["requestHeaders"] == {}
    assert forwarded[1]["event"]["requestParameters"]["requestHeaders"] == {"x-cos-meta-owner": "user-42"}
    assert forwarded[2] == third


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}, "not an event", None])
def test_an_event_without_records_raises_and_sends_nothing(
    configure: Callable[..., None], fake_lambda: FakeLambda, event: Any
) -> None:
    with pytest.raises(forwarder.ForwardFailed, match="holds no Records"):
        forwarder.main_handler(event, None)
    assert fake_lambda.received == []


def test_missing_configuration_raises_naming_it_and_sends_nothing(
    configure: Callable[..., None], fake_lambda: FakeLambda
) -> None:
    configure(FORWARD_FUNCTION="", FORWARD_AWS_ACCESS_KEY_ID="")
    with pytest.raises(forwarder.ForwardFailed) as raised:
        forwarder.main_handler(cos_event(), None)
    assert "FORWARD_FUNCTION, FORWARD_AWS_ACCESS_KEY_ID" in str(raised.value)
    assert SECRET_KEY not in str(raised.value)
    assert fake_lambda.received == []


@pytest.mark.parametrize("endpoint", ["http://lambda.ap-southeast-1.amazonaws.com", "ftp://127.0.0.1", "https://"])
def test_the_endpoint_is_https_or_loopback(
    configure: Callable[..., None], fake_lambda: FakeLambda, endpoint: str
) -> None:
    configure(FORWARD_LAMBDA_ENDPOINT=endpoint)
    with pytest.raises(forwarder.ForwardFailed, match="FORWARD_LAMBDA_ENDPOINT must be an https URL"):
        forwarder.main_handler(cos_event(), None)


def test_the_default_endpoint_is_lambdas_in_the_region() -> None:
    env = environment("", FORWARD_LAMBDA_ENDPOINT="")
    assert forwarder.Config.from_environment(env).endpoint == "https://lambda.ap-southeast-1.amazonaws.com"
    china = forwarder.Config.from_environment({**env, forwarder.REGION_ENV: "cn-north-1"})
    assert china.endpoint == "https://lambda.cn-north-1.amazonaws.com.cn"


# -- when AWS refuses, or does not answer --------------------------------------------------------------

REFUSALS = [
    # status, x-amzn-ErrorType (as Lambda sends it), body, the error type the message names
    (
        403,
        "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/",
        b'{"Message":"User: arn:aws:iam::123456789012:user/faceid-fn-test-cos-forwarder is not authorized"}',
        "AccessDeniedException",
    ),
    (
        403,
        "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/",
        b'{"message":"The request signature we calculated does not match the signature you provided."}',
        "InvalidSignatureException",
    ),
    (404, "ResourceNotFoundException", b'{"Type":"User","Message":"Function not found"}', "ResourceNotFoundException"),
    (
        429,
        "TooManyRequestsException",
        b'{"Reason":"CallerRateLimitExceeded","Type":"User"}',
        "TooManyRequestsException",
    ),
    (500, "ServiceException", b'{"Type":"Service","Message":"Internal error"}', "ServiceException"),
    (400, None, b'{"__type":"com.amazon.coral.validate#ValidationException"}', "ValidationException"),
    (502, None, b"<html>Bad Gateway</html>", "no error type"),
]


@pytest.mark.parametrize(("status", "error_type", "body", "named"), REFUSALS, ids=[f"{r[0]}-{r[3]}" for r in REFUSALS])
def test_a_refusal_raises_to_scf_naming_the_status_and_awss_error_type(
    configure: Callable[..., None],
    fake_lambda: FakeLambda,
    capsys: pytest.CaptureFixture[str],
    status: int,
    error_type: str | None,
    body: bytes,
    named: str,
) -> None:
    # GIVEN Lambda refuses the invocation
    fake_lambda.status, fake_lambda.body = status, body
    if error_type:
        fake_lambda.headers["x-amzn-ErrorType"] = error_type
    # WHEN the forwarder hands it the event
    with pytest.raises(forwarder.ForwardFailed) as raised:
        forwarder.main_handler(cos_event(), None)
    # THEN it raised (SCF reports a failed invocation, and retries it), saying what Lambda answered
    message = str(raised.value)
    assert f"HTTP {status} {named} (RequestId {AWS_REQUEST_ID})" in message
    assert FUNCTION_ARN in message
    assert len(fake_lambda.received) == 1  # SCF's retry is the next attempt, not one of ours
    # AND logged it once
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (line["level"], line["message"], line["correlation_ids"]) == ("ERROR", message, ["179398952"])


def test_a_redirect_is_not_followed_but_raises(configure: Callable[..., None], fake_lambda: FakeLambda) -> None:
    fake_lambda.status, fake_lambda.headers["Location"] = 307, "http://127.0.0.1:1/elsewhere"
    with pytest.raises(forwarder.ForwardFailed, match="HTTP 307"):
        forwarder.main_handler(cos_event(), None)
    assert len(fake_lambda.received) == 1


def test_no_lambda_listening_raises(configure: Callable[..., None]) -> None:
    port = free_port()  # nothing listens there
    configure(FORWARD_LAMBDA_ENDPOINT=f"http://127.0.0.1:{port}")
    with pytest.raises(forwarder.ForwardFailed) as raised:
        forwarder.main_handler(cos_event(), None)
    assert f"Lambda at 127.0.0.1:{port} did not take the invocation: ConnectionRefusedError" in str(raised.value)


def test_no_answer_in_time_raises(
    configure: Callable[..., None], fake_lambda: FakeLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forwarder, "TIMEOUT_S", 0.3)
    fake_lambda.hold = threading.Event()
    with pytest.raises(forwarder.ForwardFailed, match="did not take the invocation: TimeoutError") as raised:
        forwarder.main_handler(cos_event(), None)
    assert "may have been queued all the same" in str(raised.value)  # and a repeat is absorbed downstream


# -- nothing secret in logs or errors --------------------------------------------------------------------


def test_logs_and_errors_hold_no_key_signature_or_uploader_credential(
    configure: Callable[..., None], fake_lambda: FakeLambda, capsys: pytest.CaptureFixture[str]
) -> None:
    written: list[str] = []
    # a success, each kind of refusal, a Lambda nobody runs, a missing setting
    forwarder.main_handler(cos_event(), None)
    for status, error_type, body, _ in REFUSALS:
        fake_lambda.status, fake_lambda.body = status, body
        fake_lambda.headers["x-amzn-ErrorType"] = error_type or ""
        with pytest.raises(forwarder.ForwardFailed) as refused:
            forwarder.main_handler(cos_event(), None)
        written.append(str(refused.value))
    configure(FORWARD_LAMBDA_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(forwarder.ForwardFailed) as unreachable:
        forwarder.main_handler(cos_event(), None)
    configure(FORWARD_AWS_REGION="")
    with pytest.raises(forwarder.ForwardFailed) as unconfigured:
        forwarder.main_handler(cos_event(), None)
    written += [str(unreachable.value), str(unconfigured.value), capsys.readouterr().out]
    written.append(repr(forwarder.Config.from_environment(environment(fake_lambda.url))))
    signatures = {received.authorization()["Signature"] for received in fake_lambda.received}
    assert len(fake_lambda.received) == len(REFUSALS) + 1  # (the same second and body: one signature)
    text = "\n".join(written)
    assert "forwarded to Lambda" in text  # the output was captured
    for secret in (SECRET_KEY, KEY_ID, *signatures, *UPLOADER_SECRETS, "q-signature", "Authorization"):
        assert secret not in text
    assert find_secrets(text) == []


# -- what is deployed on SCF ----------------------------------------------------------------------------


def test_the_scf_deploy_runs_index_main_handler_on_python_3_10_for_cos_uploads() -> None:
    config = yaml.safe_load((FORWARDER / "serverless.yml").read_text())
    assert config["component"] == "scf"
    inputs = config["inputs"]
    assert inputs["runtime"] == "Python3.10"  # SCF's newest Python (2.7, 3.6, 3.7, 3.9, 3.10)
    module, _, function = inputs["handler"].partition(".")
    assert (FORWARDER / f"{module}.py").exists()
    assert callable(getattr(forwarder, function))
    assert inputs["timeout"] > forwarder.TIMEOUT_S
    [trigger] = inputs["events"]
    assert trigger["cos"]["parameters"]["events"] == "cos:ObjectCreated:*"
    assert trigger["cos"]["parameters"]["enable"] is True
    # it sets exactly what the forwarder reads (the endpoint stays Lambda's), and uploads index.py alone
    assert set(inputs["environment"]["variables"]) == set(forwarder.REQUIRED)
    uploaded = {p.name for p in FORWARDER.iterdir() if p.is_file()} - set(inputs["src"]["exclude"])
    assert uploaded == {"index.py"}
    assert "deploy/cos_forwarder/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_forwarder_is_python_3_10_and_the_standard_library_only() -> None:
    source = (FORWARDER / "index.py").read_text()
    tree = ast.parse(source, feature_version=(3, 10))  # no syntax of a later Python
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names
    assert "SigV4 is signed by hand" in (forwarder.__doc__ or "")


def test_it_forwards_under_python_3_10_without_site_packages(fake_lambda: FakeLambda) -> None:
    """SCF's runtime: Python 3.10 and no library of ours (-I: isolated, -S: no site-packages)."""
    from deploy.package import python_for

    try:
        python = python_for("3.10")
    except SystemExit:
        pytest.skip("no Python 3.10 interpreter here (pyenv install 3.10)")
    script = "import json, sys, index; print(json.dumps(index.main_handler(json.load(sys.stdin), None)))"
    done = subprocess.run(
        [python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(FORWARDER)!r}); {script}"],
        input=(EVENTS / "cos-upload.json").read_text(),
        env={"PATH": os.environ.get("PATH", ""), **environment(fake_lambda.url)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"Forwarded": 1, "StatusCode": 202, "RequestId": AWS_REQUEST_ID}
    [received] = fake_lambda.received
    assert received.authorization()["Signature"] == botocore_signature(received, SECRET_KEY)
    assert json.loads(received.body) == less_uploader_header(cos_event())
