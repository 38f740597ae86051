"""Run every bench, print the tables, and put them into bench/README.md.

python bench/run_all.py            # the sizes the issue asks for (a few minutes on 2 cores)
python bench/run_all.py --quick    # tiny sizes: checks that every script runs (the test suite's smoke)
python bench/run_all.py --before REV [REV ...]  # also ours at git revisions (the code before): cold start, warm CPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from common import BENCH, RESULTS


def plan(burst: list[str], **sizes: list[str]) -> list[tuple[str, list[str], str]]:
    """(script, its arguments, the name of its result in bench/results/), in the order they run."""
    return [
        ("artifact.py", [], "artifact"),
        ("cold_start.py", sizes["cold_start"], "cold_start"),
        ("import_profile.py", sizes["import_profile"], "import_profile"),
        ("warm.py", sizes["warm"], "warm"),
        ("warm_profile.py", sizes["warm_profile"], "warm_profile"),
        ("burst.py", burst, "burst"),
        ("burst.py", [*burst, "--threads"], "burst-threads"),
        ("memory.py", sizes["memory"], "memory"),
    ]


FULL = plan(
    ["--requests", "200", "--callers", "50", "--spread", "1", "--rounds", "2"],
    cold_start=["--rounds", "15"],
    import_profile=["--rounds", "5"],
    warm=["--requests", "1000", "--rounds", "3"],
    warm_profile=["--requests", "3000", "--rounds", "3"],
    memory=["--requests", "10000"],
)
QUICK = plan(
    ["--requests", "10", "--callers", "5", "--spread", "0.2", "--rounds", "1"],
    cold_start=["--rounds", "1"],
    import_profile=["--rounds", "1"],
    warm=["--requests", "20", "--rounds", "1"],
    warm_profile=["--requests", "20", "--rounds", "1"],
    memory=["--requests", "50"],
)
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--before", nargs="+", default=[], help="ours at these git revisions too (cold_start.py, warm.py)"
    )
    args = parser.parse_args()
    tables = []
    for script, sizes, name in QUICK if args.quick else FULL:
        extra = ["--before", *args.before] if args.before and script in ("cold_start.py", "warm.py") else []
        subprocess.run([sys.executable, str(BENCH / script), *sizes, *extra], check=True, cwd=BENCH)
        result = json.loads((RESULTS / f"{name}.json").read_text())
        tables.append(result)
    if args.quick:
        return
    readme = BENCH / "README.md"
    text = readme.read_text()
    body = "\n\n".join(_table(r) for r in tables)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cores = os.cpu_count()
    command = "python bench/run_all.py" + (f" --before {' '.join(args.before)}" if args.before else "")
    block = f"{START}\n_Last run: {stamp}, `{command}`, {cores} cores._\n\n{body}\n{END}"
    readme.write_text(text[: text.index(START)] + block + text[text.index(END) + len(END) :])


def _table(result: dict) -> str:
    return result["table"]


if __name__ == "__main__":
    main()
