"""Warm overhead: CPU time per request inside the handler's process, the upstream answering at once.

    python bench/warm.py [--requests N] [--rounds R] [--before REV]

The emulator runs in its own process, so only the handler's own work is counted. Ours runs twice: as the
bench ran it before (tracing off, credentials in the environment) and as deployed (X-Ray tracing on, each
request's subsegments sent to a UDP socket where the daemon would be; the credentials secret through the
Parameters and Secrets extension's stand-in, cached by the function between reads).
With --before REV, ours at that git revision (from source, as cold_start.py runs it) runs too, in both
configurations, in the same rounds: the code before a change, measured side by side with it.
"""

from __future__ import annotations

import argparse

from common import deployed, emulator, environment, implementations, median, report, revision, run_worker

DEPLOYED = "ours as deployed"
BEFORE = "ours as deployed, before (patch_all, secret via boto3)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="also run ours at this git revision (e.g. main)")
    args = parser.parse_args()
    impls = {i.name: i for i in implementations()}
    names = ["ours", BEFORE, DEPLOYED, "baseline"]
    by_name = {name: impls["ours"] for name in names} | {"baseline": impls["baseline"]}
    old = revision(args.before) if args.before else None
    old_bench, old_deployed = (f"{old.name}, bench config", f"{old.name}, as deployed") if old else ("", "")
    if old:
        names[1:1] = [old_bench, old_deployed]
        by_name |= {old_bench: old, old_deployed: old}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    with emulator() as faceid, deployed() as aws:
        faceid.control("config", {"rate_limit": 10**9})
        envs = {
            "ours": environment(faceid.url),
            BEFORE: aws.env(faceid.url, extension=False, BENCH_PATCH_ALL="1"),
            DEPLOYED: aws.env(faceid.url),
            "baseline": environment(faceid.url),
        }
        if old:
            envs |= {old_bench: environment(faceid.url), old_deployed: aws.env(faceid.url)}
        for _ in range(args.rounds):
            for name in names:
                result = run_worker(by_name[name], "warm", envs[name], str(args.requests))
                assert result["ok"] == args.requests, result
                cpu[name].append(result["cpu_ms_per_request"])
                wall[name].append(result["wall_ms_per_request"])
    base_cpu, base_wall = median(cpu["baseline"]), median(wall["baseline"])
    ratio = median(cpu["ours"]) / base_cpu
    rows = [[name, median(cpu[name]), median(wall[name])] for name in names]
    rows.append(["ratio ours/baseline", ratio, median(wall["ours"]) / base_wall])
    for name in (*([old_bench, old_deployed] if old else []), BEFORE, DEPLOYED):
        rows.append([f"ratio {name}/baseline", median(cpu[name]) / base_cpu, median(wall[name]) / base_wall])
    report(
        "warm",
        f"Warm overhead: per request, {args.requests} requests x {args.rounds} rounds (median)",
        ["", "CPU ms/request", "wall ms/request"],
        rows,
        {
            "requests": args.requests,
            "rounds": args.rounds,
            "cpu_ms": cpu,
            "wall_ms": wall,
            "ratio": ratio,
            "ratio_deployed": median(cpu[DEPLOYED]) / base_cpu,
            "ratios": {name: median(cpu[name]) / base_cpu for name in names},
        },
    )


if __name__ == "__main__":
    main()
