"""Reading a COS object (faceid_fn.adapters.tencent.cos.Cos.read): one SigV4-signed GET over `requests`, no boto3.

Against a scripted HTTP server on 127.0.0.1: what is sent (and that botocore, given what arrived, computes
the same signature), the answers that are retried, refused or permanent, and what errors say.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from faceid_fn.adapters.aws.s3 import StorageError
from faceid_fn.adapters.tencent import cos
from faceid_fn.adapters.tencent.cos import Cos, read_photo_at
from faceid_fn.config import Settings
from faceid_fn.domain.errors import InvalidInput, UpstreamError

SECRET_ID = "AKIDcosReaderTest0000"
SECRET_KEY = "cosReaderSecretKeyNeverShown"
TOKEN = "cosReaderSessionToken"
BUCKET = "photos-1250000000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56


class Scripted(BaseHTTPRequestHandler):
    """Answers each GET with the next scripted (status, headers, body); records what it was sent."""

    script: list[tuple[int, dict[str, str], bytes]] = []
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
        status, headers, body = self.script.pop(0) if self.script else (200, {}, PNG)
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[type[Scripted], str]]:
    handler = type("Handler", (Scripted,), {"script": [], "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(cos, "random", type("NoJitter", (), {"uniform": staticmethod(lambda a, b: 0.0)}))
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def cos_for(endpoint: str, token: str | None = TOKEN) -> Cos:
    settings = Settings.model_validate(
        {
            "tencentcloud_secret_id": SECRET_ID,
            "tencentcloud_secret_key": SECRET_KEY,
            "faceid_redirect_url": "https://app.example.com/done",
            "cos_endpoint": endpoint,
        }
    )
    return Cos(settings, lambda: (SECRET_ID, SECRET_KEY, token))


def xml_error(code: str) -> bytes:
    return f"<?xml version='1.0' encoding='utf-8' ?><Error><Code>{code}</Code><Message>m</Message></Error>".encode()


def test_a_read_is_one_get_signed_as_botocore_would_sign_it(server: tuple[type[Scripted], str]) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    handler, endpoint = server
    cos = cos_for(endpoint)
    # WHEN an object (a key with a space and a non-ASCII letter, and a version) is read
    assert cos.read(BUCKET, "reference/al ice-é.png", "v1", 1024) == PNG
    # THEN one path-style GET was sent, with the version asked for and the session token
    (path, headers), *others = handler.seen
    assert others == []
    assert path == f"/{BUCKET}/reference/al%20ice-%C3%A9.png?versionId=v1"
    assert headers["x-amz-security-token"] == TOKEN
    fields = dict(part.split("=", 1) for part in headers["authorization"].split(" ", 1)[1].split(", "))
    assert fields["Credential"].startswith(f"{SECRET_ID}/{headers['x-amz-date'][:8]}/ap-singapore/s3/aws4_request")
    # AND botocore's S3 signer, given what arrived, computes the same signature
    names = fields["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"} <= set(names)
    request = AWSRequest(method="GET", url=endpoint + path, headers={n: headers[n] for n in names})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = S3SigV4Auth(Credentials(SECRET_ID, SECRET_KEY, TOKEN), "s3", "ap-singapore")
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert signer.signature(string_to_sign, request) == fields["Signature"]


def test_without_a_token_none_is_sent(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    assert cos_for(endpoint, token=None).read(BUCKET, "k.png", None, 1024) == PNG
    path, headers = handler.seen[0]
    assert path == f"/{BUCKET}/k.png"
    assert "x-amz-security-token" not in headers


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "NoSuchKey"), (403, "AccessDenied"), (404, "NoSuchBucket"), (301, "PermanentRedirect")],
)
def test_a_missing_or_forbidden_object_is_permanent_and_asked_once(
    server: tuple[type[Scripted], str], status: int, code: str
) -> None:
    handler, endpoint = server
    redirect = {"Location": "http://127.0.0.1:1/elsewhere"} if status == 301 else {}  # never followed
    handler.script.append((status, {"Content-Type": "application/xml", **redirect}, xml_error(code)))
    with pytest.raises(StorageError) as raised:
        cos_for(endpoint).read(BUCKET, "k.png", None, 1024)
    assert (raised.value.code, raised.value.retryable) == ("ObjectUnreadable", False)
    assert code in raised.value.message
    assert len(handler.seen) == 1


def test_a_server_error_is_asked_again_once(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    handler.script.append((503, {}, xml_error("SlowDown")))
    assert cos_for(endpoint).read(BUCKET, "k.png", None, 1024) == PNG
    assert len(handler.seen) == 2


def test_server_errors_past_the_attempts_are_retryable_failures(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    handler.script += [(500, {}, xml_error("InternalError"))] * 2
    with pytest.raises(StorageError) as raised:
        cos_for(endpoint).read(BUCKET, "k.png", None, 1024)
    assert (raised.value.code, raised.value.retryable) == ("ObjectUnreadable", True)
    assert len(handler.seen) == 2


def test_an_object_over_the_limit_is_refused_by_its_length(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    handler.script.append((200, {}, PNG + b"\x00" * 100))
    with pytest.raises(InvalidInput) as raised:
        cos_for(endpoint).read(BUCKET, "k.png", None, len(PNG))
    assert raised.value.code == "ObjectTooLarge"


def test_no_more_than_one_byte_over_the_limit_is_read_without_a_length(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    handler.script.append((200, {"Content-Length": ""}, PNG * 10))  # no usable length: read up to the limit + 1
    assert len(cos_for(endpoint).read(BUCKET, "k.png", None, 100)) <= 101


def test_a_body_cut_short_is_asked_again_then_storage_unavailable(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    # the answer promises more bytes than it sends, then the connection closes (twice)
    handler.script += [(200, {"Content-Length": str(len(PNG) * 2)}, PNG)] * 2
    with pytest.raises(StorageError) as raised:
        cos_for(endpoint).read(BUCKET, "k.png", None, 1024)
    assert (raised.value.code, raised.value.retryable) == ("StorageUnavailable", True)
    assert len(handler.seen) == 2


def test_an_unreachable_endpoint_is_storage_unavailable() -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(StorageError) as raised:
        cos_for(f"http://127.0.0.1:{port}").read(BUCKET, "k.png", None, 1024)
    assert (raised.value.code, raised.value.retryable) == ("StorageUnavailable", True)


def test_callers_get_an_answer_that_names_no_secret(server: tuple[type[Scripted], str]) -> None:
    handler, endpoint = server
    url = f"https://{BUCKET}.cos.ap-singapore.myqcloud.com/reference/k.png"
    handler.script.append((404, {}, xml_error("NoSuchKey")))
    with pytest.raises(InvalidInput) as permanent:
        read_photo_at(cos_for(endpoint), url, 1024)
    handler.script += [(500, {}, xml_error("InternalError"))] * 2
    with pytest.raises(UpstreamError) as passing:
        read_photo_at(cos_for(endpoint), url, 1024)
    assert permanent.value.code == "InvalidParameterValue.CompareImageUrl"
    assert passing.value.code == "StorageUnavailable"
    for error in (permanent.value, passing.value):
        text = f"{error} {error.message} {error!r}"
        for secret in (SECRET_KEY, TOKEN, "Signature", "x-amz", "127.0.0.1"):
            assert secret not in text
