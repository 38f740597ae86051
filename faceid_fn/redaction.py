"""Keep secrets out of logs: one formatter masks them in every structured log line.

What is masked wherever it appears (messages, extra keys, exception text from the SDK):
- query strings and userinfo of URLs (pre-signed COS URLs carry their signature there);
- pre-signed URL parameters also when percent-encoded or outside a URL
  (`q-signature`, `q-ak`, `x-cos-security-token`, `sign`);
- values under keys that name a secret (`SecretKey`, `Token`, `Authorization`, ...);
- the literal values of the credentials in use, registered with `register_secret`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

MASK = "***"

_URL = re.compile(r"(?P<base>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#\"'<>]+)(?P<rest>[?#][^\s\"'<>]*)?")
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@\"'<>]+@")
_SIGNED_PARAM = re.compile(
    r"(?P<name>q-signature|q-ak|x-cos-security-token|sign|signature|token)"
    r"(?P<eq>=|%3D|%253D)[^&\s\"'<>]*",
    re.IGNORECASE,
)
_SECRET_KEYS = re.compile(
    r"secret_?key|session_?token|^token$|x-tc-token|authorization|password|signature", re.IGNORECASE
)

_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later log line (credentials loaded at start-up)."""
    if value and len(value) >= 8:
        _registered.add(value)


def redact_url(url: str) -> str:
    """The URL without userinfo, query string or fragment: what may be logged of it."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return MASK
    host = parts.hostname or ""
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# Text without any of these characters holds no URL, URL parameter or percent-encoding.
_SUSPECT = re.compile(r"[:=%]")


def redact_text(text: str) -> str:
    if _SUSPECT.search(text) is None:
        return _mask_registered(text)
    text = _USERINFO.sub(r"\g<scheme>", text)
    text = _URL.sub(lambda m: m.group("base"), text)
    text = _SIGNED_PARAM.sub(lambda m: f"{m.group('name')}{m.group('eq')}{MASK}", text)
    return _mask_registered(text)


def _mask_registered(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key) and value:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))  # exceptions and other objects are logged as their text


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with every log line passed through `redact` first."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact(log))
