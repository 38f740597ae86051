"""Where the warm CPU goes: each warm request's CPU time by component, ours against the baseline.

    python bench/warm_profile.py [--requests N] [--rounds R]

A sampling profiler in the worker (a CPU-time timer, SIGPROF: the code runs at its own speed, unlike
under cProfile) records the Python stack at each tick while N warm requests run; each sample goes to the
component that owns it: the innermost frame of a known component, libraries that serve whoever calls them
(pydantic, json, the standard library, and the HTTP stack) being skipped. An HTTP call belongs to the code
that made it (the Tencent SDK, or the session ledger), through X-Ray's patch of `requests` as well. The
share of samples times the CPU per request measured in the same run gives the milliseconds.
Runs the baseline, the design card's floor (bench/floor/), and ours in the bench config and as deployed.
"""

from __future__ import annotations

import argparse
from collections import Counter

from common import deployed, emulator, environment, implementations, median, report, run_worker

SDK = "FaceID request: the Tencent SDK (TC3 signing, JSON) over requests/urllib3"
SDK_CLIENT = "the SDK's client, its connection pool and connection: built and closed per call"
OUR_FACEID = "ours: the FaceID client (deadline, attempts, the answer read)"
LOG = "log line (Powertools Logger, JSON, redaction) and the Logger's decorator"
METRICS = "metrics (Powertools Metrics, EMF line)"
TRACING = "tracing (Powertools Tracer, X-Ray SDK)"
VALIDATION = "request validation (Powertools' OpenAPI middleware, pydantic)"
ROUTING = "routing (Powertools resolver, event wrapper)"
HTTP_LAYER = "ours: HTTP layer (media type, caller, route body, response)"
DOMAIN = "ours: the use case (policies, the session's model)"
LEDGER = "DynamoDB: the session ledger's PutItem, the per-owner count's UpdateItem"
COMPOSITION = "ours: composition root, settings"
HANDLER = "the handler's own code"
OTHER = "other (interpreter, garbage collection)"

# (prefix of "file:function", component): the first that matches a frame names its component.
RULES = [
    ("faceid_fn/redaction.py", LOG),
    ("faceid_fn/observability.py", TRACING),
    ("faceid_fn/adapters/tencent/", OUR_FACEID),
    ("faceid_fn/adapters/aws/", LEDGER),
    ("faceid_fn/domain/", DOMAIN),
    ("faceid_fn/entrypoints/", HTTP_LAYER),
    ("faceid_fn/", COMPOSITION),
    ("floor_handler.py:record_start", LEDGER),
    ("handler.py", HANDLER),
    ("baseline_handler.py", HANDLER),
    ("floor_handler.py", HANDLER),
    ("tencentcloud/common/abstract_client.py:__init__", SDK_CLIENT),
    ("tencentcloud/common/http/request.py:__init__", SDK_CLIENT),
    ("tencentcloud/common/profile/", SDK_CLIENT),
    ("tencentcloud/common/credential.py:__init__", SDK_CLIENT),
    ("tencentcloud/", SDK),
    ("aws_lambda_powertools/logging/", LOG),
    ("aws_lambda_powertools/metrics/", METRICS),
    ("aws_lambda_powertools/tracing/", TRACING),
    ("aws_xray_sdk/", TRACING),
    ("wrapt/", TRACING),
    ("aws_lambda_powertools/event_handler/middlewares/openapi_validation.py", VALIDATION),
    ("aws_lambda_powertools/event_handler/openapi/", VALIDATION),
    ("aws_lambda_powertools/event_handler/", ROUTING),
    ("aws_lambda_powertools/utilities/data_classes/", ROUTING),
]
# The HTTP stack: its samples belong to whoever made the call, not to a tracing wrapper around it.
HTTP_STACK = ("requests/", "urllib3/", "http/", "socket.py", "ssl.py", "email/", "idna/", "charset_normalizer/")
WRAPPERS = {TRACING}
# A connection opened, or a dropped client's pool closed (the baseline's client, at the handler's return):
# the SDK's client per call, not its request or the Logger's decorator it returns through.
CONNECTION = (
    "urllib3/connection.py:connect",
    "urllib3/poolmanager.py:_new_pool",
    "urllib3/connectionpool.py:_close_pool_connections",
)
COMPONENTS = [SDK, SDK_CLIENT, OUR_FACEID, LEDGER, VALIDATION, ROUTING, HTTP_LAYER, DOMAIN, COMPOSITION, LOG,
              METRICS, TRACING, HANDLER, OTHER]  # fmt: skip
COLUMNS = {  # column: (implementation, configuration)
    "baseline": ("baseline", "bench"),
    "floor, bench config": ("floor", "bench"),
    "ours, bench config": ("ours", "bench"),
    "ours as deployed": ("ours", "deployed"),
}


def component(stack: list[str]) -> str:
    """The component a sample (its stack, innermost frame first) belongs to."""
    in_http = connecting = False
    for frame in stack:
        owner = next((name for prefix, name in RULES if frame.startswith(prefix)), None)
        if owner is None:
            in_http = in_http or frame.startswith(HTTP_STACK)
            connecting = connecting or frame.startswith(CONNECTION)
        elif not (in_http and owner in WRAPPERS):
            return SDK_CLIENT if connecting and owner in (SDK, LOG, HANDLER) else owner
    return SDK_CLIENT if connecting else OTHER


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    impls = {i.name: i for i in implementations()}
    samples: dict[str, Counter[str]] = {c: Counter() for c in COLUMNS}
    cpu_ms: dict[str, list[float]] = {c: [] for c in COLUMNS}
    with emulator() as faceid, deployed() as aws:
        faceid.control("config", {"rate_limit": 10**9})
        envs = {"bench": environment(faceid.url), "deployed": aws.env(faceid.url)}
        for _ in range(args.rounds):
            for column, (name, config) in COLUMNS.items():
                result = run_worker(impls[name], "profile", envs[config], str(args.requests))
                cpu_ms[column].append(result["cpu_s"] * 1000 / result["n"])
                for stack, count in result["stacks"]:
                    samples[column][component(stack)] += count
    per_request = {c: median(cpu_ms[c]) for c in COLUMNS}
    ms = {
        c: {k: per_request[c] * samples[c][k] / max(1, sum(samples[c].values())) for k in COMPONENTS} for c in COLUMNS
    }
    rows = [
        [k, *(f"{ms[c][k]:.3f} ({ms[c][k] / per_request[c]:.0%})" if ms[c][k] else "" for c in COLUMNS)]
        for k in COMPONENTS
        if any(ms[c][k] for c in COLUMNS)
    ]
    rows.append(["**CPU per request** (under the sampler)", *(f"{per_request[c]:.3f}" for c in COLUMNS)])
    rows.append(["samples", *(str(sum(samples[c].values())) for c in COLUMNS)])
    report(
        "warm_profile",
        f"Where the warm CPU goes: ms per request (share), {args.requests} requests x {args.rounds} rounds",
        ["component", *COLUMNS],
        rows,
        {"cpu_ms": cpu_ms, "samples": {c: dict(samples[c]) for c in COLUMNS}, "ms": ms},
    )


if __name__ == "__main__":
    main()
