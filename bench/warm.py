"""Warm overhead: CPU time per request inside the handler's process, the upstream answering at once.

    python bench/warm.py [--requests N] [--rounds R]

The emulator runs in its own process, so only the handler's own work is counted.
"""

from __future__ import annotations

import argparse

from common import emulator, environment, implementations, median, report, run_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    impls = implementations()
    cpu: dict[str, list[float]] = {i.name: [] for i in impls}
    wall: dict[str, list[float]] = {i.name: [] for i in impls}
    with emulator() as faceid:
        faceid.control("config", {"rate_limit": 10**9})
        env = environment(faceid.url)
        for _ in range(args.rounds):
            for impl in impls:
                result = run_worker(impl, "warm", env, str(args.requests))
                assert result["ok"] == args.requests, result
                cpu[impl.name].append(result["cpu_ms_per_request"])
                wall[impl.name].append(result["wall_ms_per_request"])
    ratio = median(cpu["ours"]) / median(cpu["baseline"])
    rows = [[name, median(cpu[name]), median(wall[name])] for name in ("ours", "baseline")]
    rows.append(["ratio ours/baseline", ratio, median(wall["ours"]) / median(wall["baseline"])])
    report(
        "warm",
        f"Warm overhead: per request, {args.requests} requests x {args.rounds} rounds (median)",
        ["", "CPU ms/request", "wall ms/request"],
        rows,
        {"requests": args.requests, "rounds": args.rounds, "cpu_ms": cpu, "wall_ms": wall, "ratio": ratio},
    )


if __name__ == "__main__":
    main()
