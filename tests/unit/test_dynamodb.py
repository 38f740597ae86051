"""The ledger's thin DynamoDB client (faceid_fn/adapters/aws/dynamodb.py): against moto in-process (answers as boto3's),
and against a scripted HTTP server on 127.0.0.1 (signing, endpoint, error mapping, retries)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from faceid_fn.adapters.aws import dynamodb
from faceid_fn.adapters.aws.dynamodb import DynamoDB, endpoint_url
from faceid_fn.adapters.aws.ledger import SHARDS, Ledger
from faceid_fn.domain.sessions import sweep_shard
from tests.aws import AWS_REGION, SESSIONS_TABLE

KEY = {"BizToken": {"S": "token-1"}}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_REGION": AWS_REGION,
        "AWS_ACCESS_KEY_ID": "AKIDTESTING",
        "AWS_SECRET_ACCESS_KEY": "secret-testing",
        "AWS_SESSION_TOKEN": "session-token-testing",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dynamodb, "BACKOFF_BASE_S", 0.001)


@pytest.fixture
def table(env: None) -> Iterator[Any]:
    from local.seed import create_sessions_table

    with mock_aws():
        client = boto3.client("dynamodb", region_name=AWS_REGION)
        create_sessions_table(client, SESSIONS_TABLE)
        yield client


class Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted (status, body); records what it was sent."""

    script: list[tuple[int, dict[str, Any]]] = []
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.path, dict(self.headers.items()), body))
        status, answer = self.script.pop(0) if self.script else (200, {})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", f"request-{len(self.seen)}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Scripted]]:
    handler = type("Handler", (Scripted,), {"script": [], "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{httpd.server_address[1]}/")
    try:
        yield handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def error(code: str, message: str = "no") -> dict[str, Any]:
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}


# --- against moto: the same answers as boto3's client -----------------------------------------------


def test_answers_are_boto3s_low_level_dicts(table: Any) -> None:
    client = DynamoDB()
    item = {**KEY, "Status": {"S": "pending"}, "SweepShard": {"S": "pending"}, "SweepAt": {"N": "5"}}
    assert client.put_item(TableName=SESSIONS_TABLE, Item=item)["ResponseMetadata"]["HTTPStatusCode"] == 200
    ours = client.get_item(TableName=SESSIONS_TABLE, Key=KEY, ConsistentRead=True)
    theirs = table.get_item(TableName=SESSIONS_TABLE, Key=KEY, ConsistentRead=True)
    assert ours["Item"] == theirs["Item"] == item
    assert set(ours["ResponseMetadata"]) == {"RequestId", "HTTPStatusCode", "HTTPHeaders", "RetryAttempts"}
    updated = client.update_item(
        TableName=SESSIONS_TABLE,
        Key=KEY,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":s": {"S": "done"}},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["Status"] == {"S": "done"}
    found = client.query(
        TableName=SESSIONS_TABLE,
        IndexName="Pending",
        KeyConditionExpression="SweepShard = :p AND SweepAt <= :n",
        ExpressionAttributeValues={":p": {"S": "pending"}, ":n": {"N": "10"}},
    )
    assert [i["BizToken"] for i in found["Items"]] == [{"S": "token-1"}]
    assert "Item" not in client.get_item(TableName=SESSIONS_TABLE, Key={"BizToken": {"S": "none"}})


def test_a_failed_condition_is_boto3s_exception(table: Any) -> None:
    client = DynamoDB()
    client.put_item(TableName=SESSIONS_TABLE, Item=KEY)
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as raised:
        client.put_item(TableName=SESSIONS_TABLE, Item=KEY, ConditionExpression="attribute_not_exists(BizToken)")
    assert isinstance(raised.value, ClientError)
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert raised.value.operation_name == "PutItem"


def test_the_ledger_on_the_thin_client(table: Any) -> None:
    ledger = Ledger(SESSIONS_TABLE)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    start = {"owner": "u", "source": {"Type": "http"}, "flow": "legacy", "region": "ap-singapore"}
    ledger.record_start(biz_token="t", expires_at=now + timedelta(hours=1), now=now, **start)
    ledger.record_start(biz_token="t", expires_at=now + timedelta(hours=1), now=now, **start)  # a replay: kept
    assert isinstance(ledger.built_client, DynamoDB)
    record = ledger.get("t")
    assert record is not None
    assert record.Owner == "u"
    assert record.Status == "pending"
    claim = {"error_code": 0, "error_msg": "ok", "extra": None, "request_id": "r", "now": now}
    assert ledger.claim("t", status="succeeded", **claim) is not None
    assert ledger.claim("t", status="succeeded", **claim) is None  # exactly one claim
    shard = sweep_shard("t", SHARDS)
    assert [r.BizToken for r in ledger.due(now + timedelta(hours=1), 10, shard)] == ["t"]
    ledger.announced("t")
    assert ledger.due(now + timedelta(hours=1), 10, shard) == []


