"""The soak's stand-in for Lambda (and API Gateway's Lambda integration): instances, invocations, retries.

What it does as Lambda documents it:
- An instance is a process (bench/soak_instance.py) that imports the handler once and serves one invocation
  at a time; a function gets a new instance (a cold start) when all of its instances are busy, up to its
  concurrency; an instance that crashed or timed out is replaced by a new one on the next invocation.
- Synchronous invocations (API Gateway): the handler's answer, or, when the invocation failed (raised,
  crashed, timed out), API Gateway's `500 {"message": "Internal Server Error"}`.
- Asynchronous invocations (uploads, sweep runs, webhook deliveries): a failed attempt is retried twice
  (`maximumRetryAttempts`), the first retry a minute after the failure and the second two minutes after the
  first retry (scaled by `time_scale` in the quick form); then the invocation goes to the function's
  on-failure destination (an SQS queue on moto) as Lambda's record (`requestContext`, `requestPayload`,
  `responseContext`, `responsePayload`); a success goes to the on-success destination likewise.
- Lambda's Invoke API for `InvocationType=Event` on 127.0.0.1 (what tools/redrive.py calls): 202, then the
  invocation runs as above.
What it does not do: Lambda's throttling (an invocation waits for a free instance instead), its event
queue's age limit, and freezing idle instances.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from soak_stack import ROOT, Function

INSTANCE = Path(__file__).resolve().parent / "soak_instance.py"
BACKOFF_S = (60.0, 120.0)  # Lambda's waits before the first and the second retry


@dataclass
class Outcome:
    """One attempt: ok (the handler answered), error (it raised), crash (the process died), timeout."""

    kind: str
    started: float
    ended: float
    cold: bool
    result: Any = None
    error: dict[str, Any] | None = None
    killed: bool = False  # by the soak's fault, mid-invocation

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class Instance:
    def __init__(self, function: Function, env: dict[str, str], log: Path) -> None:
        self.function = function
        self.process = subprocess.Popen(
            [sys.executable, str(INSTANCE), str(ROOT), function.handler, str(log)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            text=True,
        )
        self.busy_since: float | None = None
        self.busy_kind: str | None = None
        self.busy_request: str | None = None
        self.killed = False
        self.generation = 0  # the configuration it was started with (Pool.redeploy)
        self.function_cpu = 0.0  # its CPU time when it was stopped

    def ready(self, timeout_s: float = 120.0) -> None:
        line = self._line(timeout_s)
        if not line or not json.loads(line).get("ready"):
            raise RuntimeError(f"instance of {self.function.name} did not start (see its log)")

    def _line(self, timeout_s: float) -> str | None:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        return self.process.stdout.readline() if readable else None

    def invoke(self, event: Any, request_id: str, kind: str, cold: bool) -> Outcome:
        assert self.process.stdin is not None
        started = time.time()
        self.busy_since, self.busy_kind, self.busy_request = time.monotonic(), kind, request_id
        try:
            timeout_s = self.function.timeout_s
            self.process.stdin.write(json.dumps({"event": event, "request_id": request_id, "timeout_s": timeout_s}))
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            line = self._line(timeout_s + 1.0)
        except (BrokenPipeError, ValueError, OSError):
            line = ""
        finally:
            self.busy_since = self.busy_kind = self.busy_request = None
        ended = time.time()
        if line is None:  # Lambda ends an invocation at the function's timeout, and the instance with it
            self.stop()
            return Outcome("timeout", started, ended, cold, error={"errorType": "Sandbox.Timedout"})
        if not line:
            return Outcome("crash", started, ended, cold, error={"errorType": "Runtime.ExitError"}, killed=self.killed)
        answer = json.loads(line)
        if "error" in answer:
            return Outcome("error", started, ended, cold, error=answer["error"])
        return Outcome("ok", started, ended, cold, result=answer["result"])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the instance so far (Linux /proc; 0 once it has exited)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.function_cpu = self.cpu_seconds()
            self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a killed process's pipe: nothing left to flush to
                    stream.close()


class Pool:
    """A function's instances: an idle one serves the next invocation, else a new one is started."""

    def __init__(self, function: Function, env: dict[str, str], logs: Path, concurrency: int) -> None:
        self.function = function
        self.env = {**env, "AWS_LAMBDA_FUNCTION_NAME": function.deployed_name}
        self.logs = logs
        self.concurrency = concurrency
        self.instances: list[Instance] = []
        self.idle: list[Instance] = []
        self.cold_starts = 0  # instances started for an invocation that found none idle
        self.started = 0  # every instance, those started before the load included
        self.stopped_cpu_s = 0.0  # CPU time of the instances stopped so far (crashed ones excluded)
        self._generation = 0
        self._count = itertools.count()
        self._condition = threading.Condition()

    def _new(self) -> Instance:
        self.started += 1
        log = self.logs / f"{self.function.name}-{next(self._count)}.log"
        instance = Instance(self.function, self.env, log)
        instance.generation = self._generation
        return instance

    def warm(self, count: int, warm_ups: list[Any]) -> None:
        """`count` instances started before the load, each having served `warm_ups` (events that load what a
        busy instance has loaded: boto3's clients, the idempotency layer), as instances in steady traffic have."""
        started = [self._new() for _ in range(count)]
        for instance in started:
            instance.ready()
            for event in warm_ups:
                instance.invoke(event, f"warm-up-{uuid.uuid4().hex[:8]}", "warm-up", cold=False)
        with self._condition:
            self.instances += started
            self.idle += started

    def invoke(self, event: Any, request_id: str, kind: str) -> Outcome:
        instance, cold = self._acquire()
        if cold:
            try:
                instance.ready()
            except RuntimeError:
                self._release(instance)
                now = time.time()
                return Outcome("crash", now, now, True, error={"errorType": "Runtime.InitError"})
        outcome = instance.invoke(event, request_id, kind, cold)
        self._release(instance)
        return outcome

    def _acquire(self) -> tuple[Instance, bool]:
        with self._condition:
            while True:
                while self.idle:
                    instance = self.idle.pop()
                    if instance.alive:
                        return instance, False
                    self.instances.remove(instance)
                if len(self.instances) < self.concurrency:
                    instance = self._new()
                    self.instances.append(instance)
                    self.cold_starts += 1
                    return instance, True
                self._condition.wait()

    def redeploy(self, env: dict[str, str]) -> None:
        """A new configuration (as `osls deploy` would make): instances started from now on get `env`; idle
        ones stop, busy ones stop after their invocation."""
        with self._condition:
            self.env = {**self.env, **env}
            self._generation += 1
            for instance in self.idle:
                instance.stop()
                self.stopped_cpu_s += instance.function_cpu
                self.instances.remove(instance)
            self.idle.clear()

    def _release(self, instance: Instance) -> None:
        with self._condition:
            if instance.alive and instance.generation == self._generation:
                self.idle.append(instance)
            else:
                instance.stop()
                self.stopped_cpu_s += instance.function_cpu
                self.instances.remove(instance)
            self._condition.notify()

    def stop(self) -> None:
        with self._condition:
            for instance in self.instances:
                instance.stop()
            self.instances.clear()
            self.idle.clear()


