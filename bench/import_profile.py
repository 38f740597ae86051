"""Import profile: what each implementation imports from a fresh process to its first answer, by package.

    python bench/import_profile.py [--rounds N]

Runs the cold-start worker under `python -X importtime` (every import of the process, the lazy ones of
the first request included) and adds up each module's own time by top-level package; medians of N runs.
Columns: the baseline, ours and the design card's floor (bench/floor/), in the bench config and as deployed.
Rows: packages that take at least 2 ms in one of the columns, the rest summed as "other".
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections import defaultdict

from common import WORKER, deployed, emulator, environment, implementations, median, report

LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)$")
# What the packages are there for, to read the table by.
WHY = {
    "requests": "HTTP client of the Tencent SDK (all)",
    "urllib3": "HTTP client of the Tencent SDK (all)",
    "aws_lambda_powertools": "Logger (all); Event Handler, Tracer (ours, floor); Metrics (ours)",
    "pydantic": "validation (ours, floor)",
    "pydantic_core": "validation (ours, floor)",
    "tencentcloud": "the Tencent SDK (all)",
    "aws_xray_sdk": "X-Ray tracing (ours, floor: tracing on)",
    "wrapt": "X-Ray SDK's patching (as aws_xray_sdk)",
    "asyncio": "Powertools Event Handler's and wrapt's package inits (lazy in the artifact)",
    "faceid_fn": "ours: mostly pydantic building our models and settings",
    "handler": "ours: init (settings, the credentials read, clients)",
    "floor_handler": "the floor: its body model, routes, init (the credentials read, clients)",
    "requests_aws4auth": "SigV4 signing of the floor's ledger PutItem (floor as deployed)",
    "botocore": "SigV4 signing and credentials for the session ledger's thin DynamoDB client (ours as deployed)",
    "boto3": "boto3 (before the ledger's thin client: the ledger; now only pacing, idempotency, EventBridge)",
    "s3transfer": "via boto3 (the ledger)",
    "dateutil": "via botocore (the ledger)",
    "multiprocessing": "via boto3's s3transfer (the ledger)",
    "html": "via botocore (the ledger)",
    "annotated_types": "via pydantic",
    "typing_inspection": "via pydantic",
    "charset_normalizer": "via requests (all)",
    "http": "stdlib HTTP (all)",
    "email": "stdlib, via importlib.metadata and requests",
    "importlib": "stdlib (importlib.metadata: the Tencent SDK's imports, and pydantic's plugin loader)",
}


def profile(python: str, path: str, module: str, env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(
        [python, "-X", "importtime", str(WORKER), "cold", path, module],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    by_package: dict[str, float] = defaultdict(float)
    for line in result.stderr.splitlines():
        match = LINE.match(line)
        if match:
            by_package[match.group(3).split(".")[0]] += int(match.group(1)) / 1000
    return by_package


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    impls = {i.name: i for i in implementations()}
    columns = {
        "baseline": "baseline",
        "ours, bench config": "ours",
        "ours as deployed": "ours",
        "floor, bench config": "floor",
        "floor as deployed": "floor",
    }
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in columns}
    with emulator() as faceid, deployed() as aws:
        envs = {
            "baseline": environment(faceid.url),
            "ours, bench config": environment(faceid.url),
            "ours as deployed": aws.env(faceid.url),
            "floor, bench config": environment(faceid.url),
            "floor as deployed": aws.env(faceid.url),
        }
        for _ in range(args.rounds):
            for column, name in columns.items():
                impl = impls[name]
                runs[column].append(profile(str(impl.python), impl.path, impl.module, envs[column]))
    packages = sorted({p for found in runs.values() for run in found for p in run})
    medians = {c: {p: median([run.get(p, 0.0) for run in runs[c]]) for p in packages} for c in columns}
    shown = [p for p in packages if any(medians[c][p] >= 2 for c in columns)]
    shown.sort(key=lambda p: -medians["ours as deployed"][p])
    rows = [[p, *(medians[c][p] for c in columns), WHY.get(p, "")] for p in shown]
    rows.append(["other", *(sum(v for p, v in medians[c].items() if p not in shown) for c in columns), ""])
    rows.append(["**all imports**", *(sum(medians[c].values()) for c in columns), ""])
    report(
        "import_profile",
        f"Import profile to the first answer: own time by package, ms (median of {args.rounds}, -X importtime)",
        ["package", *columns, "what for"],
        rows,
        {"rounds": args.rounds, "medians_ms": medians},
    )


if __name__ == "__main__":
    main()
