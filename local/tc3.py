"""Server side of Tencent Cloud API 3.0 request signing (TC3-HMAC-SHA256), for the emulator.

Written from the published algorithm (Signature v3 doc), independently of the SDK's signer, so that
the emulator can catch a client that signs wrongly. The doc's test vector is in tests/local/.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z0-9]+)/tc3_request,"
    r"\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization | None:
    match = _AUTH.match(value or "")
    if not match:
        return None
    headers = tuple(match["headers"].split(";"))
    return Authorization(match["id"], match["date"], match["service"], headers, match["sig"])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(
    *,
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
) -> str:
    """The hex signature of a request, as the API 3.0 gateway computes it."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [method, path or "/", query, canonical_headers, ";".join(signed_headers), payload_hash]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def payload_hash(body: bytes, content_sha256_header: str | None) -> str:
    if content_sha256_header == "UNSIGNED-PAYLOAD":
        return "UNSIGNED-PAYLOAD"
    return hashlib.sha256(body).hexdigest()
