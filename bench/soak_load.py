"""The soak's load: callers starting sessions over HTTP (API Gateway's events, JWT claims of many owners), photos
uploaded to S3 and COS (their upload events, sometimes delivered twice), the people who open the
VerificationUrl and finish with every outcome the emulator's page offers (or never finish), and owners reading
their sessions. Each caller behaves as a client should: it retries a timeout with the same Idempotency-Key,
and a 429, 503 or 409 IdempotencyInProgress after its Retry-After.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import requests
from soak_lambda import Lambda, Outcome, api_gateway_answer
from soak_stack import ROOT, STAGE

EVENTS = ROOT / "events"
COS_BUCKET, COS_APPID = "photos", "1250000000"
PREFIX = "reference/"
# What the people do with a session they got (weights), and the outcomes they choose on the page: every
# outcome the page offers in CheckMode 2 (the default: the selfie compared with the caller's photo; the
# document's outcome belongs to the OCR modes, which take no photo), and "fail" (1001: no verdict).
PLANS = {"finish": 86, "never": 6, "unfinished": 4, "unfinished_then_finish": 4}
OUTCOMES = {"pass": 45, "liveness": 10, "compare": 8, "faces": 8, "left": 9, "timeout": 8, "fail": 6}
# Owners: each starts a few sessions (FACEID_OWNER_STARTS counts 10 an hour per owner).
STARTS_PER_OWNER = 3


@dataclass
class Profile:
    """How the load behaves; the quick form shortens the people's delays."""

    rate: float = 19.5  # session starts a second (HTTP and uploads)
    http_share: float = 0.7
    s3_share: float = 0.15  # the rest: COS uploads
    keyed_share: float = 0.6  # HTTP starts with an Idempotency-Key
    double_tap: float = 0.02  # a keyed start sent twice at once
    bad_request: float = 0.02  # a wrong MD5, or another owner's photo: defined 4xx
    duplicate_upload: float = 0.15  # an upload event delivered twice
    caller_timeout_s: float = 6.0  # a caller gives up waiting and retries (keyed) or gives up (unkeyed)
    finish_s: tuple[float, float] = (3.0, 40.0)  # from the start to the person's choice on the page
    # Owners' reads and the sweep share FaceID's 20 result reads a second: about 0.8 reads a session here.
    read_after_finish: float = 0.75  # the owner reads the outcome (the app after FaceID's redirect)
    second_read: float = 0.05  # and reads it again at the same time (two devices)
    poll_pending: float = 0.08  # the owner reads once while the person is still at it
    stranger_read: float = 0.02  # another owner tries the BizToken: the unknown-token 404


@dataclass
class Call:
    """One HTTP exchange as its caller saw it (what API Gateway answered)."""

    kind: str  # start, read
    request_id: str
    owner: str
    at: float
    seconds: float
    status: int
    code: str | None
    retry_after: str | None
    enveloped: bool  # the function's error body ({"Error": {"Code", "Message"}, "RequestId"})
    invocation: str  # ok, or how the invocation failed (error, crash, timeout), with Lambda's errorType
    killed: bool
    cold: bool
    biz_token: str | None = None
    keyed: bool = False
    abandoned: bool = False  # the caller had stopped waiting


