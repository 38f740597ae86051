"""The soak's report: the stores read once the drain is over, the accounting, and bench/results/soak.json,
soak.md and soak.png (a full run's tables and plot also into bench/README.md)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common import RESULTS
from soak_account import Harness, Stores, account, faults, settling
from soak_drain import left_on_failure
from soak_faults import EVERY_FAULT
from soak_procs import HELPERS, cpu_seconds, get
from soak_report import latency, latency_windows, markdown, per_second, plot
from soak_stack import ROOT

if TYPE_CHECKING:
    from soak import Soak

README_START, README_END = "<!-- soak:start -->", "<!-- soak:end -->"


def _upload_traces(event: dict[str, Any]) -> list[str]:
    traces = []
    for record in event.get("Records", []):
        if "s3" in record:
            traces.append(str(record.get("responseElements", {}).get("x-amz-request-id")))
        elif "cos" in record:
            traces.append(str(record.get("event", {}).get("reqid")))
    return traces


def ledger_items(soak: Soak) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in soak.dynamodb.get_paginator("scan").paginate(TableName=soak.index["table"], ConsistentRead=True):
        items += page.get("Items", [])
    return items


def report(soak: Soak, redrive: dict[str, Any]) -> int:
    load, lam = soak.load, soak.lam
    stores = Stores(
        faceid_sessions=get(f"{soak.emulator}/__emulator__/sessions"),
        faceid_calls=get(f"{soak.emulator}/__emulator__/calls"),
        ledger=ledger_items(soak),
        index_attribute=soak.index["partition"],
        events=list(soak.bus_events),
        receiver=get(f"{soak.receiver}/state"),
        on_failure_left=left_on_failure(soak),
        proxy_injected=get(f"{soak.proxy}/__proxy__/injected"),
    )
    killed_deliveries = {
        str(i.event.get("detail", {}).get("BizToken"))
        for i in lam.invocations
        if i.kind.endswith("delivery") and any(a.killed for a in i.attempts)
    }
    failed_uploads = set()
    for invocation in lam.invocations:
        if invocation.kind.endswith("upload") and any(a.kind != "ok" for a in invocation.attempts):
            failed_uploads |= set(_upload_traces(invocation.event))
    harness = Harness(load.calls, load.handed_out, soak.kills, killed_deliveries, failed_uploads)
    accounting = account(stores, harness)
    retried = {
        str(i.event.get("detail", {}).get("BizToken"))
        for i in lam.invocations
        if i.kind.endswith("delivery") and len(i.attempts) > 1
    }
    settled = settling(stores, dict(load.returned), retried, soak.t0, 10.0 if soak.quick else 60.0)
    counted = faults(stores, harness)
    counted.update({name: counted.get(name, 0) for name in EVERY_FAULT})
    losses = accounting["losses"]
    starts = [c for c in load.calls if c.kind == "start"]
    reads = [c for c in load.calls if c.kind == "read"]
    returns = [c for c in load.calls if c.kind == "return"]
    attempts: dict[str, Counter[str]] = {}
    for invocation in lam.invocations:
        row = attempts.setdefault(invocation.kind, Counter())
        row[str(len(invocation.attempts))] += 1
        if invocation.final == "on-failure":
            row["on-failure"] += 1
    apply_calls = [c for c in stores.faceid_calls if c["action"] in ("ApplyWebVerificationBizTokenIntl",)]
    report: dict[str, Any] = {
        "mode": "quick" if soak.quick else f"{soak.load_s / 60:g} minutes",
        "started_at": datetime.fromtimestamp(soak.t0, UTC).isoformat(timespec="seconds"),
        "load_s": soak.load_s,
        "duration_s": round(time.time() - soak.t0, 1),
        "lost_sessions": losses["lost_sessions"] + losses["lost_settlements"],
        "lost_deliveries": losses["lost_deliveries"] + losses["lost_events"] + losses["left_on_failure_queue"],
        "duplicate_deliveries": losses["duplicate_deliveries"] + losses["duplicate_events"],
        "bare_500s": losses["bare_500s"],
        "result_reads_per_session": settled["result_reads_per_session"],
        "settled_after_return_s": settled["settled_after_return_s"],
        "settled_after_expiry_s": settled["settled_after_expiry_s"],
        "drain_s": round(soak.drained - soak.load_ended, 1),
        "clocks": soak.clocks,
        "faults": counted,
        "faults_missing": [name for name in EVERY_FAULT if not counted.get(name)],
        "load": {
            "rate_target": soak.args.rate,
            "starts": len(load.starts_begun),
            "start_rate": len([t for t in load.starts_begun if t - soak.t0 <= soak.load_s]) / soak.load_s,
            "http_callers": load.counts["callers"],
            "keyed_requests": sum(c.keyed for c in starts),
            "retried_requests": load.counts["retries"],
            "s3_uploads": sum(u["storage"] == "s3" for u in load.uploads),
            "cos_uploads": sum(u["storage"] == "cos" for u in load.uploads),
            "duplicate_records": load.counts["duplicate_records"],
            "owners": len({c.owner for c in load.calls} | {u["owner"] for u in load.uploads}),
            "reads": len(reads),
            "sweep_runs": sum(attempts.get("sweep", Counter()).values()),
            "delivery_attempts": sum(len(i.attempts) for i in lam.invocations if i.kind.endswith("delivery")),
            "instances": sum(p.started for p in lam.pools.values()),
            "cold_starts": sum(p.cold_starts for p in lam.pools.values()),
            "people_outcomes": dict(Counter(load.finished.values())),
            "behaviour": dict(load.behaviour),
            "result_reads": settled["result_reads"],
            "result_reads_by": settled["result_reads_by"],
        },
        "answers": {
            "start": dict(Counter(str(c.status) for c in starts)),
            "read": dict(Counter(str(c.status) for c in reads)),
            "return": dict(Counter(str(c.status) for c in returns)),
        },
        "latency_s": {
            "HTTP start, 201": latency([c.seconds for c in starts if c.status == 201]),
            "HTTP start, any answer": latency([c.seconds for c in starts]),
            "owner read": latency([c.seconds for c in reads]),
            "return route": latency([c.seconds for c in returns]),
            **{
                f"{kind} attempt": latency([a.seconds for i in lam.invocations if i.kind == kind for a in i.attempts])
                for kind in ("upload", "delivery", "sweep")
            },
        },
        "attempts": {kind: dict(row) for kind, row in attempts.items()},
        "on_success_records": dict(soak.on_success),
        "faceid_calls_per_session": len(apply_calls) / max(1, accounting["faceid_sessions"]),
        "accounting": accounting,
        "redrive": redrive,
        "kills": soak.kills,
        "timeline": {
            "per_second": per_second(load.starts_begun, load.calls, load.uploads, soak.t0),
            "latency_windows": latency_windows(load.calls, soak.t0, 5.0 if soak.quick else 10.0),
            "faults": soak.fault_log,
            "samples": soak.samples,
            "settling": settled["windows"],
        },
    }
    report["cpu_s"] = {
        **{name: round(cpu_seconds(pid), 1) for name, pid in HELPERS.items()},
        "instances": round(
            sum(pool.stopped_cpu_s + sum(i.cpu_seconds() for i in pool.instances) for pool in lam.pools.values()),
            1,
        ),
        "harness": round(sum(os.times()[:2]), 1),
    }
    # Not lost, but not settled either: sessions still in the sweep's index when the drain gave up.
    report["unsettled_at_end"] = sum(accounting["backlog_at_end"].values())
    report["ok"] = not any(losses.values()) and not report["faults_missing"] and not report["unsettled_at_end"]
    (RESULTS / "soak-sessions.json").write_text(json.dumps(settled["sessions"]))
    (RESULTS / "soak.json").write_text(json.dumps(report, indent=1, default=str))
    table = markdown(report)
    (RESULTS / "soak.md").write_text(table)
    plot(report, RESULTS / "soak.png")
    if not soak.quick:  # a full run's tables and plot go into bench/README.md, as run_all.py does the bench's
        shutil.copyfile(RESULTS / "soak.png", ROOT / "bench" / "soak.png")
        readme(soak, table, report)
    print(table, flush=True)
    verdict = "no loss, every session settled" if report["ok"] else "LOSSES, faults not injected or sessions unsettled"
    print(f"soak: {verdict}; bench/results/soak.json, soak.md, soak.png", flush=True)
    return 0 if report["ok"] else 1


def readme(soak: Soak, table: str, report: dict[str, Any]) -> None:
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    stamp = datetime.fromtimestamp(soak.t0, UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = f"make soak MINUTES={soak.load_s / 60:g}"
    load = max((row.get("load_average", 0) for row in report["timeline"]["samples"]), default=0)
    header = f"_Last run: {stamp}, `{command}`, {os.cpu_count()} cores shared (load average up to {load:.1f})._"
    figure = "![Starts per second, latency, faults and the sweep's backlog over the run](soak.png)"
    block = f"{README_START}\n{header}\n\n{figure}\n\n{table}{README_END}"
    readme.write_text(text[: text.index(README_START)] + block + text[text.index(README_END) + len(README_END) :])
