"""The soak's quick form (bench/soak.py --quick): the function under FaceID's full rate and every fault of the
schedule, then every session accounted for from the stores; it must report no loss and every fault met."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.bench, pytest.mark.timeout(600)]

FAULTS = (
    "faceid_5xx",
    "faceid_timeout",
    "faceid_throttle",
    "faceid_reset",
    "dynamodb_throttle",
    "dynamodb_5xx",
    "putevents_5xx",
    "putevents_failed_entry",
    "webhook_500",
    "webhook_hang",
    "webhook_down",
    "instance_killed",
)
PEOPLE = ("finish_then_return", "finish_then_catch", "never_finish", "pollers", "polls")


def test_the_quick_soak_loses_nothing_and_meets_every_fault() -> None:
    # WHEN the quick soak runs (15 s of starts at 19.5 a second, then the drain, the redrive and the accounting)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    report = json.loads((ROOT / "bench" / "results" / "soak.json").read_text())
    # THEN it counted no loss of any kind, from the stores
    assert report["accounting"]["losses"] == dict.fromkeys(report["accounting"]["losses"], 0), report["accounting"]
    for name in ("lost_sessions", "lost_deliveries", "duplicate_deliveries", "bare_500s"):
        assert report[name] == 0, name
    # AND every fault of the schedule was met at least once, counted where it happened
    assert {name: report["faults"].get(name, 0) >= 1 for name in FAULTS} == dict.fromkeys(FAULTS, True)
    # AND the load was the one asked for, and sessions went through every stage
    assert report["load"]["starts"] >= 250
    accounting = report["accounting"]
    assert set(accounting["statuses"]) >= {"passed", "failed", "expired", "abandoned", "error"}
    # AND every session in the ledger was settled and announced (the drain waits for the last token's end)
    assert accounting["announced"] == accounting["ledger_sessions"], accounting["statuses"]
    assert accounting["webhook_ids"] >= accounting["announced"]
    # AND the people behaved as people: browsers back through the return route, apps that catch the
    # redirect, apps that poll, people who never finish
    behaviour = report["load"]["behaviour"]
    assert {kind: behaviour.get(kind, 0) > 0 for kind in PEOPLE} == dict.fromkeys(PEOPLE, True), behaviour
    assert report["answers"]["return"].get("303", 0) > 0, report["answers"]["return"]
    # AND the settling figures are there and sane: every session in the ledger was read from FaceID at least
    # once (no outcome without a read), and not many times each (a return, a caught redirect, the sweep's two
    # looks, a poller's reads spaced 5, 10, 20 s... apart: 3 a session would mean reads are not coalesced)
    reads = report["load"]["result_reads"]
    assert accounting["ledger_sessions"] <= reads <= 3 * accounting["faceid_sessions"], reads
    assert report["result_reads_per_session"] == pytest.approx(reads / accounting["faceid_sessions"], abs=1e-3)
    returned, expired = report["settled_after_return_s"], report["settled_after_expiry_s"]
    assert returned["n"] > 0, returned
    assert returned["not_settled"] == 0, returned
    assert 0 <= returned["p50"] <= returned["p99"] <= returned["max"]
    assert expired["n"] > 0, expired
    assert expired["not_settled"] == 0, expired
    assert expired["p50"] <= expired["p99"] <= expired["max"]
    assert report["drain_s"] > 0
    # AND it exited 0 and wrote the table and the plot
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| losses |" in (ROOT / "bench" / "results" / "soak.md").read_text()
    assert (ROOT / "bench" / "results" / "soak.png").read_bytes().startswith(b"\x89PNG")
