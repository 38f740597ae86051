"""The bounds of every AWS client the function builds (and of COS, through its S3-compatible API), and how
their failures read. botocore is imported on use."""

from __future__ import annotations

from typing import Any

# botocore waits 60 s per connect and per read by default, with retries: longer than the function's own
# budgets (FACEID_TIMEOUT_S, the 25 s Lambda timeout). These give up within seconds, so that a stalled
# store becomes a defined error instead of a Lambda timeout:
# - a connection to an AWS endpoint in the function's own region opens in milliseconds, or not at all;
CONNECT_TIMEOUT_S = 2
# - DynamoDB, EventBridge and S3 answer the calls made here (single items, one event, one photo) well
#   within this;
READ_TIMEOUT_S = 5
# - one retry (standard mode: throttling, 5xx, failed connections): two attempts of boto3's clients end
#   within 2 x (2 + 5) s, under the Lambda timeout with FACEID_TIMEOUT_S still to come.
MAX_ATTEMPTS = 2
# The thin DynamoDB client of the ledger and the pacer retries as boto3's standard mode does by default
# (three attempts): a burst's writes to one table are throttled together, and its back-off is short (at
# most 150 ms in all) while a read timeout is never retried, so a third attempt costs one more connect.
DYNAMODB_MAX_ATTEMPTS = 3


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


def store_errors() -> tuple[type[Exception], ...]:
    """What a failed AWS call raises (botocore's, from boto3 or the thin DynamoDB client). Used as an
    `except` expression, which Python evaluates only when an exception is raised: a call that succeeds does
    not import botocore."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def error_code(exc: Any) -> str:
    """The AWS error code of a failed call (`ThrottlingException`...), else the exception's type name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__
