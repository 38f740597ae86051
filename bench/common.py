"""What every bench script shares: the implementations, their Pythons, the emulator, the output."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
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
    path: str  # put first on sys.path: where the handler module lives (several joined by os.pathsep)
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


def artifact_dir() -> Path:
    """Ours as it ships: deploy/package.py's artifact for this machine's architecture, unpacked under .bench/
    (rebuilt when the code, the lock or the recipe changed)."""
    sys.path.insert(0, str(ROOT))
    from deploy import package

    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    inputs = [ROOT / "requirements.txt", ROOT / "deploy" / "package.py", ROOT / "handler.py"]
    inputs += sorted((ROOT / "faceid_fn").rglob("*.py"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()
    built, marker = STATE / f"package-{arch}", STATE / f"package-{arch}.digest"
    if not built.is_dir() or not marker.exists() or marker.read_text() != digest:
        STATE.mkdir(exist_ok=True)
        package.build(arch, STATE)
        marker.write_text(digest)
    return built


def revision(rev: str) -> Implementation:
    """Ours at another git revision (`git archive` of handler.py and faceid_fn/ under .bench/), run from
    source in ours' venv: the code before a change, measured in the same run as the code after it."""
    git = shutil.which("git") or "git"
    sha = subprocess.run(
        [git, "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = STATE / f"rev-{sha}"
    if not tree.is_dir():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            [git, "-C", str(ROOT), "archive", sha, "handler.py", "faceid_fn"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as files:
            files.extractall(tree, filter="data")
    python = venv_python("ours", BENCH / "ours-requirements.txt", ROOT / "requirements.txt")
    return Implementation(f"ours at {sha}", python, str(tree), "handler")


def implementations() -> list[Implementation]:
    """Ours (the deployment artifact first on sys.path, as /var/task is on Lambda; the venv adds what the
    runtime provides: boto3, snapshot_restore_py), the baseline, each in its own runtime-Python venv, and
    the design card's floor (bench/floor/), run from ours' venv and the artifact's dependencies (its lazy
    package inits): the same packages as ours. Scripts that compare only ours and the baseline pick them
    by name."""
    ours_python = venv_python("ours", BENCH / "ours-requirements.txt", ROOT / "requirements.txt")
    artifact = artifact_dir()
    return [
        Implementation("ours", ours_python, str(artifact), "handler"),
        Implementation(
            "baseline",
            venv_python("baseline", BENCH / "baseline" / "requirements.txt"),
            str(BENCH / "baseline"),
            "baseline_handler",
        ),
        Implementation("floor", ours_python, os.pathsep.join([str(BENCH / "floor"), str(artifact)]), "floor_handler"),
    ]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: the sockets stay bound until all are chosen (two free_port() calls in a
    row may return the same port, and the second server then fails to bind)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


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


def wait_for_port(port: int, attempts: int = 100) -> None:
    """Until something accepts connections on 127.0.0.1:`port` (or `attempts` tries, 50 ms apart)."""
    for _ in range(attempts):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
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


CREDENTIALS_SECRET = "faceid-fn/bench/tencent-credentials"
SESSIONS_TABLE = "faceid-fn-sessions-bench"
SESSION_TOKEN = "BenchFunctionSessionToken0000000000"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@dataclass(frozen=True)
class Deployed:
    """What stands in for AWS around the function as deployed: the environment of each configuration."""

    base: dict[str, str]  # Lambda's own variables, AWS credentials, the secret's name, Secrets Manager (moto)
    extension_port: int  # the Parameters and Secrets extension stand-in
    no_extension_port: int  # a port nothing listens on: the function without the layer
    intl: dict[str, str]  # the default flow's variables: COS (moto, holding the photo) and the photo's MD5

    def env(
        self, emulator_url: str, *, tracing: bool = True, extension: bool = True, intl: bool = False, **extra: str
    ) -> dict[str, str]:
        env = environment(emulator_url, **{**self.base, **(self.intl if intl else {}), **extra})
        for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
            del env[name]  # the credentials come from the secret, as serverless.yml deploys it
        if tracing:
            del env["POWERTOOLS_TRACE_DISABLED"]
        env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(
            self.extension_port if extension else self.no_extension_port
        )
        return env


@contextmanager
def deployed() -> Iterator[Deployed]:
    """A moto server on 127.0.0.1 holding the credentials secret and the session ledger's table (serverless.yml
    deploys both), the Parameters and Secrets extension's
    stand-in (local/secrets_extension.py: it reads that secret on every request, as a new instance's
    extension does on its empty cache), and a UDP socket where the X-Ray daemon would listen."""
    moto_port, extension_port = free_ports(2)
    aws = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_REGION": "ap-southeast-1",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{moto_port}",
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{moto_port}",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    moto = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    extension = None
    xray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        wait_for(f"http://127.0.0.1:{moto_port}/moto-api/")
        secret = json.dumps({"SecretId": SECRET_ID, "SecretKey": SECRET_KEY})
        create = (
            "import boto3; boto3.client('secretsmanager')"
            f".create_secret(Name={CREDENTIALS_SECRET!r}, SecretString={secret!r})"
        )
        subprocess.run([python, "-c", create], env={**os.environ, **aws}, check=True)
        ledger = (
            "import boto3; from local.seed import create_sessions_table as c;"
            f" c(boto3.client('dynamodb'), {SESSIONS_TABLE!r})"
        )
        subprocess.run([python, "-c", ledger], cwd=ROOT, env={**os.environ, **aws}, check=True)
        # The default (intl) flow reads the reference photo from COS: moto's S3 plays COS's S3-compatible API.
        cos = f"http://127.0.0.1:{moto_port}"
        photo = (
            "import sys; from local.sample_photo import png; from tests.aws import cos_put, md5;"
            f" cos_put({cos!r}, 'reference/alice.png', png()); sys.stdout.write(md5(png()))"
        )
        photo_md5 = subprocess.run(
            [python, "-c", photo], cwd=ROOT, env={**os.environ, **aws}, check=True, capture_output=True, text=True
        ).stdout.strip()
        extension = subprocess.Popen(
            [python, "-m", "local.secrets_extension", "--port", str(extension_port), "--token", SESSION_TOKEN],
            cwd=ROOT,
            env={**os.environ, **aws, "SECRETS_MANAGER_TTL": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(extension_port)
        # The real extension starts (its own AWS client included) before the function's init: ask once now,
        # so that the stand-in's boto3 import is not counted in the first configuration that uses it.
        urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{extension_port}/secretsmanager/get?secretId={CREDENTIALS_SECRET}",
                headers={"X-Aws-Parameters-Secrets-Token": SESSION_TOKEN},
            ),
            timeout=30,
        ).close()
        xray.bind(("127.0.0.1", 0))
        base = {
            **aws,
            # What Lambda sets: the X-Ray SDK and Powertools Tracer see a Lambda environment (tracing on,
            # X-Ray's Lambda sampler) and a sampled trace of the invocation.
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{xray.getsockname()[1]}",
            "POWERTOOLS_SERVICE_NAME": "faceid-fn",
            "FACEID_CREDENTIALS_SECRET": CREDENTIALS_SECRET,
            "SESSIONS_TABLE": SESSIONS_TABLE,  # the session ledger: each start is recorded (DynamoDB)
            # Each start is counted against its owner there too (one UpdateItem); the bench's callers are all
            # anonymous (auth off), so the limit is set out of reach.
            "FACEID_OWNER_STARTS": "100000/3600",
            "FACEID_CREDENTIALS_MAX_AGE_S": "300",
            "SECRETS_MANAGER_TTL": "150",
        }
        intl = {"FACEID_FLOW": "intl", "COS_ENDPOINT": cos, "BENCH_PHOTO_MD5": photo_md5}
        yield Deployed(base, extension_port, free_port(), intl)
    finally:
        xray.close()
        for process in (extension, moto):
            if process is not None:
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
        # The baseline is the sample of ApplyWebVerificationToken (the legacy flow): ours runs the same action.
        "FACEID_FLOW": "legacy",
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
        [str(impl.python), str(WORKER), mode, impl.path, impl.module, *args],
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
                impl.path,
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


def report(
    name: str,
    title: str,
    columns: list[str],
    rows: list[list[Any]],
    data: dict[str, Any],
    more: tuple[tuple[str, list[str], list[list[Any]]], ...] = (),
) -> str:
    """Print a Markdown table (and the `more` tables: title, columns, rows, after it) and write
    bench/results/<name>.json; returns the table(s)."""
    table = "\n\n".join(markdown(*spec) for spec in ((title, columns, rows), *more))
    print(table, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"title": title, "table": table, **data}, indent=2, default=str) + "\n"
    )
    return table


def markdown(title: str, columns: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table under its bold title."""
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        *("| " + " | ".join(_fmt(v).ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in rows),
    ]
    return f"**{title}**\n\n" + "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
