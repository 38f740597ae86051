"""Concurrent callers served the way Lambda serves them: one process per instance, one request at a time each.

Threads of one process would share what Powertools keeps per request (the resolver's current event and
context live on the class), which no Lambda instance ever does. Each instance here is a Python process
that imports the handler once and then answers events sent on its stdin; its log lines come back with
each answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "@@answer "

WORKER = textwrap.dedent(
    f"""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import handler
    from tests.conftest import LambdaContext
    print("ready", flush=True)
    for line in sys.stdin:
        answer = handler.handler(json.loads(line), LambdaContext())
        print({ANSWER!r} + json.dumps(answer), flush=True)
    """
)


class Instance:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(ROOT)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        assert self.process.stdout is not None
        while (line := self.process.stdout.readline()).strip() != "ready":
            if not line:  # cold-start log lines come first; an empty read is an exit
                raise RuntimeError(f"instance did not start: {self._stderr()}")

    def invoke(self, event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One event: the handler's answer and the log lines it wrote meanwhile."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        logs: list[dict[str, Any]] = []
        while line := self.process.stdout.readline():
            if line.startswith(ANSWER):
                return json.loads(line[len(ANSWER) :]), logs
            if line.startswith("{"):
                logs.append(json.loads(line))
        raise RuntimeError(f"instance exited: {self._stderr()}")

    def _stderr(self) -> str:
        self.process.kill()
        return (self.process.communicate(timeout=10)[1] or "")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=10)


@contextmanager
def instances(env: dict[str, str], count: int) -> Iterator[list[Instance]]:
    """`count` warm instances of the function with `env` as their whole environment."""
    started = [Instance({**env, "PATH": "/usr/bin:/bin", "PYDANTIC_DISABLE_PLUGINS": "__all__"}) for _ in range(count)]
    try:
        for instance in started:
            instance.ready()
        yield started
    finally:
        for instance in started:
            instance.stop()


def serve(pool: list[Instance], events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """All events at once: instance k takes events k, k + len(pool), ... in turn, as a busy instance does."""

    def run(k: int) -> list[tuple[int, Any]]:
        return [(n, pool[k].invoke(events[n])) for n in range(k, len(events), len(pool))]

    with ThreadPoolExecutor(max_workers=len(pool)) as threads:
        done = [item for chunk in threads.map(run, range(len(pool))) for item in chunk]
    return [answer for _, answer in sorted(done, key=lambda item: item[0])]
