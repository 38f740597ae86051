"""Burst: 200 requests within 1 s from 50 concurrent callers while FaceID allows 20 requests/s.

    python bench/burst.py [--requests N] [--callers C] [--spread S] [--rounds R]

Each caller is served by its own warm process, as each concurrent request on Lambda is served by its
own instance (`--threads` runs the callers as threads of one process instead); the emulator enforces its
20 requests/s. Ours runs as serverless.yml deploys it, with the pacing table (a moto server on
127.0.0.1 plays DynamoDB); the baseline has no such thing. Reported: success rate, latency p50/p99
(from each request's due time), how long the burst took, and upstream attempts
(ApplyWebVerificationToken calls FaceID saw) per request.
"""

from __future__ import annotations

import argparse

from common import (
    dynamodb,
    emulator,
    environment,
    implementations,
    median,
    percentile,
    report,
    run_instances,
    run_worker,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", action="store_true", help="callers as threads of one process")
    parser.add_argument("--timeline", action="store_true", help="print FaceID's answers in each second")
    args = parser.parse_args()
    impls = [i for i in implementations() if i.name in ("ours", "baseline")]  # the floor: cold start only
    runs: dict[str, list[dict]] = {i.name: [] for i in impls}
    with emulator() as faceid, dynamodb() as pacing:
        envs = {"ours": environment(faceid.url, **pacing), "baseline": environment(faceid.url)}
        for _ in range(args.rounds):
            for impl in impls:
                faceid.control("reset")
                sizes = (str(args.requests), str(args.callers), str(args.spread))
                if args.threads:
                    results = run_worker(impl, "burst", envs[impl.name], *sizes, timeout=300)["results"]
                    warm_up_calls = 1  # the worker's one warm-up request reached FaceID
                else:
                    results = run_instances(impl, envs[impl.name], args.requests, args.callers, args.spread)
                    warm_up_calls = 0  # the instances warm up with a request refused before any FaceID call
                calls = [c for c in faceid.calls() if c["action"] == "ApplyWebVerificationToken"]
                seconds = timeline(calls)
                if args.timeline:
                    print(impl.name, seconds, flush=True)
                latencies = [r[1] for r in results]
                runs[impl.name].append(
                    {
                        "success": sum(r[0] in (200, 201) for r in results) / len(results),
                        "p50_s": percentile(latencies, 50),
                        "p99_s": percentile(latencies, 99),
                        "done_s": max(r[2] for r in results),
                        "attempts_per_request": (len(calls) - warm_up_calls) / len(results),
                        "timeline": seconds,
                    }
                )
    keys = ["success", "p50_s", "p99_s", "done_s", "attempts_per_request"]
    rows = [[name, *(median([r[k] for r in runs[name]]) for k in keys)] for name in ("ours", "baseline")]
    report(
        "burst-threads" if args.threads else "burst",
        f"Burst: {args.requests} requests in {args.spread:g} s from {args.callers} callers"
        f"{' (threads of one process)' if args.threads else ', one instance each'}, FaceID at 20 req/s "
        f"(median of {args.rounds})",
        ["", "success", "p50 s", "p99 s", "all done s", "upstream attempts/request"],
        rows,
        {
            "requests": args.requests,
            "callers": args.callers,
            "spread_s": args.spread,
            "threads": args.threads,
            "runs": runs,
        },
    )


def timeline(calls: list[dict]) -> str:
    """FaceID's answers in each second of the burst, as `<second>s:<ok>/<throttled>`."""
    if not calls:
        return ""
    start = min(c["at"] for c in calls)
    seconds: dict[int, list[int]] = {}
    for call in calls:
        counts = seconds.setdefault(int(call["at"] - start), [0, 0])
        counts[call["outcome"] != "ok"] += 1
    return " ".join(f"{s}s:{ok}/{bad}" for s, (ok, bad) in sorted(seconds.items()))


if __name__ == "__main__":
    main()
