"""Cold start: a fresh process to the first answered request (interpreter, import, init, first call).

    python bench/cold_start.py [--rounds N] [--before REV [REV ...]]

Runs the baseline and ours in several configurations, one after another within each round (drift on
the machine hits all alike), against the emulator; medians, and each ratio to the baseline's median.

Ours as serverless.yml deploys it: tracing on (POWERTOOLS_TRACE_DISABLED unset, and Lambda's variables
set, so Powertools and the X-Ray SDK behave as on Lambda), the Tencent credentials read from Secrets
Manager (a moto server on 127.0.0.1) through the Parameters and Secrets extension's stand-in, or with
boto3 where the layer is missing. "before" is the function as it was before issue 13 (X-Ray's patch_all
at init, the secret read with boto3); "as issue 13 measured it" also leaves out Lambda's variables, so the
X-Ray SDK builds the botocore client of its centralized sampler, which on Lambda it does not.
With --before REV, ours at that git revision (from source) runs too (at each, given several), in the bench
config and as deployed (with and without the session ledger): the code before a change, measured side by
side with it.
SnapStart: init before the snapshot is not timed; the row times the after-restore hooks and the first
request (Lambda's own restore of the snapshot cannot be measured here).
The floor (bench/floor/: the design card's pydantic validation, Powertools routing and structured
tracing, and nothing more, on ours' packages) runs in the bench config, as deployed and as deployed
without the ledger; the second table sets ours against it, configuration by configuration.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from common import Deployed, deployed, emulator, environment, implementations, median, report, revision, run_worker

OURS_BENCH = "ours, bench config (tracing off, credentials in env)"
OURS_DEPLOYED = "**ours as deployed**"
OURS_NO_LEDGER = "ours as deployed, without the session ledger"
OURS_INTL = "ours as deployed, intl flow (the default: the photo read from COS)"
FLOOR_BENCH = "floor, bench config (tracing off, credentials in env)"
FLOOR_DEPLOYED = "floor as deployed (tracing on, secret via the extension, the ledger's put)"
FLOOR_NO_LEDGER = "floor as deployed, without the ledger"
# Without the ledger there is nowhere to count each owner's starts: the limit goes with it.
NO_LEDGER = (("SESSIONS_TABLE", ""), ("FACEID_OWNER_STARTS", "off"))
# (what the row compares, ours' configuration, the floor's): the same configuration of each
MATCHED = [
    ("bench config (tracing off, credentials in env)", OURS_BENCH, FLOOR_BENCH),
    ("as deployed", OURS_DEPLOYED, FLOOR_DEPLOYED),
    ("as deployed, without the session ledger", OURS_NO_LEDGER, FLOOR_NO_LEDGER),
]


@dataclass(frozen=True)
class Config:
    label: str
    impl: str
    mode: str = "cold"
    tracing: bool = True
    extension: bool = True
    deployed: bool = True
    intl: bool = False  # the default flow (ApplyWebVerificationBizTokenIntl: the photo read from COS)
    extra: tuple[tuple[str, str], ...] = ()


CONFIGS = [
    Config("baseline", "baseline", deployed=False),
    Config(FLOOR_BENCH, "floor", deployed=False),
    Config(FLOOR_DEPLOYED, "floor"),
    Config(FLOOR_NO_LEDGER, "floor", extra=NO_LEDGER),
    Config(OURS_BENCH, "ours", deployed=False),
    Config("ours as deployed, before, as issue 13 measured it (no Lambda variables)", "ours", extension=False,
           extra=(("BENCH_PATCH_ALL", "1"), ("LAMBDA_TASK_ROOT", ""))),
    Config("ours as deployed, before (patch_all, secret via boto3)", "ours", extension=False,
           extra=(("BENCH_PATCH_ALL", "1"),)),
    Config("ours as deployed, no extension layer (secret via boto3)", "ours", extension=False),
    Config("ours as deployed, X-Ray SDK disabled (no traces)", "ours", extra=(("AWS_XRAY_SDK_ENABLED", "false"),)),
    Config("ours as deployed, tracing off", "ours", tracing=False),
    Config(OURS_NO_LEDGER, "ours", extra=NO_LEDGER),
    Config(OURS_DEPLOYED, "ours"),
    Config(OURS_INTL, "ours", intl=True),
    Config("ours as deployed, SnapStart: restore hooks + first request", "ours", mode="restore"),
]  # fmt: skip


def env_for(config: Config, faceid_url: str, aws: Deployed) -> dict[str, str]:
    if not config.deployed:
        return environment(faceid_url)
    return aws.env(
        faceid_url, tracing=config.tracing, extension=config.extension, intl=config.intl, **dict(config.extra)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", nargs="+", default=[], help="also run ours at these git revisions (e.g. main)")
    args = parser.parse_args()
    impls = {i.name: i for i in implementations()}
    configs = list(CONFIGS)
    for rev in reversed(args.before):
        old = revision(rev)
        impls[old.name] = old
        configs[1:1] = [
            Config(f"{old.name}, bench config (tracing off, credentials in env)", old.name, deployed=False),
            Config(f"{old.name}, as deployed (secret via boto3)", old.name, extension=False),
            Config(f"{old.name}, as deployed", old.name),
            Config(f"{old.name}, as deployed, without the session ledger", old.name, extra=NO_LEDGER),
            Config(f"{old.name}, as deployed, intl flow", old.name, intl=True),
        ]
    wall: dict[str, list[float]] = {c.label: [] for c in configs}
    imports: dict[str, list[float]] = {c.label: [] for c in configs}
    with emulator() as faceid, deployed() as aws:
        envs = {c.label: env_for(c, faceid.url, aws) for c in configs}
        for _ in range(args.rounds):
            for config in configs:
                started = time.perf_counter()
                result = run_worker(impls[config.impl], config.mode, envs[config.label])
                elapsed = time.perf_counter() - started
                assert result["status"] in (200, 201), (config.label, result)
                # restore: what is timed is the restore to the first answer (init happened before the snapshot)
                wall[config.label].append(result["restore_s"] if config.mode == "restore" else elapsed)
                imports[config.label].append(result["import_s"])
    base, base_import = median(wall["baseline"]), median(imports["baseline"])
    rows = []
    for config in configs:
        total, imported = median(wall[config.label]), median(imports[config.label])
        if config.mode == "restore":
            rows.append([config.label, total * 1000, "(in the snapshot)", total / base])
        else:
            rows.append([config.label, total * 1000, imported * 1000, total / base])
    ratios = {c.label: median(wall[c.label]) / base for c in configs}
    floor_rows, to_floor = [], {}
    for what, ours, floor in MATCHED:
        to_floor[what] = median(wall[ours]) / median(wall[floor])
        floor_rows.append(
            [what, median(wall[floor]) * 1000, median(wall[ours]) * 1000, to_floor[what], ratios[floor], ratios[ours]]
        )
    report(
        "cold_start",
        f"Cold start: fresh process to first answer (median of {args.rounds}; ratio to the baseline's total)",
        ["", "total ms", "import + init ms", "ratio to baseline"],
        rows,
        {
            "rounds": args.rounds,
            "wall_s": wall,
            "import_s": imports,
            "ratios": ratios,
            "ratio": ratios[OURS_BENCH],
            "ours_to_floor": to_floor,
            "baseline_import_s": base_import,
        },
        more=(
            (
                f"Ours against the floor of the design card, same configuration (median of {args.rounds})",
                ["", "floor ms", "ours ms", "ours / floor", "floor / baseline", "ours / baseline"],
                floor_rows,
            ),
        ),
    )


if __name__ == "__main__":
    main()
