"""One botocore configuration for every AWS (and COS S3-compatible) client the function builds.

botocore waits 60 s per connect and per read by default, with retries: longer than the function's
own budgets (FACEID_TIMEOUT_S, the 25 s Lambda timeout). Every client here gives up within seconds,
so a stalled store becomes a defined error instead of a Lambda timeout. botocore is imported on use.
"""

from __future__ import annotations

from typing import Any

CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5
MAX_ATTEMPTS = 2


def bounded_config(**extra: Any) -> Any:
    """A botocore Config with short timeouts and at most MAX_ATTEMPTS attempts (standard retry mode)."""
    from botocore.config import Config

    from faceid_fn.observability import trace_aws_clients

    trace_aws_clients()  # X-Ray subsegments for AWS calls, patched on first use (not at cold start)
    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        **extra,
    )
