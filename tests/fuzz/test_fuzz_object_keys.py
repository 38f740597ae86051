"""What a check sees is what a reader sends: for any key an uploader can give an object, the request that goes
out on the wire names the key its owner was taken from, or nothing goes out (InvalidObjectKey).

Generated keys (dot segments, encoded dots and slashes, empty segments, backslashes, Unicode, control and
format characters) go through the decision a record gets (source_of's decoding, the owner's folder, the key
rule) and then through each reader of an object named by an outsider: COS over HTTP (Cos.read), S3 through
boto3 (read_object), and the pre-signed COS URL FaceID fetches in the legacy flow. The first two send to a
recording server on 127.0.0.1, which answers every GET with a PNG and keeps the raw request target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import boto3
import pytest
import urllib3
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceid_fn.adapters.aws.s3 import read_object
from faceid_fn.adapters.tencent.cos import Cos
from faceid_fn.config import Settings
from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.ownership import folder_owner
from faceid_fn.entrypoints.upload_events import source_of
from tests.aws import cos_record, s3_record
from tests.fuzz.budget import examples

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56
PREFIX = "reference/"
COS_BUCKET = "photos-1250000000"
S3_BUCKET = "uploads"

# What an attacker reaches for, beside arbitrary text: dot segments, their encodings, slashes and backslashes
# in every form, Unicode look-alikes of both, control and format characters.
TRICKS = [
    "", ".", "..", "...", "%2e", "%2E%2e", ".%2e", "%2f", "%2F", "..%2f", "%252e%252e", "%5c", "\\", "..\\",
    "\uff0e\uff0e", "\uff0f", "\u2024\u2024", "\u2215", "\x00", "\t", "\n", "\x7f", "\u202e", "\u200b",
    "\ufeff", "a b", "a+b", "é", "\u0065\u0301", "用户", "%", "%zz", "%ff", "?", "#", ";", "~",
]  # fmt: skip
segments = st.one_of(st.sampled_from(TRICKS), st.text(max_size=6), st.sampled_from(["user-a", "user-b", "p.png"]))
keys = st.tuples(st.sampled_from([PREFIX + "user-a/", PREFIX, ""]), st.lists(segments, min_size=1, max_size=5)).map(
    lambda parts: parts[0] + "/".join(parts[1])
)


class Recording(BaseHTTPRequestHandler):
    targets: list[str] = []

    def do_GET(self) -> None:
        self.targets.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[type[Recording], str]]:
    handler = type("Handler", (Recording,), {"targets": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def wire_key(target: str, bucket: str) -> str:
    """The key a path-style request target names, as an S3-compatible server decodes it."""
    path = unquote(target.split("?", 1)[0], errors="strict")
    assert path.startswith(f"/{bucket}/"), target
    return path.removeprefix(f"/{bucket}/")


@dataclass(frozen=True)
class Refused:
    code: str


def outcome(call: Callable[[], Any]) -> Any:
    """What a call returns, or Refused(code) for the InvalidInput it raises."""
    try:
        return call()
    except InvalidInput as exc:
        return Refused(exc.code)


def read_decided(record: dict[str, Any], read: Callable[[str], Any]) -> tuple[Any, str | None]:
    """A record through the decision the handler makes (source_of's decoding, then the owner's folder), then
    `read` of the key decided: (what the read returned or Refused, the owner), (Refused, None) when the
    record itself is refused."""
    decision = outcome(lambda: source_of(record, "ap-singapore"))
    if isinstance(decision, Refused):
        assert decision.code == "InvalidObjectKey"
        return decision, None
    key = decision[0].Key
    return outcome(lambda: read(key)), folder_owner(key, PREFIX)


def cos_reader(endpoint: str) -> Cos:
    config = {
        "tencentcloud_secret_id": "AKIDkeysOnTheWire",
        "tencentcloud_secret_key": "keysOnTheWireSecret",
        "faceid_redirect_url": "https://app.example.com/done",
    }
    return Cos(Settings.model_validate({**config, "cos_endpoint": endpoint}), lambda: ("AKID", "secret", None))


def encodings(key: str) -> list[str]:
    """How a key may arrive in a record: percent-encoded as COS and S3 write it, or as the attacker typed it."""
    return [quote(key, safe="/"), key]


@settings(max_examples=examples(1000), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=keys)
def test_cos_reads_name_exactly_the_key_the_owner_was_taken_from(
    recorder: tuple[type[Recording], str], key: str
) -> None:
    handler, endpoint = recorder
    cos = cos_reader(endpoint)
    for encoded in encodings(key):
        record = cos_record("x", size=len(PNG))
        record["cos"]["cosObject"]["key"] = f"/1250000000/photos/{encoded}"
        handler.targets.clear()
        read, owner = read_decided(record, lambda k: (k, cos.read(COS_BUCKET, k, None, 1024)))
        if isinstance(read, Refused):
            assert read == Refused("InvalidObjectKey")
            assert handler.targets == []  # refused: nothing went out
            continue
        decided_key, data = read
        assert data == PNG
        [target] = handler.targets
        assert wire_key(target, COS_BUCKET) == decided_key
        assert folder_owner(wire_key(target, COS_BUCKET), PREFIX) == owner


@settings(max_examples=examples(500), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=keys)
def test_s3_reads_name_exactly_the_key_the_owner_was_taken_from(
    recorder: tuple[type[Recording], str], key: str
) -> None:
    handler, endpoint = recorder
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="ap-southeast-1",
        aws_access_key_id="AKIAKEYSONTHEWIRE",
        aws_secret_access_key="keysOnTheWire",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    try:
        record = s3_record(S3_BUCKET, key, PNG)  # quote_plus'd, as S3 writes it
    except UnicodeEncodeError:
        return  # not a key S3 can hold (a lone surrogate): no record can carry it
    handler.targets.clear()
    read, _ = read_decided(record, lambda k: (k, read_object(client, S3_BUCKET, k, None, 1024)))
    if isinstance(read, Refused):
        assert read == Refused("InvalidObjectKey")
        assert handler.targets == []
        return
    decided_key, data = read
    assert data == PNG
    [target] = handler.targets
    assert wire_key(target, S3_BUCKET) == decided_key


@settings(max_examples=examples(1000), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=keys)
def test_presigned_urls_name_exactly_the_key_even_once_normalised(key: str) -> None:
    # FaceID fetches the pre-signed URL itself: its path must name the key before and after the dot-segment
    # removal and normalisation an HTTP client applies (urllib3's, which requests uses).
    cos = cos_reader("http://127.0.0.1:9")
    for encoded in encodings(key):
        record = cos_record("x", size=len(PNG))
        record["cos"]["cosObject"]["key"] = f"/1250000000/photos/{encoded}"
        read, _ = read_decided(record, lambda k: (k, cos.presigned_url(COS_BUCKET, k)))
        if isinstance(read, Refused):
            assert read == Refused("InvalidObjectKey")
            continue
        decided_key, url = read
        for path in (urlsplit(url).path, str(urllib3.util.parse_url(url).path)):
            assert unquote(path, errors="strict") == "/" + decided_key
