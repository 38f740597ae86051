"""Burst: 200 requests within 1 s from 50 concurrent callers while FaceID allows 20 requests/s.

    python bench/burst.py [--requests N] [--callers C] [--spread S] [--rounds R]

Each implementation runs in one warm process (its callers are threads); the emulator enforces its
20 requests/s. Ours runs as serverless.yml deploys it, with the pacing table (a moto server on
127.0.0.1 plays DynamoDB); the baseline has no such thing. Reported: success rate, latency p50/p99
(from each request's due time), how long the burst took, and upstream attempts
(ApplyWebVerificationToken calls FaceID saw) per request.
"""

from __future__ import annotations

import argparse

from common import dynamodb, emulator, environment, implementations, median, percentile, report, run_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    impls = implementations()
    runs: dict[str, list[dict]] = {i.name: [] for i in impls}
    with emulator() as faceid, dynamodb() as pacing:
        envs = {"ours": environment(faceid.url, **pacing), "baseline": environment(faceid.url)}
        for _ in range(args.rounds):
            for impl in impls:
                faceid.control("reset")
                sizes = (str(args.requests), str(args.callers), str(args.spread))
                results = run_worker(impl, "burst", envs[impl.name], *sizes, timeout=300)["results"]
                calls = [c for c in faceid.calls() if c["action"] == "ApplyWebVerificationToken"]
                latencies = [r[1] for r in results]
                runs[impl.name].append(
                    {
                        "success": sum(r[0] in (200, 201) for r in results) / len(results),
                        "p50_s": percentile(latencies, 50),
                        "p99_s": percentile(latencies, 99),
                        "done_s": max(r[2] for r in results),
                        "attempts_per_request": (len(calls) - 1) / len(results),  # minus the warm-up call
                    }
                )
    keys = ["success", "p50_s", "p99_s", "done_s", "attempts_per_request"]
    rows = [[name, *(median([r[k] for r in runs[name]]) for k in keys)] for name in ("ours", "baseline")]
    report(
        "burst",
        f"Burst: {args.requests} requests in {args.spread:g} s from {args.callers} callers, FaceID at 20 req/s "
        f"(median of {args.rounds})",
        ["", "success", "p50 s", "p99 s", "all done s", "upstream attempts/request"],
        rows,
        {"requests": args.requests, "callers": args.callers, "spread_s": args.spread, "runs": runs},
    )


if __name__ == "__main__":
    main()
