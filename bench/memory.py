"""Memory: peak RSS after many warm requests in one process, and whether RSS keeps growing.

python bench/memory.py [--requests N]
"""

from __future__ import annotations

import argparse

from common import emulator, environment, implementations, report, run_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    data: dict[str, dict] = {}
    with emulator() as faceid:
        faceid.control("config", {"rate_limit": 10**9})
        env = environment(faceid.url)
        for impl in implementations():
            if impl.name not in ("ours", "baseline"):
                continue  # the floor is for the cold start only
            data[impl.name] = run_worker(impl, "memory", env, str(args.requests), timeout=3600)
    rows = []
    for name in ("ours", "baseline"):
        rss = {int(k): v for k, v in data[name]["rss_kib"].items()}
        first, last = rss[min(rss)], rss[max(rss)]
        rows.append([name, data[name]["peak_kib"] / 1024, first / 1024, last / 1024, (last - first) / 1024])
    rows.append(["ratio ours/baseline", data["ours"]["peak_kib"] / data["baseline"]["peak_kib"], "", "", ""])
    report(
        "memory",
        f"Memory: {args.requests} warm requests in one process",
        ["", "peak RSS MB", f"RSS MB at {args.requests // 10}", f"RSS MB at {args.requests}", "growth MB"],
        rows,
        {"requests": args.requests, "results": data},
    )


if __name__ == "__main__":
    main()
