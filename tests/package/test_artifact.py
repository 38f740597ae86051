"""The deployment artifact: only runtime code, wheels for the declared runtime, and it really runs.

deploy/package.py builds it for serverless.yml's runtime (python3.12, arm64) and, with the same
recipe, for this machine's architecture: an arm64 build cannot be loaded on x86_64, so its contents
and tags are checked statically, and the host build is imported and invoked under Python 3.12 with
Lambda's path order (the artifact, then the runtime's own boto3).
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from deploy import package
from tests.conftest import ROOT, function_environment

# The first test builds the artifact (pip downloads and installs wheels): longer than the default 120 s.
pytestmark = [pytest.mark.package, pytest.mark.timeout(600)]

HOST_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()]
ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("build")
    declared = package.declared_runtime()[1]
    artifacts = {arch: package.build(arch, out) for arch in {declared, HOST_ARCH}}
    return {**artifacts, "out": out}


def names(artifact: Path) -> list[str]:
    with zipfile.ZipFile(artifact) as archive:
        return archive.namelist()


def test_declared_runtime_is_what_the_artifact_is_built_for() -> None:
    assert package.declared_runtime() == ("3.12", "arm64")


def test_artifact_holds_runtime_code_only(built: dict[str, Path]) -> None:
    files = names(built["arm64"])
    tops = {name.split("/", 1)[0] for name in files}
    assert "handler.pyc" in tops
    assert "background.pyc" in tops  # the sweep's and the delivery function's entry points
    assert "faceid_fn" in tops
    for forbidden in (
        *("tests", "local", "bench", "deploy", "pip", "setuptools", "wheel", "boto3", "botocore", "events"),
        "snapshot_restore_py.pyc",  # the runtime's own copy holds the hooks it calls
    ):
        assert forbidden not in tops, forbidden
    assert not [n for n in files if n.endswith(".py")], "bytecode only"
    assert not [n for n in files if "__pycache__" in n]
    assert built["arm64"].stat().st_size <= 5 * 1024 * 1024  # the target: <= 5 MiB zipped


def test_wheel_tags_and_binaries_match_the_runtime(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["arm64"]) as archive:
        tags = [
            line.split(":", 1)[1].strip()
            for name in archive.namelist()
            if name.endswith(".dist-info/WHEEL")
            for line in archive.read(name).decode().splitlines()
            if line.startswith("Tag:")
        ]
        binaries = [name for name in archive.namelist() if name.endswith(".so")]
        machines = {archive.read(name)[18] | archive.read(name)[19] << 8 for name in binaries}
    assert tags
    for tag in tags:
        python, _abi, plat = tag.split("-")
        assert plat == "any" or ("aarch64" in plat and plat.startswith("manylinux")), tag
        assert python in ("py2", "py3", "py2.py3", "cp312"), tag  # universal wheels list py2 too
    assert binaries
    assert all("cpython-312-aarch64" in name or "abi3" in name for name in binaries), binaries
    assert machines == {ELF_MACHINE["arm64"]}


@pytest.mark.parametrize("tracing", [False, True], ids=["tracing-off", "tracing-on"])
def test_host_build_imports_and_answers_under_python_312(
    built: dict[str, Path], emulator_server, tracing: bool
) -> None:
    # GIVEN Lambda's sys.path: the artifact first, then the runtime's boto3 (pinned like our dev deps)
    runtime = built["out"] / "runtime"
    pins = list(
        dict.fromkeys(
            line.split()[0]
            for lock in ("requirements.txt", "requirements-dev.txt")
            for line in (ROOT / lock).read_text().splitlines()
            if line.split("==")[0] in package.RUNTIME_PROVIDED
        )
    )
    if not runtime.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(runtime), *pins],
            check=True,
        )
    script = textwrap.dedent(
        """
        import json, sys
        sys.path[:0] = [sys.argv[1], sys.argv[2]]
        import handler  # cold start from the artifact
        assert handler.__file__.startswith(sys.argv[1]), handler.__file__
        class Context:
            function_name, memory_limit_in_mb, aws_request_id = "f", 256, "artifact-test"
            invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:f"
        event = json.loads(sys.stdin.read())
        answer = handler.handler(event, Context())
        # Powertools' package inits are lazy in the artifact: what the function does not use is not loaded,
        # and every public name still imports
        unused = [m for m in ("aws_lambda_powertools.event_handler.appsync", "asyncio",
                              "aws_lambda_powertools.utilities.data_classes.s3_event") if m in sys.modules]
        assert not unused, unused
        from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayHttpResolver, content_types
        from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
        import aws_lambda_powertools.utilities.data_classes as data_classes
        assert callable(event_source) and data_classes.s3_event.S3Event is S3Event
        assert ("aws_xray_sdk.core" in sys.modules) == (sys.argv[3] == "on")
        print(json.dumps(answer))
        """
    )
    event = json.loads((ROOT / "events" / "http-api-v2.json").read_text())
    # the sample event names a COS photo by URL: the legacy flow sends it as is (intl would read it from COS)
    env = {**function_environment(emulator_server.url, FACEID_FLOW="legacy"), "PATH": "/usr/bin:/bin"}
    if tracing:  # as Lambda runs it with X-Ray on: the X-Ray SDK and its wrapt (lazy init) are loaded
        del env["POWERTOOLS_TRACE_DISABLED"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
            daemon.bind(("127.0.0.1", 0))
            daemon_port = daemon.getsockname()[1]
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(built["out"] / f"package-{HOST_ARCH}"),
                "AWS_LAMBDA_FUNCTION_NAME": "f",
                "AWS_REGION": "ap-southeast-1",
                "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
            }
        )
    # WHEN the handler is invoked with the sample event under the runtime's Python
    artifact = str(built["out"] / f"package-{HOST_ARCH}")
    result = subprocess.run(
        [package.python_for("3.12"), "-I", "-c", script, artifact, str(runtime), "on" if tracing else "off"],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN it answers like the source does
    assert answer["statusCode"] == 201, answer
    assert set(json.loads(answer["body"])) == {"BizToken", "VerificationUrl", "RequestId", "ExpiresAt", "Region"}


def test_lazy_init_keeps_every_name_of_a_package_init() -> None:
    # GIVEN an __init__ in the shape of Powertools' (docstring, from-imports, __all__)
    source = textwrap.dedent(
        """
        \"\"\"Things.\"\"\"
        from __future__ import annotations
        from json import dumps as to_json, loads
        from .machinery import ModuleSpec
        from .metadata import metadata
        __all__ = ["to_json", "loads", "ModuleSpec", "metadata"]
        """
    )
    # WHEN it is made lazy, as the stdlib's importlib package (it has those submodules)
    namespace: dict[str, object] = {"__name__": "importlib"}
    lazy = package.lazy_init(source, "importlib")
    exec(compile(lazy, "importlib/__init__.py", "exec"), namespace)  # noqa: S102 (our own generated code)
    # THEN names resolve on first use, submodules too, and a name equal to its submodule's is eager
    getattr_ = namespace["__getattr__"]
    import importlib.machinery
    import importlib.metadata
    import importlib.resources

    assert namespace["__all__"] == ["to_json", "loads", "ModuleSpec", "metadata"]
    assert namespace["metadata"] is importlib.metadata.metadata
    assert "to_json" not in namespace
    assert getattr_("to_json") is json.dumps  # type: ignore[operator]
    assert getattr_("ModuleSpec") is importlib.machinery.ModuleSpec  # type: ignore[operator]
    assert getattr_("resources") is importlib.resources  # type: ignore[operator]
    with pytest.raises(AttributeError):
        getattr_("no_such_thing")  # type: ignore[operator]


def test_lazy_init_refuses_an_init_that_uses_a_lazy_name_at_import() -> None:
    with pytest.raises(SystemExit, match="cannot be made lazy"):
        package.lazy_init("from .a import b\nb.setup()\n", "pkg")
