"""Which hosts are this machine: plain http is allowed to them only (local runs)."""

from __future__ import annotations

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS
