"""The soak's accounting, from the stores: FaceID's sessions and calls (the emulator), the session ledger
(DynamoDB), every event put on the bus (a queue the completion rule fills), the receiver's deliveries, the
on-failure queue after a redrive, and what the proxy and the receiver injected. The harness's own records
say only who was handed which BizToken and what each caller was answered (the callers are the harness), and
which invocations it killed: they explain a session FaceID created that nobody was ever given.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

START_ACTIONS = ("ApplyWebVerificationBizTokenIntl", "ApplyWebVerificationToken")
# FaceID's ErrorCodes that are not a final outcome (docs/http.md, Result codes): none yet, 17 not finished.
NOT_FINAL = (None, 17)
FACEID_TIMEOUT_MS = 8000  # FACEID_TIMEOUT_S in serverless.yml: a slower answer reached nobody


@dataclass
class Stores:
    faceid_sessions: list[dict[str, Any]]
    faceid_calls: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    index_attribute: str  # the Pending index's partition key: present while a session is not announced
    events: list[dict[str, Any]]
    receiver: dict[str, Any]
    on_failure_left: list[dict[str, Any]]
    proxy_injected: list[dict[str, Any]]


@dataclass
class Harness:
    calls: list[Any]  # soak_load.Call
    handed_out: dict[str, dict[str, Any]]
    kills: list[dict[str, Any]]  # the invocations killed mid-request (request id, kind)
    delivery_kills: set[str]  # BizTokens whose delivery invocation was killed mid-request
    failed_upload_traces: set[str]  # upload request ids with an attempt that failed (raised, crashed, timed out)


def faults(stores: Stores, harness: Harness) -> dict[str, int]:
    """How often each fault was met, counted where it happened."""
    counted: Counter[str] = Counter()
    for call in stores.faceid_calls:
        fault = call.get("fault")
        if not fault:
            continue
        if fault.get("reset"):
            counted["faceid_reset"] += 1
        elif fault.get("latency_ms"):
            counted["faceid_timeout"] += 1
        elif (fault.get("code") or "").startswith("RequestLimitExceeded"):
            counted["faceid_throttle"] += 1
        elif str(call.get("outcome", "")).startswith("fault:http 5"):
            counted["faceid_5xx"] += 1
    for injected in stores.proxy_injected:
        counted[injected["fault"]] += 1
    for name, count in stores.receiver.get("injected", {}).items():
        counted[name] += count
    counted["instance_killed"] = len(harness.kills)
    return dict(counted)


def account(stores: Stores, harness: Harness) -> dict[str, Any]:
    faceid = {s["BizToken"]: s for s in stores.faceid_sessions}
    start_calls = {c["biz_token"]: c for c in stores.faceid_calls if c.get("biz_token")}
    # The ledger's session items (the same table keeps each owner's count of starts: items without a Status).
    ledger = {item["BizToken"]["S"]: item for item in stores.ledger if "Status" in item}
    answered = {c.request_id: c for c in harness.calls}
    killed = {k["request_id"] for k in harness.kills}
    problems: dict[str, list[Any]] = defaultdict(list)

    # 1. Every session FaceID created is in the ledger, unless nobody was ever given its BizToken.
    orphaned: Counter[str] = Counter()
    for token in faceid:
        if token in ledger:
            continue
        reason = _orphan_reason(start_calls.get(token), answered, killed, harness.failed_upload_traces)
        if token in harness.handed_out or reason is None:
            problems["lost_sessions"].append(token)
        else:
            orphaned[reason] += 1
    for token in harness.handed_out:
        if token not in ledger:
            problems["lost_sessions"].append(token)

    # 2. Every session FaceID calls final is settled, or still in the sweep's index (it will be).
    statuses: Counter[str] = Counter()
    backlog = {"pending_final_at_faceid": 0, "claimed_not_announced": 0, "pending_at_faceid": 0}
    announced = []
    for token, item in ledger.items():
        status = item.get("Status", {}).get("S", "pending")
        statuses[status] += 1
        in_index = stores.index_attribute in item
        code = faceid.get(token, {}).get("ErrorCode")
        final_at_faceid = token in faceid and code not in NOT_FINAL
        if status == "pending":
            if final_at_faceid and not in_index:
                problems["lost_settlements"].append(token)
            elif final_at_faceid:
                backlog["pending_final_at_faceid"] += 1
            else:
                backlog["pending_at_faceid"] += 1
                if not in_index:
                    problems["lost_settlements"].append(token)
        elif in_index:
            backlog["claimed_not_announced"] += 1
        else:
            announced.append(token)

    # 3. Every announced session has exactly one Verification Completed event (a second, identical one
    # only in the documented crash window: the event out, the ledger not told).
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in stores.events:
        events[event["detail"]["BizToken"]].append(event)
    crash_window_events = 0
    for token in announced:
        found = events.get(token, [])
        if not found:
            problems["lost_events"].append(token)
        details = {json.dumps(e["detail"], sort_keys=True) for e in found}
        if len(details) > 1:
            problems["duplicate_events"].append(token)
        elif len(found) > 1:
            crash_window_events += len(found) - 1
        if found and found[0]["detail"]["Status"] != ledger[token]["Status"]["S"]:
            problems["event_status_mismatch"].append(token)
    for token in events:
        if token not in ledger:
            problems["events_without_session"].append(token)

    # 4. Every event's webhook reached the receiver once (by webhook-id); a second delivery only where an
    # event was sent twice (crash window) or a delivery was killed after the receiver took it.
    deliveries = stores.receiver.get("deliveries", {})
    redelivered_explained = 0
    for token in events:
        delivery = deliveries.get(f"msg_{token}")
        if delivery is None:
            problems["lost_deliveries"].append(token)
            continue
        if delivery["duplicates"]:
            if len(events[token]) > 1 or token in harness.delivery_kills:
                redelivered_explained += delivery["duplicates"]
            else:
                problems["duplicate_deliveries"].append(token)
        if delivery["data"]["Status"] != events[token][0]["detail"]["Status"]:
            problems["webhook_status_mismatch"].append(token)
    for webhook_id in deliveries:
        if webhook_id.removeprefix("msg_") not in events:
            problems["deliveries_without_event"].append(webhook_id)

    # 5. Nothing left on the on-failure queue after the redrive.
    problems["left_on_failure_queue"] = [record.get("kind") for record in stores.on_failure_left]

    # 6. Every caller got a 2xx or a defined error; a 429/503/409-in-progress says when to retry.
    crashed = 0
    for call in harness.calls:
        if call.kind == "return" and not call.killed:
            # The return route's answers are pages, never the JSON envelope: a 303 to the app's page, or 503
            # (the ledger could not be read). A 400 or 404 for a BizToken FaceID sent the browser with is wrong.
            if call.status in (400, 404):
                problems["return_refused"].append(f"{call.request_id} {call.status}")
            elif call.status not in (303, 503):
                problems["bare_500s" if call.status >= 500 else "bare_errors"].append(
                    f"{call.request_id} {call.status} {call.invocation}"
                )
            continue
        if call.killed:
            crashed += 1  # API Gateway's 500 for an instance the soak killed: counted apart
            problems["crashed_by_the_soak"].append(f"{call.request_id} {call.status} {call.invocation}")
            continue
        if call.status >= 500 and (call.status == 500 or not call.enveloped):
            problems["bare_500s"].append(f"{call.request_id} {call.status} {call.invocation}")
        elif call.status >= 400 and not call.enveloped:
            problems["bare_errors"].append(f"{call.request_id} {call.status}")
        retry = call.status in (429, 503) or (call.status == 409 and call.code == "IdempotencyInProgress")
        if retry and not call.retry_after:
            problems["missing_retry_after"].append(f"{call.request_id} {call.status} {call.code}")

    losses = {
        name: len(problems.get(name, []))
        for name in (
            "lost_sessions",
            "lost_settlements",
            "lost_events",
            "duplicate_events",
            "event_status_mismatch",
            "events_without_session",
            "lost_deliveries",
            "duplicate_deliveries",
            "webhook_status_mismatch",
            "deliveries_without_event",
            "left_on_failure_queue",
            "bare_500s",
            "bare_errors",
            "missing_retry_after",
            "return_refused",
        )
    }
    return {
        "losses": losses,
        "examples": {name: values[:5] for name, values in problems.items() if values},
        "faceid_sessions": len(faceid),
        "ledger_sessions": len(ledger),
        "statuses": dict(statuses),
        "announced": len(announced),
        "backlog_at_end": backlog,
        "orphaned_sessions": dict(orphaned),
        "events": len(stores.events),
        "crash_window_duplicate_events": crash_window_events,
        "webhook_ids": len(deliveries),
        "redelivered_same_webhook_id": redelivered_explained,
        "crashed_http_answers": crashed,
    }


def _orphan_reason(
    call: dict[str, Any] | None, answered: dict[str, Any], killed: set[str], failed_uploads: set[str]
) -> str | None:
    """Why FaceID's session reached nobody (None: no reason: it is lost)."""
    if call is None:
        return None
    fault = call.get("fault") or {}
    if (fault.get("latency_ms") or 0) >= FACEID_TIMEOUT_MS:
        return "FaceID answered after the function's timeout"
    trace = call.get("trace_id")
    if trace in killed:
        return "instance killed after FaceID answered"
    caller = answered.get(trace)
    if caller is not None and caller.status != 201:
        return f"the start failed after FaceID answered ({caller.status} {caller.code or caller.invocation})"
    if trace in failed_uploads:  # an upload's attempt (its trace id is the upload's request id)
        return "an upload attempt failed after FaceID answered (Lambda retried it)"
    return None


