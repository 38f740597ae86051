"""How an adapter holds its client: built on first use, once; loaded before a SnapStart snapshot and closed
around it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Lifecycle(Protocol):
    """What the composition root asks of every adapter it built (SnapStart's hooks)."""

    def prime(self) -> None:
        """Build the client now, so that it is in the snapshot."""

    def close(self) -> None:
        """Drop pooled connections and cached credentials; the next use reconnects."""


class LazyClient(Generic[T]):
    """A client built on first use, once, under a lock (boto3's default session is not safe to build
    clients from in parallel, and two threads must not build two). close() drops its pooled connections
    through the client's own close(); the client stays, and its next use reconnects."""

    def __init__(self, build: Callable[[], T], client: T | None = None) -> None:
        self._build = build
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    @property
    def current(self) -> T | None:
        """The client if it was built (or given), else None; builds nothing."""
        return self._client

    def close(self) -> None:
        with self._lock:
            close = getattr(self._client, "close", None)
            if callable(close):
                close()
