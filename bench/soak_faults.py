"""The soak's faults: when each is injected (the plan), and how (the emulator's, the proxy's and the
receiver's control endpoints, and the harness's own SIGKILL of a busy instance)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from soak_procs import post

if TYPE_CHECKING:
    from soak import Soak

EVERY_FAULT = (
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
# The sweep's settings in the drain (docs/operations.md, "Alarms and runbook": a backlog): the most it reads.
# Which invocation an instance_kill fault kills, and how long it must have been running.
KILLS = (("http-start", 0.05), ("upload", 0.05), ("delivery", 0.0), ("sweep", 0.005))


def fault_plan(load_s: float, quick: bool) -> list[dict[str, Any]]:
    """When each fault is injected (seconds into the load). One cycle in the quick form, one every two
    minutes over a longer run; the receiver is down once, for two minutes (6 s in the quick form)."""
    cycle: list[tuple[float, str, dict[str, Any]]] = [
        (0.05, "faceid_throttle", {"code": "RequestLimitExceeded", "count": 25}),
        (0.10, "faceid_5xx", {"http_status": 503, "body": "<html>503 Service Unavailable</html>", "count": 4}),
        (0.15, "dynamodb_throttle", {"seconds": 2.0, "ratio": 0.5}),
        (0.20, "webhook_500", {"count": 6}),
        (0.25, "faceid_reset", {"reset": True, "count": 3}),
        (0.30, "putevents_5xx", {"count": 6}),  # the next six PutEvents calls, whenever they come
        (0.35, "instance_kill", {"kill": 0}),
        (0.40, "faceid_timeout", {"latency_ms": 9000, "count": 2}),
        (0.45, "dynamodb_5xx", {"seconds": 2.0, "ratio": 0.5}),
        (0.50, "putevents_failed_entry", {"count": 6}),
        (0.55, "instance_kill", {"kill": 1}),
        (0.60, "webhook_hang", {"count": 1, "seconds": 12.0}),
        (0.70, "instance_kill", {"kill": 2}),
        (0.80, "instance_kill", {"kill": 3}),
    ]
    period = load_s if quick else 120.0
    plan = []
    for n in range(max(1, int(load_s // period))):
        for share, name, options in cycle:
            plan.append({"at": n * period + share * period, "name": name, **options})
    plan.append({"at": load_s * (0.62 if quick else 0.4), "name": "webhook_down", "seconds": 6.0 if quick else 120.0})
    return sorted(plan, key=lambda f: f["at"])


def run_faults(soak: Soak) -> None:
    for fault in fault_plan(soak.load_s, soak.quick):
        delay = soak.t0 + fault["at"] - time.time()
        if soak.stop.wait(max(0.0, delay)):
            return
        try:
            inject(soak, dict(fault))
        except Exception as exc:
            print(f"soak: fault {fault['name']} not injected: {exc}", flush=True)


def inject(soak: Soak, fault: dict[str, Any]) -> None:
    name = fault.pop("name")
    at = fault.pop("at")
    entry = {"t": round(time.time() - soak.t0, 2), "name": name, "planned_at": at}
    if name.startswith("faceid_"):
        post(f"{soak.emulator}/__emulator__/faults", fault)
        entry["seconds"] = fault.get("latency_ms", 0) / 1000
    elif name.startswith(("dynamodb_", "putevents_")):
        post(f"{soak.proxy}/__proxy__/fault", {"name": name, **fault})
        entry["seconds"] = fault.get("seconds", 0)
    elif name == "webhook_500":
        post(f"{soak.receiver}/fail", {"count": fault["count"], "status": 500})
    elif name == "webhook_hang":
        post(f"{soak.receiver}/hang", fault)
        entry["seconds"] = fault["seconds"]
    elif name == "webhook_down":
        post(f"{soak.receiver}/down", fault)
        entry["seconds"] = fault["seconds"]
    elif name == "instance_kill":
        kind, min_busy = KILLS[fault["kill"]]
        deadline = time.time() + (20 if soak.quick else 60)
        while time.time() < deadline and not soak.stop.is_set():
            killed = soak.lam.kill_busy((kind,), min_busy)
            if killed:
                soak.kills.append(killed)
                entry["name"] = f"instance_kill ({kind})"
                entry["t"] = round(killed["at"] - soak.t0, 2)
                break
            time.sleep(0.003)
        else:
            entry["name"] = f"instance_kill ({kind}): no invocation in flight"
    soak.fault_log.append(entry)
