"""What every bench script shares: the two implementations, their Pythons, the emulator, the output."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
STATE = ROOT / ".bench"
RESULTS = BENCH / "results"
WORKER = BENCH / "worker.py"
SECRET_ID = "AKIDlocalEmulatorFaceidFn0000000000"
SECRET_KEY = "LocalEmulatorSecretKey0NotForProduction"


@dataclass(frozen=True)
class Implementation:
    name: str
    python: Path
    path: Path  # put first on sys.path: where the handler module lives
    module: str


def venv_python(name: str, requirements: Path, *included: Path) -> Path:
    """A venv of the Lambda runtime's Python (serverless.yml's) under .bench/, created on first use
    (and again when `requirements` or a file it includes changes)."""
    sys.path.insert(0, str(ROOT))
    from deploy.package import declared_runtime, python_for

    venv = STATE / f"{name}-venv"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    wanted = "".join(path.read_text() for path in (requirements, *included))
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([python_for(declared_runtime()[0]), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
            check=True,
        )
        marker.write_text(wanted)
    return python


def implementations() -> list[Implementation]:
    """Ours (its runtime requirements, plus the boto3 the Lambda runtime provides) and the baseline,
    each in its own runtime-Python venv."""
    return [
        Implementation(
            "ours", venv_python("ours", BENCH / "ours-requirements.txt", ROOT / "requirements.txt"), ROOT, "handler"
        ),
        Implementation(
            "baseline",
            venv_python("baseline", BENCH / "baseline" / "requirements.txt"),
            BENCH / "baseline",
            "baseline_handler",
        ),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """The FaceID emulator in its own process (its CPU is not the handler's)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def control(self, command: str, options: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/__emulator__/{command}", data=json.dumps(options or {}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def calls(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/__emulator__/calls", timeout=10) as answer:
            return list(json.loads(answer.read()))


def wait_for(url: str, attempts: int = 100) -> None:
    """Until a server just started answers `url` (or `attempts` tries, 50 ms apart, have passed)."""
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


@contextmanager
def emulator() -> Iterator[Emulator]:
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "local.emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/__emulator__/health")
        yield Emulator(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


PACING_TABLE = "faceid-fn-pacing-bench"


@contextmanager
def dynamodb() -> Iterator[dict[str, str]]:
    """A moto server on 127.0.0.1 with the pacing table (as serverless.yml declares it); yields the
    environment that points the function at it."""
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "FACEID_PACING_TABLE": PACING_TABLE,
    }
    try:
        wait_for(f"http://127.0.0.1:{port}/moto-api/")
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "local.seed", "--table", PACING_TABLE],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )
        yield env
    finally:
        process.terminate()
        process.wait(timeout=10)


def environment(emulator_url: str, **extra: str) -> dict[str, str]:
    """The function's environment for both implementations (the same FaceID, the same logging)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "FACEID_ENDPOINT": emulator_url,
        "FACEID_REGION": "ap-singapore",
        "FACEID_REDIRECT_URL": "https://app.example.com/verification-done",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "FaceidFnBench",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as serverless.yml sets it (no plugin entry-point scan)
        **extra,
    }


def run_worker(
    impl: Implementation, mode: str, env: dict[str, str], *args: str, timeout: float = 600
) -> dict[str, Any]:
    """One worker process to completion; its last JSON result line (log lines are skipped)."""
    result = subprocess.run(
        [str(impl.python), str(WORKER), mode, str(impl.path), impl.module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{impl.name} {mode} failed:\n{result.stderr[-3000:]}")
    return results(result.stdout)[-1]


def run_instances(
    impl: Implementation, env: dict[str, str], n: int, callers: int, spread: float, timeout: float = 300
) -> list[list[Any]]:
    """A burst served by `callers` worker processes, one per caller, as separate Lambda instances would
    serve it: each warms up, then all start at the same wall-clock time; every request's result."""
    processes = [
        subprocess.Popen(
            [
                str(impl.python),
                str(WORKER),
                "instance",
                str(impl.path),
                impl.module,
                str(k),
                str(n),
                str(callers),
                str(spread),
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for k in range(callers)
    ]
    try:
        for process in processes:  # every instance is warm before the burst
            assert process.stdout is not None
            while "ready" not in (line := process.stdout.readline()):
                if not line:
                    raise RuntimeError(f"{impl.name} instance exited before it was ready")
        start = f"{time.time() + 0.5}\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(start)
            process.stdin.flush()
        found: list[list[Any]] = []
        for process in processes:
            stdout, _ = process.communicate(timeout=timeout)
            found.extend(results(stdout)[-1]["results"])
        return found
    finally:
        for process in processes:
            process.kill()


def results(stdout: str) -> list[dict[str, Any]]:
    found = []
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "level" not in value and "_aws" not in value:
            found.append(value)
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(name: str, title: str, columns: list[str], rows: list[list[Any]], data: dict[str, Any]) -> str:
    """Print a Markdown table and write bench/results/<name>.json; returns the table."""
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        *("| " + " | ".join(_fmt(v).ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in rows),
    ]
    table = f"**{title}**\n\n" + "\n".join(lines)
    print(table, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"title": title, "table": table, **data}, indent=2, default=str) + "\n"
    )
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
