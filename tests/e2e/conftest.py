"""The local stack for end-to-end tests: `local/run.sh` exactly as `make run` starts it, on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, free_ports

BIN = ROOT / ".venv" / "bin"
OSLS = ROOT / "node_modules" / ".bin" / "osls"


def node_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VIRTUAL_ENV=str(ROOT / ".venv"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
    )
    env.update(extra)
    return env


class LocalStack:
    def __init__(self, process: subprocess.Popen[str], output: list[str], ports: dict[str, str], flow: str) -> None:
        self.process, self.output, self.ports, self.flow = process, output, ports, flow
        self.http = f"http://127.0.0.1:{ports['OFFLINE_HTTP_PORT']}"
        self.emulator = f"http://127.0.0.1:{ports['EMULATOR_PORT']}"
        self.webhooks = f"http://127.0.0.1:{ports['WEBHOOK_RECEIVER_PORT']}/webhooks"
        self.demo = f"http://127.0.0.1:{ports['DEMO_PORT']}/?api={self.http}&webhooks={self.webhooks}"

    @property
    def curl_line(self) -> str:
        lines = [line.strip() for line in self.output if line.strip().startswith("curl ")]
        assert lines, "run.sh printed no curl line:\n" + "".join(self.output)
        return lines[-1]

    @property
    def apply_action(self) -> str:
        return "ApplyWebVerificationBizTokenIntl" if self.flow == "intl" else "ApplyWebVerificationToken"

    @property
    def result_action(self) -> str:
        return "GetWebVerificationResultIntl" if self.flow == "intl" else "GetWebVerificationResult"

    def calls(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.emulator}/__emulator__/calls", timeout=5).json())

    def make(self, *target: str) -> dict[str, Any]:
        """`make <target>` against this stack (as the docs say: `make invoke`, `make sweep`); the JSON
        answer it prints."""
        result = subprocess.run(
            ["make", "--no-print-directory", *target],
            cwd=ROOT,
            env={**os.environ, **self.ports, "FACEID_FLOW": self.flow},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        answer: dict[str, Any] = json.loads(result.stdout[result.stdout.index("\n{\n") :])
        return answer


@contextlib.contextmanager
def local_stack(request: pytest.FixtureRequest, flow: str, **extra: str) -> Iterator[LocalStack]:
    """`local/run.sh` on free ports, with FACEID_FLOW=`flow` and `extra` in its environment, until the
    block ends; its logs go through the secret scan."""
    if not OSLS.exists():
        pytest.fail("node_modules is missing: run `make setup` (the test command does)")
    names = (
        "OFFLINE_HTTP_PORT",
        "OFFLINE_LAMBDA_PORT",
        "EMULATOR_PORT",
        "MOTO_PORT",
        "DEMO_PORT",
        "WEBHOOK_RECEIVER_PORT",
    )
    ports = {name: str(port) for name, port in zip(names, free_ports(len(names)), strict=True)}
    env = node_env(**ports, FACEID_FLOW=flow, **extra)
    process = subprocess.Popen(
        [str(ROOT / "local" / "run.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("local/run.sh exited early:\n" + "".join(output))
        output.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    else:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail("local/run.sh was not ready within 90 s:\n" + "".join(output))
    name = " ".join([flow, *extra.values()])
    try:
        yield LocalStack(process, output, ports, flow)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    # The function's own log under osls offline (and its run.sh output) goes through the secret scan too.
    scan = request.config.pluginmanager.get_plugin("faceid-secret-scan")
    scan.scan(f"local stack ({name}): offline.log", (ROOT / ".local-logs" / "offline.log").read_text())
    scan.scan(f"local stack ({name}): run.sh output", "".join(output))
    scan.scan(f"local stack ({name}): webhooks.log", (ROOT / ".local-logs" / "webhooks.log").read_text())


@pytest.fixture(scope="session", params=["legacy", "intl"])
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """The local stack, once per FaceID flow: every end-to-end test runs under both."""
    with local_stack(request, request.param) as running:
        yield running
