"""End to end: the README's local stack (FaceID emulator, moto, `osls offline`) answering real HTTP.

Runs `local/run.sh` exactly as `make run` does (on free ports), then uses the curl line it prints,
and calls the emulator's control endpoint to see what reached "FaceID". Also checks that every
sample in events/ works with `osls invoke local -p` against that stack.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, VALID_MD5, free_port

pytestmark = pytest.mark.e2e

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
    def __init__(self, process: subprocess.Popen[str], output: list[str], ports: dict[str, str]) -> None:
        self.process, self.output, self.ports = process, output, ports
        self.http = f"http://127.0.0.1:{ports['OFFLINE_HTTP_PORT']}"
        self.emulator = f"http://127.0.0.1:{ports['EMULATOR_PORT']}"

    @property
    def curl_line(self) -> str:
        lines = [line.strip() for line in self.output if line.strip().startswith("curl ")]
        assert lines, "run.sh printed no curl line:\n" + "".join(self.output)
        return lines[-1]

    def calls(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.emulator}/__emulator__/calls", timeout=5).json())


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if not OSLS.exists():
        pytest.fail("node_modules is missing: run `make setup` (the test command does)")
    ports = {
        name: str(free_port()) for name in ("OFFLINE_HTTP_PORT", "OFFLINE_LAMBDA_PORT", "EMULATOR_PORT", "MOTO_PORT")
    }
    env = node_env(**ports)
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
    yield LocalStack(process, output, ports)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def test_run_script_self_check_started_a_session(stack: LocalStack) -> None:
    printed = "".join(stack.output)
    assert "HTTP/1.1 201 Created" in printed
    assert '"BizToken"' in printed


def test_the_printed_curl_line_starts_a_session(stack: LocalStack) -> None:
    # WHEN a newcomer runs the curl line exactly as printed
    result = subprocess.run(["bash", "-c", stack.curl_line], capture_output=True, text=True, timeout=30, check=True)
    # THEN it answers 201 with the session
    head, _, body = result.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 201")
    session = json.loads(body)
    assert set(session) == {"BizToken", "VerificationUrl", "RequestId", "ExpiresAt"}
    assert session["VerificationUrl"].startswith(stack.emulator + "/verify/")
    # AND the emulator saw a signed call for that session
    assert stack.calls()[-1]["request_id"] == session["RequestId"]


def test_bad_input_through_api_gateway_emulation_is_a_400(stack: LocalStack) -> None:
    answer = requests.post(f"{stack.http}/verifications", data="{not json", timeout=30)
    assert answer.status_code == 400
    assert answer.json()["Error"]["Code"] == "InvalidParameter"
    answer = requests.post(
        f"{stack.http}/verifications",
        json={"CompareImageUrl": "https://example.com/a.jpg", "CompareImageMd5": VALID_MD5},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["Error"]["Code"] == "InvalidParameterValue.CompareImageUrl"


def test_upstream_fault_reaches_the_caller_as_the_table_says(stack: LocalStack) -> None:
    fault = {"code": "UnauthorizedOperation.Nonactivated", "message": "FaceID is not activated", "count": 1}
    requests.post(f"{stack.emulator}/__emulator__/faults", json=fault, timeout=5).raise_for_status()
    answer = requests.post(
        f"{stack.http}/verifications",
        json={
            "CompareImageUrl": "https://p-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
            "CompareImageMd5": VALID_MD5,
        },
        timeout=30,
    )
    assert answer.status_code == 503
    assert answer.json()["Error"]["Code"] == "UnauthorizedOperation.Nonactivated"
    assert answer.json()["RequestId"] == stack.calls()[-1]["request_id"]


def invoke_local(stack: LocalStack, sample: str) -> dict[str, Any]:
    """`source local/env.sh && osls invoke local -f api -p events/<sample>`, as the README says."""
    command = f"source local/env.sh && osls invoke local -f api -p events/{sample}"
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env={**os.environ, **stack.ports},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    answer: dict[str, Any] = json.loads(result.stdout[result.stdout.index("\n{\n") :])
    return answer


@pytest.mark.parametrize("sample", ["http-api-v2.json", "rest-api-v1.json", "function-url.json"])
def test_each_http_sample_works_with_osls_invoke_local(stack: LocalStack, sample: str) -> None:
    answer = invoke_local(stack, sample)
    assert answer["statusCode"] == 201, answer
    assert "BizToken" in json.loads(answer["body"])


@pytest.mark.parametrize("sample", ["s3-put.json", "cos-upload.json"])
def test_each_upload_sample_starts_one_session_against_the_local_stack(stack: LocalStack, sample: str) -> None:
    # WHEN the sample upload event is delivered twice (events are at-least-once)
    first, second = invoke_local(stack, sample), invoke_local(stack, sample)
    # THEN it started one session, naming its source, and the second delivery replayed it
    assert first["Failures"] == []
    [session] = first["Sessions"]
    assert session["Source"]["Key"] in ("reference/alice smith.png", "reference/alice.png")
    assert second == first
    applied = [c for c in stack.calls() if c["action"] == "ApplyWebVerificationToken" and c["outcome"] == "ok"]
    assert sum(1 for c in applied if c["request_id"] == session["RequestId"]) == 1


def test_curl_line_is_a_single_shell_command(stack: LocalStack) -> None:
    assert shlex.split(stack.curl_line)[0] == "curl"
