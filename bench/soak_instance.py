"""One Lambda instance of the soak: a process that imports the function's handler once (its cold start), then
answers one invocation at a time, as Lambda's runtime does.

    python bench/soak_instance.py <repository root> <handler, e.g. handler.handler> <log file>

Reads one JSON line per invocation on stdin: {"event", "request_id", "timeout_s"}; writes one JSON line per
answer on its own copy of stdout: {"result": ...} or, when the handler raised, {"error": {"errorType",
"errorMessage"}} (Lambda's function error). What the function writes to stdout (its log lines, its EMF
metrics) goes to the log file, as Lambda sends it to CloudWatch Logs.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from datetime import datetime, timedelta, tzinfo

# The quick form's compressed time (bench/soak.py): the sweep function's clock runs this many seconds ahead,
CLOCK_AHEAD = "SOAK_SWEEP_CLOCK_AHEAD_S"
# and an intl BizToken lives this many seconds (the emulator's tokens as long: FaceID's clock and the
# function's moved together), instead of FaceID's 10 minutes.
TOKEN_LIFE = "SOAK_TOKEN_LIFE_S"


class Context:
    """The attributes of Lambda's context object that the function reads."""

    memory_limit_in_mb = 256

    def __init__(self, function_name: str, request_id: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-1:123456789012:function:{function_name}"
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sweep_clock_ahead(seconds: float) -> None:
    """The sweep reads its clock as `datetime.now`: ahead, its first look at a session (a minute after the
    start) and its next looks come `seconds` sooner, as the harness scales Lambda's retry back-offs. Only the
    sweep's module is given this clock; what it writes to the ledger is read the same way."""
    from faceid_fn.entrypoints import sweep

    class Ahead(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=seconds)

    sweep.datetime = Ahead  # type: ignore[misc]


def token_life(seconds: float) -> None:
    """The function's idea of an intl BizToken's life (the ExpiresAt a start answers and the ledger's
    TokenExpiresAt, from which the sweep's looks follow): `seconds`, as long as the emulator's tokens live."""
    from dataclasses import replace

    from faceid_fn.domain.flows import FLOWS

    FLOWS["intl"] = replace(FLOWS["intl"], token_ttl=timedelta(seconds=seconds))


def main() -> None:
    root, spec, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    os.dup2(log.fileno(), 1)  # the function's stdout (Powertools' log lines and metrics) goes to the log
    sys.stdout = log
    sys.path.insert(0, root)
    module_name, _, attribute = spec.rpartition(".")
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), attribute)
    if life := float(os.environ.get(TOKEN_LIFE, "0")):
        token_life(life)
    if ahead := float(os.environ.get(CLOCK_AHEAD, "0")):
        sweep_clock_ahead(ahead)
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "faceid-fn")
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        context = Context(function_name, request["request_id"], request["timeout_s"])
        try:
            answer: dict[str, object] = {"result": handler(request["event"], context)}
        except Exception as exc:  # Lambda reports it as the invocation's function error
            answer = {"error": {"errorType": type(exc).__name__, "errorMessage": str(exc)[:2000]}}
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
