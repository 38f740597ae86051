"""What is built once per Lambda container and reused by every warm invocation."""

from __future__ import annotations

from functools import cache

from faceid_fn.config import Settings, load_settings
from faceid_fn.faceid import FaceId
from faceid_fn.redaction import register_secret


@cache
def settings() -> Settings:
    loaded = load_settings()
    for secret in (loaded.tencentcloud_secret_key, loaded.tencentcloud_session_token):
        register_secret(secret.get_secret_value() if secret else None)
    return loaded


@cache
def faceid() -> FaceId:
    return FaceId.from_settings(settings())


def warm_up() -> None:
    """Validate the settings and build the clients at cold start (raises ConfigError)."""
    faceid()


def reset() -> None:
    """Forget what was built (tests change the environment between cases)."""
    faceid.cache_clear()
    settings.cache_clear()
