"""The soak's load: callers starting sessions over HTTP (API Gateway's events, JWT claims of many owners), photos
uploaded to S3 and COS (their upload events, sometimes delivered twice), the people who open the
VerificationUrl, spend 20-120 s there and finish with every outcome the emulator's page offers (a third never
finish), their browsers following FaceID's redirect into the function's return route (or the app catching it
and reading the outcome), and the apps that poll until the outcome is final. Each caller behaves as a client
should: it retries a timeout with the same Idempotency-Key, and a 429, 503 or 409 IdempotencyInProgress after
its Retry-After.
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
from urllib.parse import parse_qsl, quote_plus, urlsplit

import requests
from soak_lambda import Lambda, Outcome, api_gateway_answer
from soak_stack import ROOT, STAGE

from faceid_fn.domain.outcomes import RETURN_PATH

EVENTS = ROOT / "events"
COS_BUCKET, COS_APPID = "photos", "1250000000"
PREFIX = "reference/"
# The outcomes the people choose on the page (weights): every outcome the page offers in CheckMode 2 (the
# default: the selfie compared with the caller's photo; the document's outcome belongs to the OCR modes, which
# take no photo), and "fail" (1001: no verdict).
OUTCOMES = {"pass": 45, "liveness": 10, "compare": 8, "faces": 8, "left": 9, "timeout": 8, "fail": 6}
# What happens after a person's choice (weights): the browser follows FaceID's redirect into the return route,
# the app catches the redirect and reads the outcome itself (one owner GET), or the page is closed first.
AFTER_FINISH = {"return": 70, "catch": 20, "closed": 10}
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
    on_page_s: tuple[float, float] = (20.0, 120.0)  # the person's time on the page, to the choice
    never_finish: float = 1 / 3  # the person never finishes (half of them leave the page unfinished)
    poller: float = 0.1  # the app polls GET every `poll_every_s` from the start until the outcome is final
    poll_every_s: float = 2.0
    # ...for the first `poll_fast_s`, then every `poll_slow_every_s`, and after `poll_slower_after_s` every
    # `poll_slower_every_s` (the two shared cores could not take a poll every 2 s for the whole 10-minute life
    # of a session nobody finishes), and never past the token's end and `poll_after_end_s` (by then the sweep
    # has settled it).
    poll_fast_s: float = 20.0
    poll_slow_every_s: float = 20.0
    poll_slower_after_s: float = 120.0
    poll_slower_every_s: float = 60.0
    poll_after_end_s: float = 420.0
    token_life_s: float = 0.0  # the intl BizToken's life (the soak sets it: the function's, FaceID's the same)
    stranger_read: float = 0.02  # another owner tries the BizToken: the unknown-token 404


@dataclass
class Call:
    """One HTTP exchange as its caller saw it (what API Gateway answered)."""

    kind: str  # start, read, return (the person's browser, no owner)
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
    final: bool = False  # a read answered a final outcome


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
        self.never: set[str] = set()  # BizTokens whose person never finishes
        self._people: set[str] = set()  # BizTokens someone was given to finish
        self.returned: dict[str, float] = {}  # BizToken -> when the browser asked for the return route
        self.behaviour: Counter[str] = Counter()  # what the people and apps did, by kind
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
            final=isinstance(payload, dict) and payload.get("Status") not in (None, "pending"),
        )
        with self.lock:
            self.calls.append(call)
            if kind == "start" and call.status == 201 and call.biz_token:
                self.handed_out.setdefault(call.biz_token, {"owner": owner, "via": "http", "request_id": request_id})
        return call

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
        """What the person does with the VerificationUrl, and what the owner's app does meanwhile."""
        with self.lock:  # a retried start answered with the same session: still one person
            if token in self._people:
                return
            self._people.add(token)
        profile = self.profile
        on_page = random.uniform(*profile.on_page_s)
        if random.random() < profile.poller:
            self._count("pollers")
            begun = time.monotonic()
            self.later(profile.poll_every_s, lambda: self.poll(token, owner, begun))
        if random.random() < profile.stranger_read:
            self.later(random.uniform(0.2, on_page), lambda: self.read(token, "someone-else"))
        if random.random() < profile.never_finish:
            with self.lock:
                self.never.add(token)
            self._count("never_finish")
            if random.random() < 0.5:  # opens the page and leaves it unfinished (FaceID reads 17 until the end)
                self.later(on_page, lambda: self.choose(token, "unfinished"))
            return
        outcome = random.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        after = random.choices(list(AFTER_FINISH), weights=list(AFTER_FINISH.values()))[0]
        self._count(f"finish_then_{after}")
        self.later(on_page, lambda: self.finish(token, owner, outcome, after))

    def _count(self, what: str) -> None:
        with self.lock:
            self.behaviour[what] += 1

    def finish(self, token: str, owner: str, outcome: str, after: str) -> None:
        location = self.choose(token, outcome)
        if after == "return" and location:
            self.browser_return(token, location)
        elif after == "catch":
            self.read(token, owner)

    def poll(self, token: str, owner: str, begun: float) -> None:
        """One poll of an app that polls until the outcome is final, and its next one."""
        call = self._exchange("read", read_event(token, owner, self._request_id("poll")), owner, False)
        self._count("polls")
        if call.status == 200 and call.final:
            return
        if call.status not in (200, 429, 503, 504):  # a 404 or 410: there is nothing to wait for
            return
        profile, age = self.profile, time.monotonic() - begun
        if age > profile.token_life_s + profile.poll_after_end_s:
            self._count("pollers_gave_up")
            return
        every = profile.poll_every_s if age < profile.poll_fast_s else profile.poll_slow_every_s
        if age >= profile.poll_slower_after_s:
            every = profile.poll_slower_every_s
        self.later(every, lambda: self.poll(token, owner, begun))

    def browser_return(self, token: str, location: str) -> None:
        """The browser follows FaceID's redirect into the function's return route (through API Gateway, no owner
        token); the 303 on to the app's page is not followed."""
        parts = urlsplit(location)
        if f"{parts.scheme}://{parts.netloc}" != PUBLIC_URL or parts.path != RETURN_PATH:
            self._count("redirect_elsewhere")  # not the return route: the harness's configuration is wrong
            return
        with self.lock:
            self.returned.setdefault(token, time.time())
        event = http_event("GET", RETURN_PATH, None, self._request_id("return"), query=parts.query)
        self._exchange("return", event, "browser", False)

    def read(self, token: str, owner: str) -> None:
        call = self._exchange("read", read_event(token, owner, self._request_id("read")), owner, False)
        if call.status in (429, 503) and call.retry_after:  # an owner's app tries again after Retry-After
            time.sleep(min(float(call.retry_after), 5.0))
            self._exchange("read", read_event(token, owner, self._request_id("read")), owner, False)

    def choose(self, token: str, outcome: str) -> str | None:
        """The person's choice on the emulator's verification page (a form POST, as the browser sends it); the
        redirect's Location (FaceID's RedirectURL with ?token=), None when the page stays."""
        location, expired = None, False
        for _ in range(3):
            try:
                answer = self._web.post(
                    f"{self.emulator}/verify/{token}", data={"outcome": outcome}, allow_redirects=False, timeout=10
                )
                location = answer.headers.get("Location") if answer.status_code == 302 else None
                expired = answer.status_code == 404  # the link ran out before the person got to it
                break
            except requests.RequestException:
                time.sleep(0.5)
        if expired:  # too late: the person never finished it (the start took longer than the token's life)
            with self.lock:
                self.never.add(token)
            self._count("too_late")
        elif outcome != "unfinished":
            with self.lock:
                self.finished[token] = outcome
        return location


