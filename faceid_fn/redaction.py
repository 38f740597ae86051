"""Keep secrets out of logs: one formatter masks URL query strings, values under keys that name a secret,
the credentials in use, and a SecretId but for its first 4 characters, wherever they appear."""

from __future__ import annotations

import functools
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
    r"secret_?key|session[-_]?token|security[-_]?token|secrets[-_]?token|^token$|x-tc-token|authorization|password"
    r"|signature",
    re.IGNORECASE,
)
_TOKEN_HEADER = re.compile(
    r"(?P<name>x-amz-security-token|x-aws-parameters-secrets-token)(?P<sep>[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+",
    re.IGNORECASE,
)
_SECRET_ID_KEYS = re.compile(r"secret_?id", re.IGNORECASE)
SECRET_ID_SHOWN = 4  # characters of a SecretId a log line keeps

_registered: set[str] = set()
_secret_ids: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later log line (credentials loaded at start-up)."""
    if value and len(value) >= 8:
        _registered.add(value)


def register_secret_id(value: str | None) -> None:
    """Show this SecretId in every later log line by its first 4 characters only."""
    if value and len(value) >= 8:
        _secret_ids.add(value)


def shown_secret_id(value: str) -> str:
    """What a log line keeps of a SecretId: its first 4 characters (nothing of a short value)."""
    return value[:SECRET_ID_SHOWN] + MASK if len(value) >= 8 else MASK


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
    # Each pattern runs only on text that holds what it needs to match (a log line's timestamp and ARN
    # have colons, and nothing else of it).
    if _SUSPECT.search(text) is None:
        return _mask_registered(text)
    if "://" in text:
        text = _USERINFO.sub(r"\g<scheme>", text)
        text = _URL.sub(lambda m: m.group("base"), text)
    if "=" in text or "%" in text:
        text = _SIGNED_PARAM.sub(lambda m: f"{m.group('name')}{m.group('eq')}{MASK}", text)
    if "token" in text.lower():
        text = _TOKEN_HEADER.sub(lambda m: f"{m.group('name')}{m.group('sep')}{MASK}", text)
    return _mask_registered(text)


def _mask_registered(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, MASK)
    for secret_id in _secret_ids:
        if secret_id in text:
            text = text.replace(secret_id, shown_secret_id(secret_id))
    return text


@functools.lru_cache(maxsize=1024)
def _key_names(key: str) -> tuple[bool, bool]:
    """Whether a key names a secret, and whether it names a SecretId: a log line's keys are mostly the
    same few, so each is read once."""
    return bool(_SECRET_KEYS.search(key)), bool(_SECRET_ID_KEYS.search(key))


def redact(value: Any, key: str = "") -> Any:
    secret, secret_id = _key_names(key) if key else (False, False)
    if secret and value:
        return MASK
    if secret_id and isinstance(value, str):
        return shown_secret_id(value)
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
