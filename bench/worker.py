"""Runs inside one implementation's Python (ours or the baseline): the process a Lambda container is.

    python bench/worker.py cold|restore|warm|profile|memory|burst|instance <handler module dir> <module> [sizes...]

The directory argument may name several, joined by os.pathsep: they go first on sys.path, in that order
(the floor: bench/floor, then the artifact's dependencies).

Reads nothing from the bench but its arguments, environment and (`instance`) the start time on stdin;
prints one JSON line per result. BENCH_PATCH_ALL=1 (cold, warm) first builds a Powertools Tracer with its
defaults, as the function did before it patched only `requests` at init: X-Ray's patch_all.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from types import FrameType

# BENCH_PHOTO_MD5: the MD5 of the photo the bench put in its COS stand-in (the intl flow reads it and
# checks it); the legacy flow sends the URL and the MD5 as they are.
EVENT_BODY = json.dumps(
    {
        "CompareImageUrl": "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/alice.png",
        "CompareImageMd5": os.environ.get("BENCH_PHOTO_MD5") or "43260cb380965ad3022baec8f7123412",
    }
)


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench"
    aws_request_id = "bench-request"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def event(n: int) -> dict:
    return {
        "version": "2.0",
        "routeKey": "POST /verifications",
        "rawPath": "/verifications",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.ap-southeast-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "POST",
                "path": "/verifications",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1",
                "userAgent": "bench",
            },
            "requestId": f"bench-{n}",
            "routeKey": "POST /verifications",
            "stage": "$default",
            "time": "25/Nov/2026:04:00:00 +0000",
            "timeEpoch": 1795665600000,
        },
        "body": EVENT_BODY,
        "isBase64Encoded": False,
    }


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_hooks(registry: list) -> None:
    """SnapStart hooks as Lambda's runtime calls them (snapshot_restore_py's registry entries)."""
    for func, args, kwargs in registry:
        func(*args, **kwargs)


def sample_cpu(work: Callable[[], object], interval_s: float = 0.0005) -> dict:
    """Run `work` with a CPU-time timer (SIGPROF, as often as the kernel ticks) interrupting it: each tick
    records the Python stack it found, as files relative to their sys.path entry, innermost first. A
    sampling profiler: the code runs at its own speed, where cProfile's cost per call would inflate code
    made of many small calls."""
    import signal
    from collections import Counter

    roots = sorted({os.path.realpath(p) for p in sys.path if p}, key=len, reverse=True)
    names: dict[str, str] = {}

    def short(filename: str) -> str:
        if filename not in names:
            if filename.startswith("<"):  # <frozen ...>, <string>
                names[filename] = filename
                return filename
            real = os.path.realpath(filename)
            root = next((r for r in roots if real.startswith(r + os.sep)), "")
            names[filename] = real[len(root) + 1 :] if root else real
        return names[filename]

    stacks: Counter[tuple[str, ...]] = Counter()

    def tick(signum: int, frame: FrameType | None) -> None:
        found, current = [], frame
        while current is not None:
            found.append(f"{short(current.f_code.co_filename)}:{current.f_code.co_name}")
            current = current.f_back
        stacks[tuple(found)] += 1

    signal.signal(signal.SIGPROF, tick)
    cpu = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, interval_s, interval_s)
    try:
        work()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
    cpu = time.process_time() - cpu
    return {"cpu_s": cpu, "stacks": [[list(stack), count] for stack, count in stacks.items()]}


def main() -> None:
    mode, path, module = sys.argv[1], sys.argv[2], sys.argv[3]
    started = time.perf_counter()
    sys.path[0:0] = path.split(os.pathsep)
    if os.environ.get("BENCH_PATCH_ALL") == "1":
        from aws_lambda_powertools import Tracer

        Tracer()  # patch_all, the X-Ray SDK and botocore imported at init
    handler = __import__(module).handler
    imported = time.perf_counter()
    ctx = Context()
    if mode == "restore":  # SnapStart: init ran before the snapshot; timed from the restore on
        import snapshot_restore_py

        run_hooks(list(reversed(snapshot_restore_py.get_before_snapshot())))
        restored = time.perf_counter()
        run_hooks(snapshot_restore_py.get_after_restore())
        answer = handler(event(0), ctx)
        done = time.perf_counter()
        timing = {"import_s": imported - started, "restore_s": done - restored}
        print(json.dumps({"status": answer["statusCode"], **timing}))
    elif mode == "cold":
        answer = handler(event(0), ctx)
        done = time.perf_counter()
        print(
            json.dumps(
                {"status": answer["statusCode"], "import_s": imported - started, "first_call_s": done - imported}
            )
        )
    elif mode == "warm":
        n = int(sys.argv[4])
        for i in range(20):
            handler(event(i), ctx)
        cpu, wall = time.process_time(), time.perf_counter()
        ok = sum(handler(event(i), ctx)["statusCode"] in (200, 201) for i in range(n))
        print(
            json.dumps(
                {
                    "ok": ok,
                    "n": n,
                    "cpu_ms_per_request": (time.process_time() - cpu) * 1000 / n,
                    "wall_ms_per_request": (time.perf_counter() - wall) * 1000 / n,
                }
            )
        )
    elif mode == "profile":  # where the warm CPU goes: the stacks of CPU-time samples
        n = int(sys.argv[4])
        for i in range(20):
            handler(event(i), ctx)
        stacks = sample_cpu(lambda: [handler(event(i), ctx) for i in range(n)])
        print(json.dumps({"n": n, **stacks}))
    elif mode == "memory":
        n = int(sys.argv[4])
        checkpoints = {}
        for i in range(1, n + 1):
            handler(event(i), ctx)
            if i in (n // 10, n // 2, n):
                checkpoints[i] = rss_kib()
        print(json.dumps({"rss_kib": checkpoints, "peak_kib": rss_kib("VmHWM")}))
    elif mode == "burst":  # n requests spread over `spread` seconds from `callers` concurrent callers
        from concurrent.futures import ThreadPoolExecutor

        n, callers, spread = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        handler(event(-1), ctx)  # the container is warm before the burst
        t0 = time.perf_counter() + 0.5

        def call(i: int) -> list:
            due = t0 + i * spread / n
            time.sleep(max(0.0, due - time.perf_counter()))
            answer = handler(event(i), ctx)
            end = time.perf_counter()
            return [answer["statusCode"], end - due, end - t0]

        with ThreadPoolExecutor(max_workers=callers) as pool:
            print(json.dumps({"results": list(pool.map(call, range(n)))}))
    elif mode == "instance":  # one Lambda instance serving one of `callers` callers in a burst
        k, n, callers, spread = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
        # A served (refused) request warms the instance without reaching FaceID; the baseline raises on a
        # body without its fields, and is warm all the same.
        with contextlib.suppress(Exception):
            handler({**event(-1), "body": "{}"}, ctx)
        print(json.dumps({"ready": k}), flush=True)
        t0 = float(sys.stdin.readline())  # wall-clock start of the burst, the same for every instance
        results = []
        for i in range(k, n, callers):  # this caller's requests, one after another
            due = t0 + i * spread / n
            time.sleep(max(0.0, due - time.time()))
            answer = handler(event(i), ctx)
            end = time.time()
            results.append([answer["statusCode"], end - due, end - t0])
        print(json.dumps({"results": results}), flush=True)


if __name__ == "__main__":
    main()
