"""The soak's report: the markdown tables and the plot (matplotlib) of a bench/results/soak.json."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

LOSSES_IN_SUMMARY = ("lost_sessions", "lost_deliveries", "duplicate_deliveries", "bare_500s")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def latency(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99)}


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(report: dict[str, Any]) -> str:
    load, accounting = report["load"], report["accounting"]
    lines = [
        f"**Soak: {report['load_s']:.0f} s of load at {load['rate_target']:g} starts/s, "
        f"{report['duration_s']:.0f} s in all ({report['mode']})**",
        "",
        "| load | |",
        "|---|---|",
        f"| session starts (HTTP + uploads), achieved rate | {load['starts']} ({load['start_rate']:.1f}/s) |",
        f"| HTTP starts: callers, with Idempotency-Key, retried requests | {load['http_callers']}, "
        f"{load['keyed_requests']}, {load['retried_requests']} |",
        f"| uploads S3 / COS, records delivered twice | {load['s3_uploads']} / {load['cos_uploads']}, "
        f"{load['duplicate_records']} |",
        f"| owners, owner reads | {load['owners']}, {load['reads']} |",
        f"| sweep runs, webhook deliveries (attempts) | {load['sweep_runs']}, {load['delivery_attempts']} |",
        f"| instances started, of them while the load ran (cold starts) | {load['instances']}, {load['cold_starts']} |",
        f"| CPU seconds used: {', '.join(report['cpu_s'])} | {', '.join(str(v) for v in report['cpu_s'].values())} |",
        f"| the machine's load average (1 min), highest | "
        f"{max((row.get('load_average', 0) for row in report['timeline']['samples']), default=0):.1f} |",
        "",
        *settling_lines(report),
        "",
        "| fault | injected |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in sorted(report["faults"].items())),
        "",
        "| outcome (ledger) | sessions |",
        "|---|---|",
        *(f"| {status} | {count} |" for status, count in sorted(accounting["statuses"].items())),
        "",
        "| answers | |",
        "|---|---|",
        *(
            f"| {kind} | {', '.join(f'{status}: {n}' for status, n in sorted(counts.items()))} |"
            for kind, counts in report["answers"].items()
        ),
        "",
        "| latency (s) | n | p50 | p99 |",
        "|---|---|---|---|",
        *(f"| {name} | {v['n']} | {_s(v['p50'])} | {_s(v['p99'])} |" for name, v in report["latency_s"].items()),
        "",
        "| asynchronous invocations (by attempts) | 1 | 2 | 3 | failed every attempt |",
        "|---|---|---|---|---|",
        *(
            f"| {kind} | {a.get('1', 0)} | {a.get('2', 0)} | {a.get('3', 0)} | {a.get('on-failure', 0)} |"
            for kind, a in sorted(report["attempts"].items())
        ),
        "",
        f"FaceID start calls per session created: {report['faceid_calls_per_session']:.2f}; "
        f"sessions FaceID created {accounting['faceid_sessions']}, in the ledger {accounting['ledger_sessions']}, "
        f"orphaned (nobody was given the BizToken) {sum(accounting['orphaned_sessions'].values())}; "
        f"events {accounting['events']} (crash-window duplicates {accounting['crash_window_duplicate_events']}), "
        f"webhook-ids {accounting['webhook_ids']} (same webhook-id again, explained "
        f"{accounting['redelivered_same_webhook_id']}); redrive: {report['redrive']}.",
        "",
        "| losses | |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in accounting["losses"].items()),
    ]
    return "\n".join(lines) + "\n"


def settling_lines(report: dict[str, Any]) -> list[str]:
    """The settling figures (what an outcome costs FaceID and how soon it reaches the app), and over the run."""
    ret, exp = report["settled_after_return_s"], report["settled_after_expiry_s"]
    behaviour = report["load"].get("behaviour", {})
    return [
        f"Clocks: {report['clocks']}.",
        "",
        "| settling | |",
        "|---|---|",
        f"| people: finish then return / app catches / page closed, never finish; apps polling (polls) | "
        f"{behaviour.get('finish_then_return', 0)} / {behaviour.get('finish_then_catch', 0)} / "
        f"{behaviour.get('finish_then_closed', 0)}, {behaviour.get('never_finish', 0)}; "
        f"{behaviour.get('pollers', 0)} ({behaviour.get('polls', 0)}) |",
        f"| FaceID result reads (every reader) per session created | {report['result_reads_per_session']:.2f} "
        f"({report['load'].get('result_reads', 0)}: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(report['load'].get('result_reads_by', {}).items()))}) |",
        f"| from the browser's return to the webhook (s): n, p50, p99, max; not settled | {ret['n']}, "
        f"{_s(ret['p50'])}, {_s(ret['p99'])}, {_s(ret['max'])}; {ret['not_settled']} |",
        f"| the same, webhooks delivered at the first attempt (receiver up): n, p50, p99 | "
        f"{ret['receiver_up']['n']}, {_s(ret['receiver_up']['p50'])}, {_s(ret['receiver_up']['p99'])} |",
        f"| from a never-finished session's token end to its webhook (s): n, p50, p99, max; not settled, "
        f"over 6 minutes | {exp['n']}, {_s(exp['p50'])}, {_s(exp['p99'])}, {_s(exp['max'])}; "
        f"{exp['not_settled']}, {exp['over_6_minutes']} |",
        f"| the same, webhooks delivered at the first attempt (receiver up): n, p50, p99 | "
        f"{exp['receiver_up']['n']}, {_s(exp['receiver_up']['p50'])}, {_s(exp['receiver_up']['p99'])} |",
        f"| the drain (from the load's end to every session settled and delivered, s); sessions left unsettled "
        f"at its end | {report['drain_s']:.0f}; {report.get('unsettled_at_end', 0)} |",
        "",
        "| over the run (from t, s) | starts/s | HTTP start p99 | past token end, not settled (most) | of them "
        "over 6 min | return → webhook p99 | token end → webhook max | load average |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in _windows(report)),
    ]


def _windows(report: dict[str, Any]) -> list[list[str]]:
    """One row per settling window (a minute; 10 s in the quick form) across the run and the drain."""
    timeline = report["timeline"]
    settling = {row["t"]: row for row in timeline.get("settling", [])}
    width = 10.0 if report["mode"] == "quick" else 60.0
    end = max([row["t"] for row in timeline["samples"]] + list(settling) + [0.0])
    rows = []
    for n in range(int(end // width) + 1):
        t = n * width
        samples = [row for row in timeline["samples"] if t <= row["t"] < t + width]
        seconds = [row for row in timeline["per_second"] if t <= row["t"] < t + width]
        starts = [row["p99"] for row in timeline["latency_windows"] if t <= row["t"] < t + width and row["p99"]]
        settled = settling.get(t, {})
        rows.append(
            [
                f"{t:.0f}",
                f"{sum(row['starts'] for row in seconds) / width:.1f}",
                _s(max(starts, default=None)),
                str(max((row.get("past_token_end", 0) for row in samples), default=0)),
                str(max((row.get("past_token_end_6min", 0) for row in samples), default=0)),
                _s(settled.get("return_p99")),
                _s(settled.get("expiry_max")),
                f"{max((row.get('load_average', 0) for row in samples), default=0):.1f}",
            ]
        )
    return rows


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    figure, (starts, latencies, faults, backlog) = plt.subplots(
        4, 1, figsize=(11, 11), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1.6, 2]}
    )
    seconds = [row["t"] for row in timeline["per_second"]]
    starts.plot(seconds, [row["starts"] for row in timeline["per_second"]], lw=0.8, label="starts begun")
    starts.plot(seconds, [row["created"] for row in timeline["per_second"]], lw=0.8, label="201 Created")
    starts.plot(seconds, [row["uploads_started"] for row in timeline["per_second"]], lw=0.8, label="uploads started")
    starts.set_ylabel("per second")
    starts.legend(loc="upper right", fontsize=8)
    starts.set_title("Soak: " + report["mode"])
    windows = timeline["latency_windows"]
    x = [row["t"] for row in windows]
    latencies.plot(x, [row["p50"] for row in windows], label="HTTP start p50")
    latencies.plot(x, [row["p99"] for row in windows], label="HTTP start p99")
    latencies.plot(x, [row["read_p99"] for row in windows], label="read p99", lw=0.8)
    settling = timeline.get("settling", [])
    returns = [row for row in settling if row["return_p99"] is not None]
    latencies.plot(
        [r["t"] for r in returns], [r["return_p99"] for r in returns], "o-", ms=3, label="return → webhook p99"
    )
    expired = [row for row in settling if row["expiry_max"] is not None]
    latencies.plot(
        [r["t"] for r in expired], [r["expiry_max"] for r in expired], "s-", ms=3, label="token end → webhook max"
    )
    latencies.set_yscale("log")
    latencies.set_ylabel("seconds")
    latencies.legend(loc="upper right", fontsize=8)
    names = sorted({f["name"] for f in timeline["faults"]})
    for row, name in enumerate(names):
        for fault in (f for f in timeline["faults"] if f["name"] == name):
            faults.broken_barh([(fault["t"], max(fault.get("seconds", 0), 1.5))], (row - 0.35, 0.7))
    faults.set_yticks(range(len(names)), names, fontsize=7)
    faults.set_ylim(-0.6, len(names) - 0.4)
    faults.set_ylabel("faults")
    samples = timeline["samples"]
    t = [row["t"] for row in samples]
    backlog.plot(t, [row["index"] for row in samples], label="sessions in the sweep's index")
    backlog.plot(t, [row["due"] for row in samples], label="of them due")
    backlog.plot(t, [row["async_pending"] for row in samples], label="async invocations pending", lw=0.8)
    backlog.plot(t, [row.get("past_token_end", 0) for row in samples], label="past their token's end, not settled")
    backlog.plot(t, [row.get("past_token_end_6min", 0) for row in samples], label="of them over 6 minutes", lw=1.5)
    backlog.axvline(report["load_s"], color="grey", ls=":", lw=1)
    backlog.set_ylabel("sessions")
    backlog.set_xlabel("seconds since the load began (dotted: load ends, the drain begins)")
    backlog.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def per_second(begun: list[float], calls: list[Any], uploads: list[dict[str, Any]], t0: float) -> list[dict[str, Any]]:
    starts = Counter(int(t - t0) for t in begun)
    created = Counter(int(c.at + c.seconds - t0) for c in calls if c.kind == "start" and c.status == 201)
    upload_starts = Counter(int(u["at"] - t0) for u in uploads)
    end = max([*starts, *created, *upload_starts, 0]) + 1
    return [
        {"t": s, "starts": starts[s], "created": created[s], "uploads_started": upload_starts[s]} for s in range(end)
    ]


def latency_windows(calls: list[Any], t0: float, width: float) -> list[dict[str, Any]]:
    buckets: dict[int, list[Any]] = {}
    for call in calls:
        buckets.setdefault(int((call.at - t0) // width), []).append(call)
    rows = []
    for n in sorted(buckets):
        starts = [c.seconds for c in buckets[n] if c.kind == "start"]
        reads = [c.seconds for c in buckets[n] if c.kind == "read"]
        rows.append(
            {
                "t": n * width,
                "p50": percentile(starts, 50),
                "p99": percentile(starts, 99),
                "read_p99": percentile(reads, 99),
            }
        )
    return rows
