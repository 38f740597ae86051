"""Soak: the function at FaceID's full rate for MINUTES, under a schedule of faults, then every session
accounted for from the stores.

    python bench/soak.py --minutes 10   # make soak MINUTES=10 (the default)
    python bench/soak.py --quick        # 15 s of load, time compressed (QUICK): what the test suite runs

What is AWS and what is the harness playing it (docs/bench.md, "Soak"): the function's code is the handler,
unchanged, in one process per Lambda instance (bench/soak_instance.py); DynamoDB, EventBridge, SQS and S3 are
moto on 127.0.0.1 (the tables, bus, rule and queues read from serverless.yml), with a fault-injecting
proxy in front of DynamoDB and EventBridge (bench/soak_proxy.py); FaceID is the emulator (local/emulator/)
and COS is moto's S3; the webhook receiver is bench/soak_receiver.py. The harness plays Lambda (instances,
synchronous invocations for API Gateway, asynchronous ones with Lambda's retries and destinations:
bench/soak_lambda.py), EventBridge's rule (each event the rule puts on its queue is handed to the delivery
function asynchronously) and schedule (the sweep every minute), the callers, uploaders, people, browsers and
owners' apps (bench/soak_load.py). The faults are bench/soak_faults.py's, the drain and the redrive
bench/soak_drain.py's, the report bench/soak_assemble.py's (its tables and plot bench/soak_report.py's).
Writes bench/results/soak.json, soak.md and soak.png; exits 1 on any loss.
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
import sys
import threading
import time
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config
from common import RESULTS, SECRET_ID, SECRET_KEY, STATE, free_port, wait_for
from soak_assemble import report
from soak_drain import drain, index_counts, queued, redrive
from soak_faults import run_faults
from soak_instance import CLOCK_AHEAD, TOKEN_LIFE
from soak_lambda import Lambda, payload_kind
from soak_load import COS_APPID, COS_BUCKET, PUBLIC_URL, Load, Profile, scheduled_event
from soak_procs import AWS, HELPERS, PYTHON, cpu_seconds, process
from soak_stack import REGION, Stack, create

from faceid_fn.domain.flows import FLOWS

# The quick form's time: a person's time on the page, and an intl token's life on both sides (FaceID's and
# the function's); the sweep's clock runs ahead so that its first look, 30 s after a token's end, comes soon
# after it (bench/soak_instance.py).
QUICK = {"on_page_s": (2.0, 12.0), "token_life_s": 45.0, "sweep_clock_ahead_s": 20.0, "poll_after_end_s": 60.0}


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
            life = ["--intl-token-ttl-s", f"{QUICK['token_life_s']:g}"] if self.quick else []
            stack.enter_context(process([PYTHON, "-m", "local.emulator", "--port", str(emulator_port), *life]))
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
            "FACEID_PUBLIC_URL": PUBLIC_URL,  # FaceID sends the browsers to the API the harness plays
            "COS_ENDPOINT": moto,
            "FACEID_COS_BUCKETS": f"{COS_BUCKET}-{COS_APPID}",
            "WEBHOOK_URL": webhook_url,
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_SECRET_NAME": "",
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            "AUTH_REQUIRED": "true",
            **({TOKEN_LIFE: f"{QUICK['token_life_s']:g}"} if self.quick else {}),
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
            profile = Profile(rate=self.args.rate, token_life_s=FLOWS["intl"].token_ttl.total_seconds())
            if self.quick:
                profile.on_page_s, profile.token_life_s = QUICK["on_page_s"], QUICK["token_life_s"]
                profile.poll_fast_s, profile.poll_after_end_s = QUICK["token_life_s"], QUICK["poll_after_end_s"]
                profile.poll_slower_after_s = QUICK["token_life_s"] + QUICK["poll_after_end_s"]
            self.clocks = clocks(self.quick, profile)
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
            if self.quick:
                ahead = f"{QUICK['sweep_clock_ahead_s']:g}"
                self.lam.pools[self.lam.by_trigger("sweep")].redeploy({CLOCK_AHEAD: ahead})
            http = self.lam.by_trigger("http")
            self.lam.pools[http].warm(self.args.warm, self.load.warm_ups(0))
            for trigger in ("delivery", "sweep"):  # their own functions (when serverless.yml splits them)
                if (function := self.lam.by_trigger(trigger)) != http:
                    self.lam.pools[function].warm(2, [])
            return self._soak()
        finally:
            self.stop.set()
            self.lam.stop()

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
            "on-success": (on_success, lambda record: self.on_success.update([payload_kind(record["requestPayload"])])),
        }
        threads = [
            *(threading.Thread(target=self._consume, args=c, name=name, daemon=True) for name, c in consumers.items()),
            threading.Thread(target=self._schedule, name="schedule", daemon=True),
            threading.Thread(target=self._sample, name="sample", daemon=True),
            threading.Thread(target=run_faults, args=(self,), name="faults", daemon=True),
        ]
        for thread in threads:
            thread.start()
        print(f"soak: {self.load_s:.0f} s of load at {self.args.rate:g} starts/s", flush=True)
        self.load.run(self.load_s)
        self.load_ended = time.time()
        print("soak: load done, draining", flush=True)
        # The last tokens end a token's life after the load; the sweep's last look at a session it found still
        # pending at the first (its start reached FaceID late) is 4 minutes after that.
        life = QUICK["token_life_s"] if self.quick else FLOWS["intl"].token_ttl.total_seconds()
        drain(self, deadline_s=life + 300.0)
        redriven = redrive(self)
        drain(self, deadline_s=60.0 if self.quick else 300.0)
        self.drained = time.time()
        while queued(self, self.created.audit_queue):  # its consumer reads the last events
            time.sleep(1.0)
        self.stop.set()
        time.sleep(2.5)
        return report(self, redriven)

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
        """EventBridge's schedule: the sweep every minute (every 4 s in the quick form), load or drain."""
        function = self.lam.by_trigger("sweep")
        while not self.stop.wait(self.sweep_every):  # through the drain too: the sweep runs as deployed
            # On AWS a run ends within its timeout (55 s), before the next minute's: runs never overlap. The
            # quick form's runs every 4 s would, and read the same sessions twice: one waits for the other.
            if not any(i.kind == "sweep" and i.final is None for i in self.lam.invocations):
                self.lam.invoke_async(function, scheduled_event(), "sweep")

    def _sample(self) -> None:
        every = 1.0 if self.quick else 10.0  # each sample scans the index on moto
        while not self.stop.wait(every):
            try:
                counts = index_counts(self)
            except Exception as exc:  # moto busy: this sample is skipped, the next one comes
                print(f"soak: backlog not sampled: {type(exc).__name__}", flush=True)
                continue
            self.samples.append(
                {
                    "t": round(time.time() - self.t0, 1),
                    **counts,  # the sweep's index: sessions, due, past their token's end, and 6 minutes past it
                    "async_pending": self.lam.pending(),
                    "instances": sum(len(p.instances) for p in self.lam.pools.values()),
                    "moto_cpu_s": round(cpu_seconds(HELPERS.get("moto.server", 0)), 1),
                    "load_average": os.getloadavg()[0],  # the machine's, other users' work included
                }
            )


def clocks(quick: bool, profile: Profile) -> str:
    """How the run's time relates to FaceID's and the function's (written into the report)."""
    people = (
        f"a person spends {profile.on_page_s[0]:g}-{profile.on_page_s[1]:g} s on the page; the pollers poll every "
        f"{profile.poll_every_s:g} s for the first {profile.poll_fast_s:g} s, then every "
        f"{profile.poll_slow_every_s:g} s, after {profile.poll_slower_after_s:g} s every "
        f"{profile.poll_slower_every_s:g} s, until the outcome is final"
    )
    if not quick:
        return f"real time: FaceID's and the function's 10-minute tokens, no clock moved; {people}"
    return (
        f"quick form, time compressed: {people} (20-120 s in a full run); an intl token lives "
        f"{QUICK['token_life_s']:g} s for FaceID and for the function alike (the emulator's --intl-token-ttl-s, "
        f"the instances' {TOKEN_LIFE}), and the sweep's clock runs {QUICK['sweep_clock_ahead_s']:g} s ahead "
        f"({CLOCK_AHEAD}: its first look, 30 s after a token's end, comes "
        f"{30 - QUICK['sweep_clock_ahead_s']:g} s after it); Lambda's retry back-offs are 20 times shorter"
    )


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
