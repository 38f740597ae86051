"""The soak's helper processes (moto, the proxy, the emulator, the receiver) and the small HTTP calls the
harness makes to their control endpoints."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import STATE
from soak_stack import REGION, ROOT

PYTHON = sys.executable
HELPERS: dict[str, int] = {}  # helper process name -> pid (their CPU time goes into the report)
AWS = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process still running (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str] | None = None, announce: bool = False) -> Iterator[Any]:
    """A helper process (its stderr to the soak's log directory); `announce`: it prints its ports as JSON."""
    name = command[2] if command[1] == "-m" else Path(command[1]).stem
    log = (STATE / "soak" / f"{name}.log").open("ab")
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE if announce else subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    HELPERS[name] = child.pid
    try:
        yield json.loads(child.stdout.readline()) if announce and child.stdout else child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()
