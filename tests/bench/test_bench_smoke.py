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
# The design card's floor (bench/floor/) is measured by these two, in these rows and columns.
FLOOR_ROWS = {
    "cold_start": (
        "| floor, bench config",
        "| floor as deployed (tracing on",
        "| floor as deployed, without the ledger",
        "ours / floor",
    ),
    "import_profile": ("floor, bench config", "floor as deployed"),
}

# Run by ours' venv Python: the floor's handler answers one event of the bench's worker.
CALL_FLOOR = """
import json, os, sys
sys.path[0:0] = [sys.argv[1], *sys.argv[2].split(os.pathsep)]
from worker import Context, event
from floor_handler import handler
print(json.dumps(handler(event(0), Context())))
"""


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
    # AND the cold start and the import profile have the floor's rows and columns
    for name, rows in FLOOR_ROWS.items():
        table = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())["table"]
        for row in rows:
            assert row in table, (name, row)
    ratios = json.loads((ROOT / "bench" / "results" / "cold_start.json").read_text())["ours_to_floor"]
    assert set(ratios) == {
        "bench config (tracing off, credentials in env)",
        "as deployed",
        "as deployed, without the session ledger",
    }


def test_the_floor_starts_a_verification_in_the_bench_config_and_as_deployed() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import boto3
    from common import SESSIONS_TABLE, deployed, emulator, environment, implementations

    floor = {i.name: i for i in implementations()}["floor"]
    with emulator() as faceid, deployed() as aws:
        for env in (environment(faceid.url), aws.env(faceid.url)):
            # WHEN the floor answers one POST /verifications
            done = subprocess.run(
                [str(floor.python), "-c", CALL_FLOOR, str(ROOT / "bench"), floor.path],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            answer = json.loads(done.stdout.strip().splitlines()[-1])
            # THEN a session started: 201 with FaceID's three fields
            assert answer["statusCode"] == 201, answer
            session = json.loads(answer["body"])
            assert set(session) == {"BizToken", "VerificationUrl", "RequestId"}
            assert all(isinstance(value, str) and value for value in session.values())
        # AND as deployed, the ledger's table holds the session's item (the PutItem was accepted)
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=aws.base["AWS_ENDPOINT_URL_DYNAMODB"],
            region_name=aws.base["AWS_REGION"],
            aws_access_key_id=aws.base["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws.base["AWS_SECRET_ACCESS_KEY"],
        )
        item = dynamodb.get_item(TableName=SESSIONS_TABLE, Key={"BizToken": {"S": session["BizToken"]}})
        assert item["Item"]["Status"] == {"S": "pending"}