# --- against a scripted server: the wire, errors, retries ------------------------------------------


def test_requests_are_signed_json_protocol_posts_to_the_configured_endpoint(server: type[Scripted]) -> None:
    server.script.append((200, {"Item": KEY}))
    client = DynamoDB()
    assert client.get_item(TableName="t", Key=KEY)["Item"] == KEY
    path, sent, body = server.seen[0]
    headers = {name.lower(): value for name, value in sent.items()}  # HTTP header names are case-insensitive
    assert path == "/"
    assert json.loads(body) == {"TableName": "t", "Key": KEY}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDTESTING/{headers['x-amz-date'][:8]}/{AWS_REGION}/dynamodb/aws4_request, "
    )
    assert "SignedHeaders=" in headers["authorization"]
    assert "Signature=" in headers["authorization"]
    assert headers["x-amz-security-token"] == "session-token-testing"


def test_the_endpoint(monkeypatch: pytest.MonkeyPatch, env: None) -> None:
    assert endpoint_url("eu-west-1") == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert DynamoDB().endpoint == f"https://dynamodb.{AWS_REGION}.amazonaws.com/"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/")
    assert endpoint_url("eu-west-1") == "http://127.0.0.1:1/"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2/")
    assert endpoint_url("eu-west-1") == "http://127.0.0.1:2/"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert endpoint_url("eu-west-1") == "https://dynamodb.eu-west-1.amazonaws.com/"


def test_a_throttle_is_retried(server: type[Scripted]) -> None:
    server.script += [(400, error("ProvisionedThroughputExceededException")), (200, {"Attributes": KEY})]
    answer = DynamoDB().update_item(TableName="t", Key=KEY, UpdateExpression="SET a = :a")
    assert answer["Attributes"] == KEY
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(server.seen) == 2


def test_server_errors_are_retried_at_most_three_times(server: type[Scripted]) -> None:
    server.script += [(500, error("InternalServerError", "boom"))] * 3 + [(200, {})]
    with pytest.raises(ClientError) as raised:
        DynamoDB().put_item(TableName="t", Item=KEY)
    assert raised.value.response["Error"] == {"Code": "InternalServerError", "Message": "boom"}
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(server.seen) == dynamodb.MAX_ATTEMPTS == 3


def test_other_errors_are_not_retried(server: type[Scripted]) -> None:
    server.script.append((400, error("ValidationException", "One or more parameter values were invalid")))
    client = DynamoDB()
    with pytest.raises(client.exceptions.ValidationException) as raised:
        client.put_item(TableName="t", Item={})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "ConditionalCheckFailedException" not in type(raised.value).__name__
    assert len(server.seen) == 1


def test_an_unreachable_endpoint_is_a_botocore_error(monkeypatch: pytest.MonkeyPatch, env: None) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}/")
    with pytest.raises(EndpointConnectionError):
        DynamoDB().get_item(TableName="t", Key=KEY)


def test_close_drops_connections_and_credentials(server: type[Scripted], monkeypatch: pytest.MonkeyPatch) -> None:
    client = DynamoDB()
    client.get_item(TableName="t", Key=KEY)
    client.close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDROTATED")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    client.get_item(TableName="t", Key=KEY)  # reconnects, with the credentials read again
    headers = {name.lower(): value for name, value in server.seen[-1][1].items()}
    assert "Credential=AKIDROTATED/" in headers["authorization"]
    assert "x-amz-security-token" not in headers


def test_without_credentials_in_the_env_botocores_chain_is_used(
    server: type[Scripted], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    DynamoDB().get_item(TableName="t", Key=KEY)
    headers = {name.lower(): value for name, value in server.seen[0][1].items()}
    assert "Credential=AKIDFROMFILE/" in headers["authorization"]
    assert "x-amz-security-token" not in headers


def test_the_signature_holds_for_what_arrives(server: type[Scripted]) -> None:
    """What `requests` sent still matches the SigV4 signature (no signed header rewritten on the way)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    client = DynamoDB()
    client.put_item(TableName="t", Item=KEY)
    _, received, body = server.seen[0]
    lowered = {name.lower(): value for name, value in received.items()}
    fields = dict(part.split("=", 1) for part in lowered["authorization"].split(" ", 1)[1].split(", "))
    names = fields["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "x-amz-target", "content-type", "x-amz-security-token"} <= set(names)
    request = AWSRequest(method="POST", url=client.endpoint, data=body, headers={n: lowered[n] for n in names})
    request.context["timestamp"] = lowered["x-amz-date"]
    signer = SigV4Auth(Credentials("AKIDTESTING", "secret-testing", "session-token-testing"), "dynamodb", AWS_REGION)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert signer.signature(string_to_sign, request) == fields["Signature"]