@dataclass
class AsyncInvocation:
    function: str
    kind: str  # upload, sweep, delivery
    event: Any
    request_id: str
    queued: float
    attempts: list[Outcome] = field(default_factory=list)
    final: str | None = None  # success, on-failure
    on_success: Callable[[Outcome], None] | None = None  # what the on-success destination's consumer does


class Lambda:
    def __init__(
        self,
        functions: dict[str, Function],
        env: dict[str, str],
        overrides: dict[str, str],
        logs: Path,
        sqs: Any,
        queues: dict[str, str],
        *,
        concurrency: int = 50,
        time_scale: float = 1.0,
    ) -> None:
        self.functions = functions
        # provider.environment, the function's own over it, then what the harness points at its stand-ins
        self.pools = {
            name: Pool(f, {**env, **f.environment, **overrides}, logs, concurrency) for name, f in functions.items()
        }
        self.sqs = sqs
        self.queues = queues
        self.time_scale = time_scale
        self.invocations: list[AsyncInvocation] = []
        self._heap: list[tuple[float, int, AsyncInvocation]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        # Each function's asynchronous invocations have their own queue and concurrency, as on Lambda: a
        # backlog of webhook deliveries does not hold back the sweep.
        self._workers = {
            name: ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"async-{name}") for name in functions
        }
        self._running = 0
        self._stopped = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="async-dispatch", daemon=True)
        self._dispatcher.start()

    def by_trigger(self, trigger: str) -> str:
        return next(name for name, f in self.functions.items() if trigger in f.triggers)

    def by_name(self, name: str) -> str | None:
        """A function by its key, deployed name or ARN (qualified or not)."""
        for key, function in self.functions.items():
            if name in (key, function.deployed_name) or name.startswith(function.arn):
                return key
        return None

    def invoke(self, function: str, event: Any, kind: str, request_id: str | None = None) -> Outcome:
        """A synchronous invocation."""
        return self.pools[function].invoke(event, request_id or str(uuid.uuid4()), kind)

    def invoke_async(
        self, function: str, event: Any, kind: str, on_success: Callable[[Outcome], None] | None = None
    ) -> AsyncInvocation:
        invocation = AsyncInvocation(function, kind, event, str(uuid.uuid4()), time.time(), on_success=on_success)
        with self._condition:
            self.invocations.append(invocation)
            heapq.heappush(self._heap, (time.monotonic(), next(self._sequence), invocation))
            self._condition.notify()
        return invocation

    def pending(self) -> int:
        """Asynchronous invocations not yet finished (queued, waiting for a retry, or running)."""
        with self._condition:
            return len(self._heap) + self._running

    def _dispatch(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._condition.wait(timeout=None if not self._heap else self._heap[0][0] - time.monotonic())
                if self._stopped:
                    return
                _, _, invocation = heapq.heappop(self._heap)
                self._running += 1
            self._workers[invocation.function].submit(self._attempt, invocation)

    def _attempt(self, invocation: AsyncInvocation) -> None:
        try:
            try:
                outcome = self.pools[invocation.function].invoke(
                    invocation.event, invocation.request_id, invocation.kind
                )
            except Exception as exc:  # the harness's own failure: an attempt that failed, retried as any other
                now = time.time()
                outcome = Outcome("crash", now, now, False, error={"errorType": f"Harness.{type(exc).__name__}"})
            invocation.attempts.append(outcome)
            function = self.functions[invocation.function]
            if outcome.kind == "ok":
                invocation.final = "success"
                self._destination(function.on_success, invocation, outcome, "Success")
                if invocation.on_success is not None:
                    invocation.on_success(outcome)
            elif len(invocation.attempts) <= function.retries:
                wait = BACKOFF_S[min(len(invocation.attempts), len(BACKOFF_S)) - 1] * self.time_scale
                with self._condition:
                    heapq.heappush(self._heap, (time.monotonic() + wait, next(self._sequence), invocation))
                    self._condition.notify()
            else:
                invocation.final = "on-failure"
                self._destination(function.on_failure, invocation, outcome, "RetriesExhausted")
        finally:
            with self._condition:
                self._running -= 1

    def _destination(self, queue: str | None, invocation: AsyncInvocation, outcome: Outcome, condition: str) -> None:
        """Lambda's destination record, sent to the queue."""
        if queue is None:
            return
        function = self.functions[invocation.function]
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome.kind != "ok":
            response["functionError"] = "Unhandled"
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{function.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": len(invocation.attempts),
            },
            "requestPayload": invocation.event,
            "responseContext": response,
            "responsePayload": outcome.result if outcome.kind == "ok" else outcome.error,
        }
        for attempt in range(5):  # the soak's own client against moto: a transient error is not the function's
            try:
                self.sqs.send_message(QueueUrl=self.queues[queue], MessageBody=json.dumps(record, default=str))
                return
            except Exception:
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"could not send a destination record to {queue}")

    def kill_busy(self, kinds: tuple[str, ...], min_busy_s: float) -> dict[str, Any] | None:
        """Kill (SIGKILL) an instance that has been serving one of `kinds` for at least `min_busy_s`."""
        now = time.monotonic()
        for pool in self.pools.values():
            for instance in list(pool.instances):
                since, kind, request = instance.busy_since, instance.busy_kind, instance.busy_request
                if since is not None and kind in kinds and now - since >= min_busy_s and instance.alive:
                    instance.killed = True
                    instance.process.kill()
                    return {"kind": kind, "request_id": request, "busy_s": round(now - since, 3), "at": time.time()}
        return None

    def serve_api(self) -> ThreadingHTTPServer:
        """Lambda's Invoke API (asynchronous invocations only) on 127.0.0.1, in a thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _InvokeHandler)
        server.daemon_threads = True
        server.lambda_ = self  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, name="lambda-api", daemon=True).start()
        return server

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        for workers in self._workers.values():
            workers.shutdown(wait=False, cancel_futures=True)
        for pool in self.pools.values():
            pool.stop()


class _InvokeHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def do_POST(self) -> None:
        lambda_: Lambda = self.server.lambda_  # type: ignore[attr-defined]
        parts = self.path.split("/")  # /2015-03-31/functions/<name>/invocations
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        function = lambda_.by_name(unquote(parts[3])) if len(parts) == 5 and parts[4] == "invocations" else None
        if function is None or self.headers.get("X-Amz-Invocation-Type") != "Event":
            self._answer(404 if function is None else 400, {"Type": "User", "message": "not supported here"})
            return
        event = json.loads(payload or b"{}")
        lambda_.invoke_async(function, event, f"redrive-{payload_kind(event)}")
        self._answer(202, None)

    def _answer(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def payload_kind(payload: dict[str, Any]) -> str:
    """Which trigger an asynchronous invocation's event comes from: upload, delivery, sweep (or unknown)."""
    if "Records" in payload:
        return "upload"
    return {"faceid-fn": "delivery", "aws.events": "sweep"}.get(str(payload.get("source")), "unknown")


def api_gateway_answer(outcome: Outcome) -> dict[str, Any]:
    """What API Gateway's Lambda proxy integration answers the caller for one invocation."""
    result = outcome.result
    if outcome.kind == "ok" and isinstance(result, dict) and "statusCode" in result:
        return result
    return {
        "statusCode": 500,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": "Internal Server Error"}),
    }
