"""A clock that tests move by hand: the code under test reads it where it would read the time."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
