"""Every bench script runs (tiny sizes): the bench is not a test, but it must not rot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# Builds two venvs on a fresh clone and runs every script: longer than the suite's default 120 s.
pytestmark = [pytest.mark.bench, pytest.mark.timeout(900)]

SCRIPTS = ("artifact", "cold_start", "import_profile", "warm", "burst", "burst-threads", "memory")


def test_every_bench_script_runs_and_reports_both_implementations() -> None:
    # WHEN the whole bench runs with tiny sizes
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), "--quick"], cwd=ROOT / "bench", check=True, timeout=900
    )
    # THEN each script wrote a table naming ours and the baseline
    for name in SCRIPTS:
        result = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
        assert "| ours" in result["table"], name
        assert "| baseline" in result["table"], name
