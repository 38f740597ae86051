"""The whole-suite secret scan (tests/secret_scan.py) fails the run on a leak, whether the suite runs in one
process or in parallel (pytest-xdist, as `make test` runs it): in a test's captured output and in what a
fixture scans itself (a local stack's log)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.emulator import LOCAL_SECRET_KEY
from tests.conftest import ROOT

CONFTEST = """
from tests.secret_scan import SecretScan

def pytest_configure(config):
    config.pluginmanager.register(SecretScan(config), "faceid-secret-scan")
"""

TESTS = """
import pytest
from local.emulator import LOCAL_SECRET_KEY

def test_prints_a_secret():
    print("key=" + LOCAL_SECRET_KEY)

@pytest.fixture
def stack_log(request):
    yield
    scan = request.config.pluginmanager.get_plugin("faceid-secret-scan")
    scan.scan("a stack's log", "token " + LOCAL_SECRET_KEY)

def test_reads_a_stack_log(stack_log):
    pass

@pytest.mark.parametrize("n", range(6))
def test_clean(n):
    print("nothing to see", n)
"""


def run(directory: Path, tests: str, *options: str) -> subprocess.CompletedProcess[str]:
    (directory / "conftest.py").write_text(CONFTEST)
    (directory / "test_suite.py").write_text(tests)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:logging", *options, str(directory)],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("options", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_every_leak_fails_the_run(tmp_path: Path, options: tuple[str, ...]) -> None:
    # WHEN a suite whose tests all pass leaks the SecretKey in a test's output and in a log a fixture scans
    done = run(tmp_path, TESTS, *options)
    output = done.stdout.replace(LOCAL_SECRET_KEY, "<the key>")  # this test's own output is scanned too
    summary = output[output.index("secret scan") :]
    # THEN both leaks are named and the run fails
    assert "secrets found: 2" in summary, output[-2000:]
    assert "LEAK in test_suite.py::test_prints_a_secret" in summary
    assert "LEAK in a stack's log" in summary
    assert "8 passed" in output
    assert done.returncode == pytest.ExitCode.TESTS_FAILED


def test_a_clean_run_passes_in_parallel(tmp_path: Path) -> None:
    done = run(tmp_path, "def test_one():\n    print('fine')\n", "-n", "2")
    assert "secrets found: 0" in done.stdout, done.stdout[-2000:]
    assert done.returncode == 0
