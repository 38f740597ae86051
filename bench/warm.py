"""Warm overhead: CPU time per request inside the handler's process, the upstream answering at once.

    python bench/warm.py [--requests N] [--rounds R] [--before REV [REV ...]]

The emulator runs in its own process, so only the handler's own work is counted. Ours runs twice: as the
bench ran it before (tracing off, credentials in the environment) and as deployed (X-Ray tracing on, each
request's subsegments sent to a UDP socket where the daemon would be; the credentials secret through the
Parameters and Secrets extension's stand-in, cached by the function between reads). The design card's
floor (bench/floor/) runs in the bench config: what the card's validation, routing and logging cost warm.
With --before REV, ours at that git revision (from source, as cold_start.py runs it; at each, given several)
runs too, in both configurations, in the same rounds: the code before a change, measured side by side with it.
"""

from __future__ import annotations

import argparse

from common import deployed, emulator, environment, implementations, median, report, revision, run_worker

OURS = "ours, bench config"
DEPLOYED = "ours as deployed"
BEFORE = "ours as deployed, before (patch_all, secret via boto3)"
FLOOR = "floor, bench config"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", nargs="+", default=[], help="also run ours at these git revisions (e.g. main)")
    args = parser.parse_args()
    impls = {i.name: i for i in implementations()}
    by_name = {"baseline": impls["baseline"], FLOOR: impls["floor"], OURS: impls["ours"]}
    olds = [revision(rev) for rev in args.before]
    by_name |= {f"{old.name}, bench config": old for old in olds}
    by_name |= {f"{old.name}, as deployed": old for old in olds}
    by_name |= {BEFORE: impls["ours"], DEPLOYED: impls["ours"]}
    names = list(by_name)
    cpu: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    with emulator() as faceid, deployed() as aws:
        faceid.control("config", {"rate_limit": 10**9})
        bench_env, deployed_env = environment(faceid.url), aws.env(faceid.url)
        envs = {name: deployed_env if name.endswith("as deployed") else bench_env for name in names}
        envs[BEFORE] = aws.env(faceid.url, extension=False, BENCH_PATCH_ALL="1")
        for _ in range(args.rounds):
            for name in names:
                result = run_worker(by_name[name], "warm", envs[name], str(args.requests))
                assert result["ok"] == args.requests, result
                cpu[name].append(result["cpu_ms_per_request"])
                wall[name].append(result["wall_ms_per_request"])
    base_cpu = median(cpu["baseline"])
    ratios = {name: median(cpu[name]) / base_cpu for name in names}
    rows = [[f"**{name}**" if name == OURS else name, median(cpu[name]), median(wall[name]), ratios[name]]
            for name in names]  # fmt: skip
    report(
        "warm",
        f"Warm overhead: per request, {args.requests} requests x {args.rounds} rounds (median)",
        ["", "CPU ms/request", "wall ms/request", "CPU ratio to baseline"],
        rows,
        {
            "requests": args.requests,
            "rounds": args.rounds,
            "cpu_ms": cpu,
            "wall_ms": wall,
            "ratio": ratios[OURS],
            "ratio_deployed": ratios[DEPLOYED],
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
