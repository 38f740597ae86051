"""The emulator's signature check against the documented TC3-HMAC-SHA256 test vector."""

from __future__ import annotations

import hashlib

from local import tc3

# The example of Tencent Cloud's Signature v3 documentation (a CVM call).
VECTOR_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
VECTOR_BODY = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
VECTOR_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def vector_signature(**changes: object) -> str:
    args: dict = {
        "secret_key": VECTOR_KEY,
        "service": "cvm",
        "timestamp": 1551113065,
        "method": "POST",
        "path": "/",
        "query": "",
        "headers": {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"},
        "signed_headers": ("content-type", "host"),
        "payload_hash": hashlib.sha256(VECTOR_BODY.encode()).hexdigest(),
    }
    args.update(changes)
    return tc3.signature(**args)


def test_documented_vector() -> None:
    assert vector_signature() == VECTOR_SIGNATURE


def test_any_change_changes_the_signature() -> None:
    assert vector_signature(timestamp=1551113066) != VECTOR_SIGNATURE
    assert vector_signature(payload_hash=hashlib.sha256(b"{}").hexdigest()) != VECTOR_SIGNATURE
    assert vector_signature(secret_key=VECTOR_KEY + "x") != VECTOR_SIGNATURE


def test_authorization_header_is_parsed() -> None:
    auth = tc3.parse_authorization(
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={VECTOR_SIGNATURE}"
    )
    assert auth == tc3.Authorization("AKIDEXAMPLE", "2019-02-25", "cvm", ("content-type", "host"), VECTOR_SIGNATURE)
    assert tc3.parse_authorization("Bearer abc") is None
    assert tc3.parse_authorization(None) is None