class Load:
    def __init__(
        self,
        lam: Lambda,
        *,
        emulator: str,
        s3: Any,
        cos: Any,
        upload_bucket: str,
        photo: bytes,
        photo_md5: str,
        profile: Profile,
    ) -> None:
        self.lam = lam
        self.emulator = emulator
        self.s3, self.cos = s3, cos
        self.upload_bucket = upload_bucket
        self.photo, self.photo_md5 = photo, photo_md5
        self.profile = profile
        self.http_function = lam.by_trigger("http")
        self.upload_function = lam.by_trigger("uploads")
        self.calls: list[Call] = []
        self.handed_out: dict[str, dict[str, Any]] = {}  # BizToken -> how its owner got it
        self.uploads: list[dict[str, Any]] = []
        self.finished: dict[str, str] = {}  # BizToken -> outcome chosen on the page
        self.starts_begun: list[float] = []
        self.counts: Counter[str] = Counter()  # callers, retries, duplicate_records
        self.lock = threading.Lock()
        # Callers and people wait on invocations: the invocations run on a pool of their own.
        self.pool = ThreadPoolExecutor(max_workers=192, thread_name_prefix="caller")
        self.exchanges = ThreadPoolExecutor(max_workers=128, thread_name_prefix="invoke")
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._timer = threading.Condition()
        self._owners = itertools.count()
        self._owner: str | None = None
        self._owner_starts = 0
        self._owners_with_photo: set[str] = set()
        self._ids = itertools.count()
        self._stop = threading.Event()
        self._web = requests.Session()
        threading.Thread(target=self._timers, name="people", daemon=True).start()

    # -- the schedule --------------------------------------------------------------------------------

    def later(self, delay_s: float, action: Callable[[], None]) -> None:
        with self._timer:
            heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._sequence), action))
            self._timer.notify()

    def scheduled(self) -> int:
        with self._timer:
            return len(self._heap)

    def _timers(self) -> None:
        while True:
            with self._timer:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._timer.wait(timeout=None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, action = heapq.heappop(self._heap)
            self.pool.submit(self._safely, action)

    @staticmethod
    def _safely(action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # a harness bug must show, not stop the load
            print(f"soak: load action failed: {type(exc).__name__}: {exc}", flush=True)

    def run(self, seconds: float) -> None:
        """Starts at `rate` a second for `seconds` (each start on a caller thread of its own)."""
        begun = time.monotonic()
        for n in itertools.count():
            due = begun + n / self.profile.rate
            if due - begun >= seconds or self._stop.is_set():
                return
            time.sleep(max(0.0, due - time.monotonic()))
            self.pool.submit(self._safely, self._one_start)

    def stop(self) -> None:
        self._stop.set()

    def _one_start(self) -> None:
        with self.lock:
            self.starts_begun.append(time.time())
        owner = self._next_owner()
        draw = random.random()
        if draw < self.profile.http_share:
            self.http_start(owner)
        elif draw < self.profile.http_share + self.profile.s3_share:
            self.upload(owner, "s3")
        else:
            self.upload(owner, "cos")

    def _next_owner(self) -> str:
        with self.lock:
            if self._owner is None or self._owner_starts >= STARTS_PER_OWNER:
                self._owner, self._owner_starts = f"user-{next(self._owners):05d}-{uuid.uuid4().hex[:6]}", 0
            self._owner_starts += 1
            return self._owner

    # -- HTTP callers ----------------------------------------------------------------------------------

    def _photo_url(self, owner: str) -> str:
        if owner not in self._owners_with_photo:
            self.cos.put_object(Bucket=f"{COS_BUCKET}-{COS_APPID}", Key=f"{PREFIX}{owner}/face.png", Body=self.photo)
            self._owners_with_photo.add(owner)
        return f"https://{COS_BUCKET}-{COS_APPID}.cos.ap-singapore.myqcloud.com/{PREFIX}{owner}/face.png"

    def http_start(self, owner: str) -> None:
        profile = self.profile
        body = {"CompareImageUrl": self._photo_url(owner), "CompareImageMd5": self.photo_md5}
        if random.random() < profile.bad_request:
            if random.random() < 0.5:
                body["CompareImageMd5"] = "0" * 32  # not the photo's MD5: 400
            else:  # another owner's folder: 403 PhotoNotOwned
                body["CompareImageUrl"] = body["CompareImageUrl"].replace(f"/{owner}/", "/someone-else/")
        key = str(uuid.uuid4()) if random.random() < profile.keyed_share else None
        if key and random.random() < profile.double_tap:
            self.pool.submit(self._safely, lambda: self._caller(owner, body, key))
        self._caller(owner, body, key)

    def _caller(self, owner: str, body: dict[str, Any], key: str | None) -> None:
        """One caller: retries a timeout (keyed), and 429/503/409-in-progress after Retry-After."""
        with self.lock:
            self.counts["callers"] += 1
        for attempt in range(5):
            if attempt:
                with self.lock:
                    self.counts["retries"] += 1
            event = http_event("POST", "/verifications", owner, self._request_id("start"), body=body, key=key)
            future = self.exchanges.submit(self._exchange, "start", event, owner, key is not None)
            try:
                call = future.result(timeout=self.profile.caller_timeout_s)
            except TimeoutError:
                future.add_done_callback(_mark_abandoned)
                if key is None:
                    return  # the person gives up; a new start would be another session
                continue
            if call.status == 201 and call.biz_token:
                self.person(call.biz_token, owner, "http")
                return
            retry = call.status in (429, 503) or (call.status == 409 and call.code == "IdempotencyInProgress")
            if call.status in (502, 504, 500) and key is not None and attempt == 0:
                retry = True
            if not retry:
                return
            time.sleep(min(float(call.retry_after or 1), 5.0) + random.random() * 0.5)

    def _request_id(self, kind: str) -> str:
        return f"soak-{kind}-{next(self._ids)}-{uuid.uuid4().hex[:8]}"

    def warm_ups(self, n: int) -> list[dict[str, Any]]:
        """Requests that start nothing but load what a start loads (the photo read, the idempotency layer on
        boto3, S3): a keyed start whose MD5 is not the photo's (400), an upload of an object that is gone."""
        owner = f"warm-up-{n}"
        body = {"CompareImageUrl": self._photo_url(owner), "CompareImageMd5": "0" * 32}
        start = http_event("POST", "/verifications", owner, f"warm-up-{n}", body=body, key=f"warm-up-{n}")
        record = s3_record(self.upload_bucket, f"{PREFIX}{owner}/gone.png", self.photo, self.photo_md5, f"WARM{n}")
        return [start, {"Records": [record]}]

    def _exchange(self, kind: str, event: dict[str, Any], owner: str, keyed: bool) -> Call:
        request_id = event["requestContext"]["requestId"]
        sent = time.time()  # the caller's clock: a wait for a free instance counts
        outcome: Outcome = self.lam.invoke(self.http_function, event, f"http-{kind}", request_id)
        answer = api_gateway_answer(outcome)
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        try:
            payload = json.loads(answer.get("body") or "null")
        except ValueError:
            payload = None
        error = payload.get("Error") if isinstance(payload, dict) else None
        call = Call(
            kind=kind,
            request_id=request_id,
            owner=owner,
            at=sent,
            seconds=outcome.ended - sent,
            status=int(answer["statusCode"]),
            code=error.get("Code") if isinstance(error, dict) else None,
            retry_after=headers.get("retry-after"),
            enveloped=isinstance(error, dict) and {"Code", "Message"} <= set(error) and "RequestId" in payload,
            invocation=outcome.kind
            if outcome.kind == "ok"
            else f"{outcome.kind} {(outcome.error or {}).get('errorType')}",
            killed=outcome.killed,
            cold=outcome.cold,
            biz_token=payload.get("BizToken") if isinstance(payload, dict) else None,
            keyed=keyed,
        )
        with self.lock:
            self.calls.append(call)
            if kind == "start" and call.status == 201 and call.biz_token:
                self.handed_out.setdefault(call.biz_token, {"owner": owner, "via": "http", "request_id": request_id})
        return call

    def read(self, token: str, owner: str) -> None:
        event = http_event("GET", f"/verifications/{token}", owner, self._request_id("read"))
        call = self._exchange("read", event, owner, False)
        if call.status in (429, 503) and call.retry_after:  # an owner's app tries again after Retry-After
            time.sleep(min(float(call.retry_after), 5.0))
            self._exchange(
                "read", http_event("GET", f"/verifications/{token}", owner, self._request_id("read")), owner, False
            )

    # -- uploads -----------------------------------------------------------------------------------------

    def upload(self, owner: str, storage: str) -> None:
        key = f"{PREFIX}{owner}/{uuid.uuid4().hex[:12]}.png"
        upload_id = uuid.uuid4().hex[:16].upper()
        if storage == "s3":
            self.s3.put_object(Bucket=self.upload_bucket, Key=key, Body=self.photo, ContentType="image/png")
            event = {"Records": [s3_record(self.upload_bucket, key, self.photo, self.photo_md5, upload_id)]}
        else:
            self.cos.put_object(Bucket=f"{COS_BUCKET}-{COS_APPID}", Key=key, Body=self.photo)
            event = {"Records": [cos_record(key, len(self.photo), upload_id, next(self._ids))]}
        with self.lock:
            self.uploads.append({"storage": storage, "owner": owner, "key": key, "at": time.time()})

        def done(outcome: Outcome) -> None:
            if outcome.kind != "ok" or not isinstance(outcome.result, dict):
                return
            for session in outcome.result.get("Sessions", []):
                token = session.get("BizToken")
                with self.lock:
                    first = token not in self.handed_out
                    if first:
                        self.handed_out[token] = {"owner": owner, "via": storage, "request_id": upload_id}
                if first:
                    self.person(token, owner, storage)

        self.lam.invoke_async(self.upload_function, event, "upload", on_success=done)
        if random.random() < self.profile.duplicate_upload:  # S3 and COS deliver an event at least once
            duplicate = copy.deepcopy(event)
            with self.lock:
                self.counts["duplicate_records"] += 1
            self.later(
                random.uniform(0.0, 3.0),
                lambda: self.lam.invoke_async(self.upload_function, duplicate, "upload", on_success=done),
            )

    # -- people and owners -----------------------------------------------------------------------------

    def person(self, token: str, owner: str, via: str) -> None:
        """What the person does with the VerificationUrl, and when the owner reads."""
        profile = self.profile
        plan = random.choices(list(PLANS), weights=list(PLANS.values()))[0]
        finish_in = random.uniform(*profile.finish_s)
        if random.random() < profile.poll_pending:
            self.later(random.uniform(0.2, finish_in), lambda: self.read(token, owner))
        if random.random() < profile.stranger_read:
            self.later(random.uniform(0.2, finish_in), lambda: self.read(token, "someone-else"))
        if plan == "never":
            return
        if plan.startswith("unfinished"):
            self.later(finish_in / 2, lambda: self.choose(token, "unfinished"))
            if plan == "unfinished":
                return
        outcome = random.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        self.later(finish_in, lambda: self.choose(token, outcome))
        if random.random() < profile.read_after_finish:
            after = finish_in + random.uniform(0.3, 5.0)
            self.later(after, lambda: self.read(token, owner))
            if random.random() < profile.second_read:
                self.later(after, lambda: self.read(token, owner))

    def choose(self, token: str, outcome: str) -> None:
        """The person's choice on the emulator's verification page (a form POST, as the browser sends it)."""
        for _ in range(3):
            try:
                self._web.post(
                    f"{self.emulator}/verify/{token}", data={"outcome": outcome}, allow_redirects=False, timeout=10
                )
                break
            except requests.RequestException:
                time.sleep(0.5)
        if outcome != "unfinished":
            with self.lock:
                self.finished[token] = outcome


def _mark_abandoned(future: Future[Call]) -> None:
    if future.exception() is None:
        future.result().abandoned = True


# -- events as the triggers send them --------------------------------------------------------------------


_HTTP_TEMPLATE = json.loads((EVENTS / "http-api-v2.json").read_text())


def http_event(
    method: str, path: str, owner: str, request_id: str, *, body: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) with the JWT authorizer's claims of `owner`."""
    event = copy.deepcopy(_HTTP_TEMPLATE)
    now = datetime.now(UTC)
    route = "POST /verifications" if method == "POST" else "GET /verifications/{biz_token}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["requestId"] = request_id
    event["requestContext"]["time"] = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    event["requestContext"]["timeEpoch"] = int(now.timestamp() * 1000)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": owner, "aud": "faceid-fn"}, "scopes": None}}
    if method == "GET":
        event["pathParameters"] = {"biz_token": path.rsplit("/", 1)[1]}
        event.pop("body", None)
        event["headers"].pop("content-type", None)
    else:
        event["body"] = json.dumps(body)
    if key:
        event["headers"]["idempotency-key"] = key
    return event


def s3_record(bucket: str, key: str, data: bytes, md5: str, request_id: str) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "ap-southeast-1",
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": f"{request_id}/soak"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": f"faceid-fn-{STAGE}-uploads",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {"key": quote_plus(key, safe="/"), "size": len(data), "eTag": md5, "sequencer": request_id},
        },
    }


def cos_record(key: str, size: int, upload_id: str, reqid: int) -> dict[str, Any]:
    """Tencent SCF's COS upload record (the shape tests/aws.py and events/cos-upload.json use)."""
    return {
        "cos": {
            "cosSchemaVersion": "1.0",
            "cosObject": {
                "url": f"http://{COS_BUCKET}-{COS_APPID}.cos.ap-singapore.myqcloud.com/{key}",
                "meta": {"x-cos-request-id": upload_id, "Content-Type": "image/png"},
                "vid": "",
                "key": f"/{COS_APPID}/{COS_BUCKET}/{key}",
                "size": size,
            },
            "cosBucket": {"region": "sg", "name": COS_BUCKET, "appid": COS_APPID},
            "cosNotificationId": "faceid-fn",
        },
        "event": {
            "eventName": "cos:ObjectCreated:Put",
            "eventVersion": "1.0",
            "eventTime": int(time.time()),
            "eventSource": "qcs::cos",
            "requestParameters": {"requestSourceIP": "203.0.113.10", "requestHeaders": {}},
            "reqid": 100_000_000 + reqid,
        },
    }


def scheduled_event() -> dict[str, Any]:
    event = json.loads((EVENTS / "scheduled-sweep.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(event)