RESULT_ACTIONS = ("GetWebVerificationResultIntl", "GetWebVerificationResult")


def settling(
    stores: Stores, returned: dict[str, float], retried: set[str], t0: float, width_s: float
) -> dict[str, Any]:
    """What a session's outcome costs FaceID and how soon it reaches the app, from the stores: FaceID's result
    reads (every reader: the return route, owners' reads, the sweep) per session FaceID created; from the
    browser's request to the return route to the webhook's arrival at the receiver; and from a never-finished
    session's token end (the ledger's TokenExpiresAt) to its webhook. `returned`: BizToken -> when the browser
    asked for the return route (the harness is the browser); `retried`: the BizTokens whose webhook delivery
    took more than one attempt (the receiver down, failing or hanging: the fault schedule's, counted apart as
    `receiver_up` without them). Never finished: a session in the ledger whose
    person chose no outcome on FaceID's page (left it unfinished, never opened it, or its caller gave up)."""
    from soak_report import latency, percentile

    arrived = {
        webhook_id.removeprefix("msg_"): delivery["at"]
        for webhook_id, delivery in stores.receiver.get("deliveries", {}).items()
        if delivery.get("at") is not None
    }
    ends = {
        item["BizToken"]["S"]: int(item["TokenExpiresAt"]["N"])
        for item in stores.ledger
        if "Status" in item and "TokenExpiresAt" in item
    }
    never = {s["BizToken"] for s in stores.faceid_sessions if s.get("Outcome") in (None, "unfinished")} & set(ends)
    reads = sum(call["action"] in RESULT_ACTIONS for call in stores.faceid_calls)
    by: Counter[str] = Counter()  # who read, by the trace id the function passed on (the request's id)
    for call in stores.faceid_calls:
        if call["action"] in RESULT_ACTIONS:
            trace = str(call.get("trace_id") or "")
            by[trace.split("-")[1] if trace.startswith("soak-") else "sweep"] += 1
    after_return = {t: max(0.0, arrived[t] - at) for t, at in returned.items() if t in arrived}
    troubled = set(retried) | {
        str(a["webhook-id"]).removeprefix("msg_") for a in stores.receiver.get("attempts", []) if a["answer"] != 204
    }
    after_expiry = {t: arrived[t] - ends[t] for t in never if t in arrived and t in ends}
    windows: dict[int, dict[str, list[float]]] = {}
    for token, seconds in after_return.items():
        windows.setdefault(int((returned[token] - t0) // width_s), {"return": [], "expiry": []})["return"].append(
            seconds
        )
    for token, seconds in after_expiry.items():
        windows.setdefault(int((ends[token] - t0) // width_s), {"return": [], "expiry": []})["expiry"].append(seconds)
    sessions = {  # each session's times, for figures computed afterwards (bench/results/soak-sessions.json)
        t: {"returned": returned.get(t), "token_end": ends.get(t), "webhook": arrived.get(t), "never": t in never}
        for t in set(ends) | set(returned)
    }
    return {
        "sessions": sessions,
        "result_reads_per_session": round(reads / max(1, len(stores.faceid_sessions)), 3),
        "result_reads": reads,
        "result_reads_by": dict(by),
        "settled_after_return_s": {
            **latency(list(after_return.values())),
            "max": max(after_return.values(), default=None),
            "receiver_up": latency([v for t, v in after_return.items() if t not in troubled]),
            "returns": len(returned),
            "not_settled": sum(t not in arrived for t in returned),
        },
        "settled_after_expiry_s": {
            **latency(list(after_expiry.values())),
            "max": max(after_expiry.values(), default=None),
            "receiver_up": latency([v for t, v in after_expiry.items() if t not in troubled]),
            "never_finished": len(never),
            "not_settled": sum(t not in arrived for t in never if t in ends),
            "over_6_minutes": sum(seconds > 360 for seconds in after_expiry.values()),
        },
        "windows": [
            {
                "t": n * width_s,
                "return_p99": percentile(rows["return"], 99),
                "returns": len(rows["return"]),
                "expiry_p99": percentile(rows["expiry"], 99),
                "expiry_max": max(rows["expiry"], default=None),
                "expired": len(rows["expiry"]),
            }
            for n, rows in sorted(windows.items())
        ],
    }
