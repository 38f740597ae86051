"""Soak: the function at FaceID's full rate for MINUTES, under a schedule of faults, then every session
accounted for from the stores.

    python bench/soak.py --minutes 10   # make soak MINUTES=10 (the default)
    python bench/soak.py --quick        # 15 s of load, time compressed: what the test suite runs

What is AWS and what is the harness playing it (docs/bench.md, "Soak"): the function's code is the handler,
unchanged, in one process per Lambda instance (bench/soak_instance.py); DynamoDB, EventBridge, SQS and S3 are
moto on 127.0.0.1 (the tables, bus, rule and queues read from serverless.yml), with a fault-injecting
proxy in front of DynamoDB and EventBridge (bench/soak_proxy.py); FaceID is the emulator (local/emulator/)
and COS is moto's S3; the webhook receiver is bench/soak_receiver.py. The harness plays Lambda (instances,
synchronous invocations for API Gateway, asynchronous ones with Lambda's retries and destinations:
bench/soak_lambda.py), EventBridge's rule (each event the rule puts on its queue is handed to the delivery
function asynchronously) and schedule (the sweep every minute), the callers, uploaders, people and owners
(bench/soak_load.py). Writes bench/results/soak.json, soak.md and soak.png; exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from common import RESULTS, SECRET_ID, SECRET_KEY, STATE, free_port, wait_for
from soak_account import Harness, Stores, account, faults
from soak_instance import CLOCK_AHEAD
from soak_lambda import Lambda
from soak_load import COS_APPID, COS_BUCKET, Load, Profile, scheduled_event
from soak_report import latency, latency_windows, markdown, per_second, plot
from soak_stack import REGION, ROOT, Stack, create

sys.path.append(str(ROOT))  # local/ (the sample photo)
PYTHON = sys.executable
HELPERS: dict[str, int] = {}  # helper process name -> pid (their CPU time goes into the report)
AWS = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
EVERY_FAULT = (
    "faceid_5xx",
    "faceid_timeout",
    "faceid_throttle",
    "faceid_reset",
    "dynamodb_throttle",
    "dynamodb_5xx",
    "putevents_5xx",
    "putevents_failed_entry",
    "webhook_500",
    "webhook_hang",
    "webhook_down",
    "instance_killed",
)
# The sweep's settings in the drain (docs/operations.md, "Alarms and runbook": a backlog): the most it reads.
DRAIN_SWEEP = {"SWEEP_MAX_SESSIONS": "1000", "SWEEP_RPS": "19"}
# Which invocation an instance_kill fault kills, and how long it must have been running.
KILLS = (("http-start", 0.05), ("upload", 0.05), ("delivery", 0.0), ("sweep", 0.005))


def fault_plan(load_s: float, quick: bool) -> list[dict[str, Any]]:
    """When each fault is injected (seconds into the load). One cycle in the quick form, one every two
    minutes over a longer run; the receiver is down once, for two minutes (6 s in the quick form)."""
    cycle: list[tuple[float, str, dict[str, Any]]] = [
        (0.05, "faceid_throttle", {"code": "RequestLimitExceeded", "count": 25}),
        (0.10, "faceid_5xx", {"http_status": 503, "body": "<html>503 Service Unavailable</html>", "count": 4}),
        (0.15, "dynamodb_throttle", {"seconds": 2.0, "ratio": 0.5}),
        (0.20, "webhook_500", {"count": 6}),
        (0.25, "faceid_reset", {"reset": True, "count": 3}),
        (0.30, "putevents_5xx", {"count": 6}),  # the next six PutEvents calls, whenever they come
        (0.35, "instance_kill", {"kill": 0}),
        (0.40, "faceid_timeout", {"latency_ms": 9000, "count": 2}),
        (0.45, "dynamodb_5xx", {"seconds": 2.0, "ratio": 0.5}),
        (0.50, "putevents_failed_entry", {"count": 6}),
        (0.55, "instance_kill", {"kill": 1}),
        (0.60, "webhook_hang", {"count": 1, "seconds": 12.0}),
        (0.70, "instance_kill", {"kill": 2}),
        (0.80, "instance_kill", {"kill": 3}),
    ]
    period = load_s if quick else 120.0
    plan = []
    for n in range(max(1, int(load_s // period))):
        for share, name, options in cycle:
            plan.append({"at": n * period + share * period, "name": name, **options})
    plan.append({"at": load_s * (0.62 if quick else 0.4), "name": "webhook_down", "seconds": 6.0 if quick else 120.0})
    return sorted(plan, key=lambda f: f["at"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process still running (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str] | None = None, announce: bool = False) -> Iterator[Any]:
    """A helper process (its stderr to the soak's log directory); `announce`: it prints its ports as JSON."""
    name = command[2] if command[1] == "-m" else Path(command[1]).stem
    log = (STATE / "soak" / f"{name}.log").open("ab")
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE if announce else subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    HELPERS[name] = child.pid
    try:
        yield json.loads(child.stdout.readline()) if announce and child.stdout else child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.load_s = args.seconds if args.seconds else args.minutes * 60
        self.sweep_every = 4.0 if self.quick else 60.0
        self.stop = threading.Event()
        self.fault_log: list[dict[str, Any]] = []
        self.kills: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.bus_events: list[dict[str, Any]] = []  # every event the completion rule put on the audit queue
        self.on_success: Counter[str] = Counter()  # the on-success destination's records, by kind
        self.t0 = time.time()

    # -- the stack -----------------------------------------------------------------------------------

    def run(self) -> int:
        shutil.rmtree(STATE / "soak", ignore_errors=True)
        (STATE / "soak" / "logs").mkdir(parents=True)
        RESULTS.mkdir(exist_ok=True)
        moto_port = free_port()
        moto = f"http://127.0.0.1:{moto_port}"
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        with contextlib.ExitStack() as stack:
            stack.enter_context(process([PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)]))
            wait_for(f"{moto}/moto-api/", attempts=400)
            proxy_port = stack.enter_context(
                process([PYTHON, "bench/soak_proxy.py", "--upstream", moto], announce=True)
            )
            emulator_port = free_port()
            stack.enter_context(process([PYTHON, "-m", "local.emulator", "--port", str(emulator_port)]))
            self.emulator = f"http://127.0.0.1:{emulator_port}"
            wait_for(f"{self.emulator}/__emulator__/health", attempts=400)
            ports = stack.enter_context(process([PYTHON, "bench/soak_receiver.py"], {"WEBHOOK_SECRET": secret}, True))
            self.proxy = f"http://127.0.0.1:{proxy_port['port']}"
            self.receiver = f"http://127.0.0.1:{ports['control']}"
            return self._run(moto, secret, f"http://127.0.0.1:{ports['port']}/webhooks")
        return 1

    @staticmethod
    def _clients(moto: str) -> Any:
        """boto3 clients of the harness itself, straight to moto (not through the fault proxy)."""

        def client(service: str, region: str = REGION, config: Config | None = None) -> Any:
            config = (config or Config()).merge(Config(retries={"max_attempts": 5}))
            return boto3.client(
                service,
                endpoint_url=moto,
                region_name=region,
                aws_access_key_id="soak",
                aws_secret_access_key="soak",  # noqa: S106 - moto's, on loopback
                config=config,
            )

        return client

    def _run(self, moto: str, secret: str, webhook_url: str) -> int:
        client = self._clients(moto)
        declared = Stack()
        self.created = create(declared, client)
        self.dynamodb, self.sqs = client("dynamodb"), client("sqs")
        cos = client("s3", "ap-singapore", Config(s3={"addressing_style": "path"}))
        cos.create_bucket(
            Bucket=f"{COS_BUCKET}-{COS_APPID}", CreateBucketConfiguration={"LocationConstraint": "ap-singapore"}
        )
        self.index = self._pending_index(declared)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            **declared.environment(),
        }
        overrides = {
            **AWS,
            "AWS_ENDPOINT_URL_DYNAMODB": self.proxy,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.proxy,
            "AWS_ENDPOINT_URL_S3": moto,
            "TENCENTCLOUD_SECRET_ID": SECRET_ID,
            "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
            "FACEID_CREDENTIALS_SECRET": "",
            "FACEID_ENDPOINT": self.emulator,
            "COS_ENDPOINT": moto,
            "FACEID_COS_BUCKETS": f"{COS_BUCKET}-{COS_APPID}",
            "WEBHOOK_URL": webhook_url,
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_SECRET_NAME": "",
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            "AUTH_REQUIRED": "true",
        }
        functions = declared.functions()
        self.lam = Lambda(
            functions,
            env,
            overrides,
            STATE / "soak" / "logs",
            self.sqs,
            self.created.queues,
            concurrency=self.args.concurrency,
            time_scale=0.05 if self.quick else 1.0,
        )
        try:
            api = self.lam.serve_api()
            self.lambda_api = f"http://127.0.0.1:{api.server_address[1]}"
            from local.sample_photo import png  # from the repository root, on sys.path above

            photo = png(64, 64)
            profile = Profile(rate=self.args.rate)
            if self.quick:
                profile.finish_s = (1.0, 6.0)
            self.load = Load(
                self.lam,
                emulator=self.emulator,
                s3=client("s3"),
                cos=cos,
                upload_bucket=self.created.upload_bucket,
                photo=photo,
                photo_md5=hashlib.md5(photo, usedforsecurity=False).hexdigest(),
                profile=profile,
            )
            if self.quick:  # the first look a minute after a start comes 10 s after it (bench/soak_instance.py)
                self.lam.pools[self.lam.by_trigger("sweep")].redeploy({CLOCK_AHEAD: "50"})
            http = self.lam.by_trigger("http")
            self.lam.pools[http].warm(self.args.warm, self.load.warm_ups(0))
            for trigger in ("delivery", "sweep"):  # their own functions (when serverless.yml splits them)
                if (function := self.lam.by_trigger(trigger)) != http:
                    self.lam.pools[function].warm(2, [])
            return self._soak()
        finally:
            self.stop.set()
            self.lam.stop()

    def _readme(self, table: str, report: dict[str, Any]) -> None:
        readme = ROOT / "bench" / "README.md"
        text = readme.read_text()
        stamp = datetime.fromtimestamp(self.t0, UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = f"make soak MINUTES={self.load_s / 60:g}"
        load = max((row.get("load_average", 0) for row in report["timeline"]["samples"]), default=0)
        header = f"_Last run: {stamp}, `{command}`, {os.cpu_count()} cores shared (load average up to {load:.1f})._"
        figure = "![Starts per second, latency, faults and the sweep's backlog over the run](soak.png)"
        block = f"{README_START}\n{header}\n\n{figure}\n\n{table}{README_END}"
        readme.write_text(text[: text.index(README_START)] + block + text[text.index(README_END) + len(README_END) :])

    def _pending_index(self, declared: Stack) -> dict[str, str]:
        """The sweep's sparse index as serverless.yml declares it: its name and key attributes."""
        table = declared.tables()["SessionsTable"]
        index = table["GlobalSecondaryIndexes"][0]
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        return {
            "table": self.created.tables["SessionsTable"],
            "name": index["IndexName"],
            "partition": keys["HASH"],
            "sort": keys["RANGE"],
        }

    # -- the run ---------------------------------------------------------------------------------------

    def _soak(self) -> int:
        print(f"soak: stack up and instances warm in {time.time() - self.t0:.0f} s", flush=True)
        self.t0 = time.time()
        on_success = self.created.queues[self.lam.functions[self.lam.by_trigger("uploads")].on_success or ""]
        consumers = {
            "rule": (self.created.delivery_queue, self._rule),
            "audit": (self.created.audit_queue, self.bus_events.append),  # every event put on the bus
            "on-success": (on_success, lambda record: self.on_success.update([_kind(record["requestPayload"])])),
        }
        threads = [
            *(threading.Thread(target=self._consume, args=c, name=name, daemon=True) for name, c in consumers.items()),
            threading.Thread(target=self._schedule, name="schedule", daemon=True),
            threading.Thread(target=self._sample, name="sample", daemon=True),
            threading.Thread(target=self._faults, name="faults", daemon=True),
        ]
        for thread in threads:
            thread.start()
        print(f"soak: {self.load_s:.0f} s of load at {self.args.rate:g} starts/s", flush=True)
        self.load.run(self.load_s)
        self.load_ended = time.time()
        print("soak: load done, draining", flush=True)
        self._drain(deadline_s=110.0 if self.quick else 900.0)
        redrive = self._redrive()
        self._drain(deadline_s=40.0 if self.quick else 300.0, age=False)
        while self._queued(self.created.audit_queue):  # its consumer reads the last events
            time.sleep(1.0)
        self.stop.set()
        time.sleep(2.5)
        return self._report(redrive)

    def _queued(self, queue: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        return sum(int(attributes[name]) for name in names)

    def _consume(self, queue: str, handle: Any) -> None:
        """Read a queue as long as the soak runs, each message to `handle`, then deleted. Moto's queues take
        time in proportion to what they hold to take a message: every queue that fills is read along."""
        while not self.stop.is_set():
            try:
                messages = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []
                )
                for message in messages:
                    handle(json.loads(message["Body"]))
                if messages:
                    self.sqs.delete_message_batch(
                        QueueUrl=queue,
                        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
                    )
            except Exception as exc:  # moto busy: the next round reads them
                print(f"soak: queue not read: {type(exc).__name__}: {exc}", flush=True)
                time.sleep(0.5)

    def _rule(self, event: dict[str, Any]) -> None:
        """EventBridge's rule: each completion event is handed to the delivery function asynchronously."""
        self.lam.invoke_async(self.lam.by_trigger("delivery"), event, "delivery")

    def _schedule(self) -> None:
        """EventBridge's schedule: the sweep every minute (every few seconds in the quick form)."""
        function = self.lam.by_trigger("sweep")
        while not self.stop.wait(self.sweep_every):
            if getattr(self, "load_ended", None) is None:
                self.lam.invoke_async(function, scheduled_event(), "sweep")

    def _faults(self) -> None:
        for fault in fault_plan(self.load_s, self.quick):
            delay = self.t0 + fault["at"] - time.time()
            if self.stop.wait(max(0.0, delay)):
                return
            try:
                self._inject(dict(fault))
            except Exception as exc:
                print(f"soak: fault {fault['name']} not injected: {exc}", flush=True)

    def _inject(self, fault: dict[str, Any]) -> None:
        name = fault.pop("name")
        at = fault.pop("at")
        entry = {"t": round(time.time() - self.t0, 2), "name": name, "planned_at": at}
        if name.startswith("faceid_"):
            post(f"{self.emulator}/__emulator__/faults", fault)
            entry["seconds"] = fault.get("latency_ms", 0) / 1000
        elif name.startswith(("dynamodb_", "putevents_")):
            post(f"{self.proxy}/__proxy__/fault", {"name": name, **fault})
            entry["seconds"] = fault.get("seconds", 0)
        elif name == "webhook_500":
            post(f"{self.receiver}/fail", {"count": fault["count"], "status": 500})
        elif name == "webhook_hang":
            post(f"{self.receiver}/hang", fault)
            entry["seconds"] = fault["seconds"]
        elif name == "webhook_down":
            post(f"{self.receiver}/down", fault)
            entry["seconds"] = fault["seconds"]
        elif name == "instance_kill":
            kind, min_busy = KILLS[fault["kill"]]
            deadline = time.time() + (20 if self.quick else 60)
            while time.time() < deadline and not self.stop.is_set():
                killed = self.lam.kill_busy((kind,), min_busy)
                if killed:
                    self.kills.append(killed)
                    entry["name"] = f"instance_kill ({kind})"
                    entry["t"] = round(killed["at"] - self.t0, 2)
                    break
                time.sleep(0.003)
            else:
                entry["name"] = f"instance_kill ({kind}): no invocation in flight"
        self.fault_log.append(entry)

    def _sample(self) -> None:
        every = 1.0 if self.quick else 10.0  # each sample scans the index on moto
        while not self.stop.wait(every):
            try:
                total, due = self._index_counts()
            except Exception as exc:  # moto busy: this sample is skipped, the next one comes
                print(f"soak: backlog not sampled: {type(exc).__name__}", flush=True)
                continue
            self.samples.append(
                {
                    "t": round(time.time() - self.t0, 1),
                    "index": total,
                    "due": due,
                    "async_pending": self.lam.pending(),
                    "instances": sum(len(p.instances) for p in self.lam.pools.values()),
                    "moto_cpu_s": round(cpu_seconds(HELPERS.get("moto.server", 0)), 1),
                    "load_average": os.getloadavg()[0],  # the machine's, other users' work included
                }
            )

    def _index_counts(self) -> tuple[int, int]:
        """Sessions in the sweep's index, and those due, read from DynamoDB (moto) directly."""
        now = int(time.time())
        total = due = 0
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.index["table"],
            IndexName=self.index["name"],
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": self.index["sort"]},
        )
        for page in pages:
            for item in page.get("Items", []):
                total += 1
                due += int(item.get(self.index["sort"], {}).get("N", now + 1)) <= now
        return total, due

    def _index_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.index["table"], IndexName=self.index["name"]
        ):
            items += page.get("Items", [])
        return items

    # -- the end -----------------------------------------------------------------------------------------

    def _unsettled(self) -> str:
        """What is left to do ("" when nothing): an asynchronous invocation other than a sweep pending, an
        event on the rule's queue, a person still to act, or a session in the sweep's index that FaceID calls
        final (or that is claimed and waits for its event)."""
        if self.load.scheduled():
            return f"{self.load.scheduled()} people's actions to come"
        running = [i.kind for i in self.lam.invocations if i.final is None and i.kind != "sweep"]
        if running:
            return f"asynchronous invocations pending: {dict(Counter(running))}"
        if self._queued(self.created.delivery_queue):
            return "events on the rule's queue"
        final = {
            s["BizToken"] for s in get(f"{self.emulator}/__emulator__/sessions") if s["ErrorCode"] not in (None, 17)
        }
        waiting = [
            item["BizToken"]["S"]
            for item in self._index_items()
            if item.get("Status", {}).get("S") != "pending" or item["BizToken"]["S"] in final
        ]
        return f"{len(waiting)} final sessions in the sweep's index" if waiting else ""

    def _drain(self, deadline_s: float, age: bool = True) -> None:
        """After the load: the people finish what they planned, FaceID's clock moves past every token's
        life (sessions never finished read `expired`), and the sweep runs back to back (as `make sweep` would)
        until every final session is announced and delivered."""
        deadline = time.time() + deadline_s
        while self.load.scheduled() and time.time() < deadline:
            time.sleep(0.5)
        function = self.lam.by_trigger("sweep")
        if age:
            post(f"{self.emulator}/__emulator__/config", {"age_sessions_s": 700})
            # The runbook's answer to a sweep backlog: the sweep redeployed to read more, run back to back.
            # In the quick form its clock runs two minutes ahead there: every session's next look is due.
            self.lam.pools[function].redeploy({**DRAIN_SWEEP, CLOCK_AHEAD: "120"} if self.quick else DRAIN_SWEEP)
        left, at_deadline, last, swept = "not looked at yet", "", deadline + 2 * deadline_s, False
        while True:
            if time.time() >= deadline:
                # moto reads a large table slowly (each sweep's query scans it): a drain that still makes
                # headway goes on, for at most twice its time again; one that is stuck ends.
                if left == at_deadline or time.time() >= last:
                    print(f"soak: the drain's deadline passed with {left}", flush=True)
                    break
                print(f"soak: the drain goes on, {left}", flush=True)
                at_deadline, deadline = left, time.time() + 120.0
            if any(i.kind == "sweep" and i.final is None for i in self.lam.invocations):
                time.sleep(0.5)
                continue
            if swept:  # a sweep reads every session FaceID's clock has just moved past
                left = self._unsettled()  # between sweeps: moto answers one of us at a time
                if not left:
                    break
            self.lam.invoke_async(function, scheduled_event(), "sweep")
            swept = True
            time.sleep(1.0)
        while time.time() < deadline + 60:
            pending = Counter(i.kind for i in self.lam.invocations if i.final is None)
            if not pending:
                break
            time.sleep(0.5)  # the last sweeps end
        else:
            print(f"soak: still pending after the drain: {dict(pending)}", flush=True)
        print(f"soak: drained at {time.time() - self.t0:.0f} s", flush=True)

    def _redrive(self) -> dict[str, Any]:
        """tools/redrive.py against the on-failure queue, with Lambda's Invoke API played by the harness."""
        queue = self.created.queues[self.lam.functions[self.lam.by_trigger("uploads")].on_failure or ""]
        done = subprocess.run(
            [PYTHON, "-m", "tools.redrive", "--queue-url", queue, "--region", REGION],
            cwd=ROOT,
            env={
                **os.environ,
                **AWS,
                "AWS_ENDPOINT_URL_SQS": self.sqs.meta.endpoint_url,
                "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api,
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        try:
            return dict(json.loads(lines[-1]))
        except (IndexError, ValueError):
            return {"error": (done.stderr or done.stdout)[-500:]}

    def _left_on_failure(self) -> list[dict[str, Any]]:
        queue = self.created.queues[self.lam.functions[self.lam.by_trigger("uploads")].on_failure or ""]
        left, seen = [], set()
        while True:
            messages = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                return left
            for message in fresh:
                seen.add(message["MessageId"])
                left.append({"kind": _kind(json.loads(message["Body"]).get("requestPayload") or {})})

    def _ledger(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.index["table"], ConsistentRead=True):
            items += page.get("Items", [])
        return items

    def _report(self, redrive: dict[str, Any]) -> int:
        load, lam = self.load, self.lam
        stores = Stores(
            faceid_sessions=get(f"{self.emulator}/__emulator__/sessions"),
            faceid_calls=get(f"{self.emulator}/__emulator__/calls"),
            ledger=self._ledger(),
            index_attribute=self.index["partition"],
            events=list(self.bus_events),
            receiver=get(f"{self.receiver}/state"),
            on_failure_left=self._left_on_failure(),
            proxy_injected=get(f"{self.proxy}/__proxy__/injected"),
        )
        killed_deliveries = {
            str(i.event.get("detail", {}).get("BizToken"))
            for i in lam.invocations
            if i.kind.endswith("delivery") and any(a.killed for a in i.attempts)
        }
        failed_uploads = set()
        for invocation in lam.invocations:
            if invocation.kind.endswith("upload") and any(a.kind != "ok" for a in invocation.attempts):
                failed_uploads |= set(_upload_traces(invocation.event))
        harness = Harness(load.calls, load.handed_out, self.kills, killed_deliveries, failed_uploads)
        accounting = account(stores, harness)
        counted = faults(stores, harness)
        counted.update({name: counted.get(name, 0) for name in EVERY_FAULT})
        losses = accounting["losses"]
        starts = [c for c in load.calls if c.kind == "start"]
        reads = [c for c in load.calls if c.kind == "read"]
        attempts: dict[str, Counter[str]] = {}
        for invocation in lam.invocations:
            row = attempts.setdefault(invocation.kind, Counter())
            row[str(len(invocation.attempts))] += 1
            if invocation.final == "on-failure":
                row["on-failure"] += 1
        apply_calls = [c for c in stores.faceid_calls if c["action"] in ("ApplyWebVerificationBizTokenIntl",)]
        report: dict[str, Any] = {
            "mode": "quick" if self.quick else f"{self.load_s / 60:g} minutes",
            "started_at": datetime.fromtimestamp(self.t0, UTC).isoformat(timespec="seconds"),
            "load_s": self.load_s,
            "duration_s": round(time.time() - self.t0, 1),
            "lost_sessions": losses["lost_sessions"] + losses["lost_settlements"],
            "lost_deliveries": losses["lost_deliveries"] + losses["lost_events"] + losses["left_on_failure_queue"],
            "duplicate_deliveries": losses["duplicate_deliveries"] + losses["duplicate_events"],
            "bare_500s": losses["bare_500s"],
            "faults": counted,
            "faults_missing": [name for name in EVERY_FAULT if not counted.get(name)],
            "load": {
                "rate_target": self.args.rate,
                "starts": len(load.starts_begun),
                "start_rate": len([t for t in load.starts_begun if t - self.t0 <= self.load_s]) / self.load_s,
                "http_callers": load.counts["callers"],
                "keyed_requests": sum(c.keyed for c in starts),
                "retried_requests": load.counts["retries"],
                "s3_uploads": sum(u["storage"] == "s3" for u in load.uploads),
                "cos_uploads": sum(u["storage"] == "cos" for u in load.uploads),
                "duplicate_records": load.counts["duplicate_records"],
                "owners": len({c.owner for c in load.calls} | {u["owner"] for u in load.uploads}),
                "reads": len(reads),
                "sweep_runs": sum(attempts.get("sweep", Counter()).values()),
                "delivery_attempts": sum(len(i.attempts) for i in lam.invocations if i.kind.endswith("delivery")),
                "instances": sum(p.started for p in lam.pools.values()),
                "cold_starts": sum(p.cold_starts for p in lam.pools.values()),
                "people_outcomes": dict(Counter(load.finished.values())),
            },
            "answers": {
                "start": dict(Counter(str(c.status) for c in starts)),
                "read": dict(Counter(str(c.status) for c in reads)),
            },
            "latency_s": {
                "HTTP start, 201": latency([c.seconds for c in starts if c.status == 201]),
                "HTTP start, any answer": latency([c.seconds for c in starts]),
                "owner read": latency([c.seconds for c in reads]),
                **{
                    f"{kind} attempt": latency(
                        [a.seconds for i in lam.invocations if i.kind == kind for a in i.attempts]
                    )
                    for kind in ("upload", "delivery", "sweep")
                },
            },
            "attempts": {kind: dict(row) for kind, row in attempts.items()},
            "on_success_records": dict(self.on_success),
            "faceid_calls_per_session": len(apply_calls) / max(1, accounting["faceid_sessions"]),
            "accounting": accounting,
            "redrive": redrive,
            "kills": self.kills,
            "timeline": {
                "per_second": per_second(load.starts_begun, load.calls, load.uploads, self.t0),
                "latency_windows": latency_windows(load.calls, self.t0, 5.0 if self.quick else 10.0),
                "faults": self.fault_log,
                "samples": self.samples,
            },
        }
        report["cpu_s"] = {
            **{name: round(cpu_seconds(pid), 1) for name, pid in HELPERS.items()},
            "instances": round(
                sum(pool.stopped_cpu_s + sum(i.cpu_seconds() for i in pool.instances) for pool in lam.pools.values()),
                1,
            ),
            "harness": round(sum(os.times()[:2]), 1),
        }
        report["ok"] = not any(losses.values()) and not report["faults_missing"]
        (RESULTS / "soak.json").write_text(json.dumps(report, indent=1, default=str))
        table = markdown(report)
        (RESULTS / "soak.md").write_text(table)
        plot(report, RESULTS / "soak.png")
        if not self.quick:  # a full run's tables and plot go into bench/README.md, as run_all.py does the bench's
            shutil.copyfile(RESULTS / "soak.png", ROOT / "bench" / "soak.png")
            self._readme(table, report)
        print(table, flush=True)
        verdict = "no loss" if report["ok"] else "LOSSES or faults not injected"
        print(f"soak: {verdict}; bench/results/soak.json, soak.md, soak.png", flush=True)
        return 0 if report["ok"] else 1


README_START, README_END = "<!-- soak:start -->", "<!-- soak:end -->"


def _kind(payload: dict[str, Any]) -> str:
    if "Records" in payload:
        return "upload"
    return {"faceid-fn": "delivery", "aws.events": "sweep"}.get(str(payload.get("source")), "unknown")


def _upload_traces(event: dict[str, Any]) -> list[str]:
    traces = []
    for record in event.get("Records", []):
        if "s3" in record:
            traces.append(str(record.get("responseElements", {}).get("x-amz-request-id")))
        elif "cos" in record:
            traces.append(str(record.get("event", {}).get("reqid")))
    return traces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("MINUTES") or 10))
    parser.add_argument("--seconds", type=float, help="load duration in seconds (overrides --minutes)")
    parser.add_argument("--quick", action="store_true", help="15 s of load, time compressed (the test suite's)")
    parser.add_argument("--rate", type=float, default=19.5, help="session starts a second")
    # Lambda would start up to reservedConcurrency (50) instances; each one's cold start costs this machine
    # a second or more of CPU, so the soak keeps fewer, started before the load.
    parser.add_argument("--concurrency", type=int, default=32, help="instances per function at most")
    parser.add_argument("--warm", type=int, default=16, help="instances started before the load")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    if args.quick and not args.seconds:
        args.seconds = 15.0
    random.seed(args.seed)
    # `kill` (SIGTERM) ends the soak as Ctrl-C does: its helper processes and instances stop with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