def _mark_abandoned(future: Future[Call]) -> None:
    if future.exception() is None:
        future.result().abandoned = True


# -- events as the triggers send them --------------------------------------------------------------------


_HTTP_TEMPLATE = json.loads((EVENTS / "http-api-v2.json").read_text())
# The API the harness plays API Gateway for (its events' domain): the function's FACEID_PUBLIC_URL.
PUBLIC_URL = f"https://{_HTTP_TEMPLATE['requestContext']['domainName']}"


def http_event(
    method: str,
    path: str,
    owner: str | None,
    request_id: str,
    *,
    body: dict[str, Any] | None = None,
    key: str | None = None,
    query: str = "",
) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) with the JWT authorizer's claims of `owner` (None: a public route's
    request, the person's browser)."""
    event = copy.deepcopy(_HTTP_TEMPLATE)
    now = datetime.now(UTC)
    if path == RETURN_PATH:
        route = f"GET {RETURN_PATH}"
    else:
        route = "POST /verifications" if method == "POST" else "GET /verifications/{biz_token}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["requestId"] = request_id
    event["requestContext"]["time"] = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    event["requestContext"]["timeEpoch"] = int(now.timestamp() * 1000)
    if owner is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": owner, "aud": "faceid-fn"}, "scopes": None}}
    if query:
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(parse_qsl(query))
    if method == "GET":
        if path != RETURN_PATH:
            event["pathParameters"] = {"biz_token": path.rsplit("/", 1)[1]}
        event.pop("body", None)
        event["headers"].pop("content-type", None)
    else:
        event["body"] = json.dumps(body)
    if key:
        event["headers"]["idempotency-key"] = key
    return event


def read_event(token: str, owner: str, request_id: str) -> dict[str, Any]:
    return http_event("GET", f"/verifications/{token}", owner, request_id)


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
