"""Cold start: a fresh process to the first answered request (interpreter, import, init, first call).

    python bench/cold_start.py [--rounds N]

Runs ours and the baseline alternately against the emulator; medians and the ratio ours/baseline.
"""

from __future__ import annotations

import argparse
import time

from common import emulator, environment, implementations, median, report, run_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    impls = implementations()
    wall: dict[str, list[float]] = {i.name: [] for i in impls}
    imports: dict[str, list[float]] = {i.name: [] for i in impls}
    with emulator() as faceid:
        env = environment(faceid.url)
        for _ in range(args.rounds):
            for impl in impls:  # alternating: drift on the machine hits both alike
                started = time.perf_counter()
                result = run_worker(impl, "cold", env)
                wall[impl.name].append(time.perf_counter() - started)
                imports[impl.name].append(result["import_s"])
                assert result["status"] in (200, 201), result
    ours, base = median(wall["ours"]), median(wall["baseline"])
    rows = [[name, median(wall[name]) * 1000, median(imports[name]) * 1000] for name in ("ours", "baseline")] + [
        ["ratio ours/baseline", ours / base, median(imports["ours"]) / median(imports["baseline"])]
    ]
    report(
        "cold_start",
        f"Cold start: fresh process to first answer (median of {args.rounds})",
        ["", "total ms", "import ms"],
        rows,
        {"rounds": args.rounds, "wall_s": wall, "import_s": imports, "ratio": ours / base},
    )


if __name__ == "__main__":
    main()
