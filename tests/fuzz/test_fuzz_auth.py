"""Property test of the trust boundary: with AUTH_REQUIRED on, a request that names no caller starts
nothing and reads nothing, whatever route, method, path or authorizer shape brought it.

Hypothesis generates 10,000 requests under `make fuzz`, 2,000 in `make test` (a fixed seed), as API Gateway
HTTP API 2.0 (a route's own `routeKey`, or the catch-all `$default`, which has no authorizer), REST API 1.0
and Function URL events: every method, our two routes' paths bent in the ways a router may read differently
(control characters, percent-encodings, dot segments, case, repeated and trailing slashes, suffixes, base
paths), and every authorizer shape that names no caller. Each is handed to the real handler (the intl flow,
the photo in the COS stand-in, the ledger in moto), with spies on the ledger, the photo read and the
idempotency store, and the FaceID emulator's own record of calls.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.sample_photo import png
from tests.aws import COS_BUCKET, EVENT_BUS, IDEMPOTENCY_TABLE, SESSIONS_TABLE, cos_put, create_ledger_and_bus, md5
from tests.conftest import Emulator, LambdaContext, load_event
from tests.fuzz.budget import examples

pytestmark = pytest.mark.usefixtures("aws")

KINDS = ("http", "rest", "function_url")
TEMPLATES = {kind: load_event(kind) for kind in KINDS}  # read once: strategies draw from constants only
BASE_PATH = "/faceid"  # API_BASE_PATHS in this test
OWNER = "alice"
PHOTO_KEY = f"reference/{OWNER}/photo.png"  # in the owner's own upload folder
PHOTO_URL = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
START_BODY = json.dumps({"CompareImageUrl": PHOTO_URL, "CompareImageMd5": md5(png())})
TOKEN = "TOKEN-123456"

# -- paths ------------------------------------------------------------------------------------------

# A route's own method and path; a request may come with another method.
ROUTES = [("POST", "/verifications"), ("GET", f"/verifications/{TOKEN}"), ("GET", "/verifications/0123456789abcdef")]
PREFIXES = ["", "", BASE_PATH, "/prod", "/$default", BASE_PATH * 2, "//", "/.", "/x/..", "/%2e", BASE_PATH + "/."]
# What a path may carry after, or inside, a route's path. HTTP APIs decode percent-encodings in
# `rawPath` (`%0A` arrives as a newline); REST APIs and Function URLs may pass them on as they are.
CONTROL = ["\n", "\r\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\u2028", "\u2029"]
SPACES = [" ", "\u00a0", "\ufeff", "\u200b"]
ENCODED = ["%0A", "%0a", "%0D%0A", "%00", "%20", "%2F", "%2f", "%5C", "%76", "%2e", "%2E%2E"]
DOTS = [".", "..", "/.", "/..", "/./", "/../", ".json"]
PUNCTUATION = ["\\", ";", ";x", "?", "?x=1", "#", "#x", "*", "~", "/", "//"]
ODD = CONTROL + SPACES + ENCODED + DOTS + PUNCTUATION
SUFFIXES = ["", "", "/", "//", "\n", "/\n", "\n/", "%0A", "\r\n", ";x", "/.", "/..", f"/{TOKEN}", "/verifications"]


def percent_encode_one(path: str, at: int) -> str:
    """The path with one character percent-encoded, as a client or a proxy may send it."""
    at %= len(path)
    return path[:at] + f"%{ord(path[at]):02X}" + path[at + 1 :] if ord(path[at]) < 256 else path


@st.composite
def paths(draw: st.DrawFn, path: str) -> str:
    if draw(st.integers(0, 2)) == 0:  # a route's own path, as a client may spell it
        return draw(st.sampled_from(["", BASE_PATH])) + path + draw(st.sampled_from(["", "/", "//"]))
    case = draw(st.sampled_from(["same", "same", "upper", "swap", "title"]))
    path = {"same": path, "upper": path.upper(), "swap": path.swapcase(), "title": path.title()}[case]
    for _ in range(draw(st.integers(0, 2))):  # bend the path inside
        edit = draw(st.sampled_from(["insert", "double_slash", "encode"]))
        at = draw(st.integers(0, len(path)))
        if edit == "insert":
            path = path[:at] + draw(st.sampled_from(ODD)) + path[at:]
        elif edit == "double_slash":
            path = path.replace("/", "//", 1) if at % 2 else path.replace("/", "//")
        else:
            path = percent_encode_one(path, at)
    suffix = draw(st.one_of(st.sampled_from(SUFFIXES), st.lists(st.sampled_from(ODD), max_size=3).map("".join)))
    return draw(st.sampled_from(PREFIXES)) + path + suffix


# -- authorizers that name no caller ----------------------------------------------------------------

MISSING = object()  # no `authorizer` in requestContext at all
NO_CALLER: list[Any] = [
    MISSING,
    MISSING,
    None,
    {},
    {"jwt": None},
    {"jwt": {}},
    {"jwt": {"claims": None, "scopes": None}},
    {"jwt": {"claims": {}, "scopes": None}},
    {"jwt": {"claims": "sub=alice", "scopes": None}},
    {"jwt": {"claims": ["sub", "alice"], "scopes": None}},
    {"jwt": {"claims": {"aud": "faceid-fn", "iss": "https://issuer.example", "scope": "faceid/start"}, "scopes": None}},
    {"jwt": {"claims": {"sub": ""}, "scopes": None}},
    {"jwt": {"claims": {"sub": None}, "scopes": None}},
    {"jwt": {"claims": {"sub": 42}, "scopes": None}},
    {"jwt": {"claims": {"sub": ["alice"]}, "scopes": None}},
    {"jwt": {"claims": {"sub": {"id": "alice"}}, "scopes": None}},
    {"jwt": {"claims": {"client_id": ""}, "scopes": None}},
    {"jwt": {"claims": {"client_id": None, "sub": ""}, "scopes": None}},
    {"jwt": {"claims": {"username": "alice", "cognito:username": "alice"}, "scopes": ["faceid/start"]}},
    {"claims": None},
    {"claims": {}},
    {"claims": {"aud": "faceid-fn"}},  # a REST Cognito authorizer's claims without sub or client_id
    {"claims": {"sub": ""}, "principalId": "alice"},  # claims decide: they name no caller
    {"principalId": ""},
    {"principalId": None},
    {"principalId": 7},
    {"principalId": ["alice"]},
    {"lambda": {"user": "alice", "sub": "alice"}},  # an HTTP API Lambda authorizer's context: no principal
    {"iam": {"accessKey": "AKIAEXAMPLE", "userId": "AIDAEXAMPLE"}},
    {"integrationLatency": 0},
    "alice",
    ["alice"],
]


def authorizers() -> st.SearchStrategy[Any]:
    return st.sampled_from(NO_CALLER)


# -- whole events -----------------------------------------------------------------------------------

METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE", "HEAD", "post", "Get", "OPTIONS", "TRACE"]
BODIES = [START_BODY] * 3 + [None, "", "not json", "[" * 40 + "]" * 40, "{}", json.dumps({"Extra": "x"})]
CONTENT_TYPES = ["application/json"] * 4 + ["Application/JSON; charset=utf-8", None, "text/plain"]


@dataclass
class Request:
    event: dict[str, Any]
    method: str


@st.composite
def requests_without_a_caller(draw: st.DrawFn) -> Request:
    kind = draw(st.sampled_from(KINDS))
    method, path = draw(st.sampled_from(ROUTES))
    if draw(st.booleans()):
        method = draw(st.sampled_from(METHODS))
    path = draw(paths(path))
    event = copy.deepcopy(TEMPLATES[kind])
    context = event["requestContext"]
    context["requestId"] = "fuzz-auth"
    body = draw(st.sampled_from(BODIES))
    event["body"] = body
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        headers["Content-Type" if kind == "rest" else "content-type"] = content_type
    if draw(st.booleans()):
        headers["authorization"] = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"  # never read
    if draw(st.booleans()):
        headers["Idempotency-Key" if kind == "rest" else "idempotency-key"] = draw(st.sampled_from(["k-1", "k-2"]))
    event["headers"] = headers
    query = draw(st.sampled_from([None, {"include": "media"}, {"include": "x"}]))
    if kind == "rest":
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        event["path"] = path
        event["httpMethod"] = method
        event["resource"] = draw(st.sampled_from(["/{proxy+}", path, "/verifications"]))
        event["pathParameters"] = {"proxy": path.lstrip("/")}
        context["resourcePath"], context["httpMethod"] = event["resource"], method
        context["path"] = "/prod" + path
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    else:
        event["rawPath"] = path
        context["http"]["path"], context["http"]["method"] = path, method
        route_key = "$default"
        if kind == "http":
            route_key = draw(st.sampled_from(["$default", "$default", f"{method} {path}", "ANY /{proxy+}"]))
            if path.startswith("/prod"):  # a named stage: HTTP APIs keep it in rawPath
                context["stage"] = draw(st.sampled_from(["prod", "$default"]))
        event["routeKey"] = context["routeKey"] = route_key
        if query:
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
            event["queryStringParameters"] = query
    authorizer = draw(authorizers())
    if authorizer is not MISSING:
        context["authorizer"] = copy.deepcopy(authorizer)
    if draw(st.integers(0, 9)) == 0:  # claims where API Gateway never puts them
        event["authorizer"] = {"jwt": {"claims": {"sub": OWNER}}}
    return Request(event=event, method=method)


# -- spies ------------------------------------------------------------------------------------------


class Spies:
    """Counts every call of the ledger, the photo read and the idempotency store, and reads the FaceID
    emulator's record of calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
        from faceid_fn.adapters.aws.idempotency import Idempotency
        from faceid_fn.adapters.aws.ledger import Ledger
        from faceid_fn.adapters.tencent.cos import Cos

        self.emulator = emulator
        self.calls: dict[str, int] = {}
        targets = [
            (Ledger, ("record_start", "get", "claim", "announced", "lease", "look_again", "due")),
            (Cos, ("read",)),
            (Idempotency, ("once", "register")),
        ]
        for owner, names in targets:
            for name in names:
                monkeypatch.setattr(owner, name, self._counted(f"{owner.__name__}.{name}", getattr(owner, name)))

    def _counted(self, label: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[label] = self.calls.get(label, 0) + 1
            return method(*args, **kwargs)

        return counted

    def seen(self) -> dict[str, int]:
        return {**self.calls, "FaceID": len(self.emulator.state.calls)}

    def reset(self) -> None:
        self.calls.clear()
        self.emulator.state.calls.clear()


@pytest.fixture
def spies(
    configure: Callable[..., None], emulator: Emulator, cos_server: str, monkeypatch: pytest.MonkeyPatch
) -> Spies:
    create_ledger_and_bus()
    cos_put(cos_server, PHOTO_KEY, png())
    configure(
        FACEID_FLOW="intl",
        AUTH_REQUIRED="true",
        SESSIONS_TABLE=SESSIONS_TABLE,
        EVENT_BUS_NAME=EVENT_BUS,
        IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE,
        COS_ENDPOINT=cos_server,
        API_BASE_PATHS=BASE_PATH,
        FACEID_TIMEOUT_S="2",
    )
    emulator.state.rate_limit = 10**9  # not testing throttling here
    return Spies(monkeypatch, emulator)


def call(event: dict[str, Any]) -> dict[str, Any]:
    import handler

    result: dict[str, Any] = handler.handler(event, LambdaContext())
    return result


def with_caller(event: dict[str, Any], kind: str) -> dict[str, Any]:
    claims = {"sub": OWNER}
    event["requestContext"]["authorizer"] = {"claims": claims} if kind == "rest" else {"jwt": {"claims": claims}}
    return event


def test_the_spies_see_what_a_caller_starts_and_reads(spies: Spies) -> None:
    # The invariant below has teeth: with a caller, the same events start a session (photo read,
    # FaceID called, ledger written) and read it back.
    for kind in KINDS:
        spies.reset()
        event = with_caller(copy.deepcopy(TEMPLATES[kind]), kind)
        event["body"] = START_BODY
        started = call(event)
        assert started["statusCode"] == 201, started
        assert spies.seen() == {"Cos.read": 1, "Ledger.record_start": 1, "FaceID": 1}
        spies.reset()
        read = with_caller(copy.deepcopy(TEMPLATES[kind]), kind)
        path = f"/verifications/{json.loads(started['body'])['BizToken']}"
        read["body"] = None
        if kind == "rest":
            read["path"], read["httpMethod"] = path, "GET"
        else:
            read["rawPath"] = read["requestContext"]["http"]["path"] = path
            read["requestContext"]["http"]["method"] = "GET"
        answer = call(read)
        assert answer["statusCode"] == 200, answer
        assert spies.seen()["Ledger.get"] == 1
        assert spies.seen()["FaceID"] == 1


def test_no_caller_no_operation(spies: Spies) -> None:
    drawn = 0
    answers: dict[int, int] = {}

    @settings(
        max_examples=examples(10_000),
        derandomize=True,  # a fixed seed: the same requests on every run
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests_without_a_caller())
    def no_caller(request: Request) -> None:
        nonlocal drawn
        drawn += 1
        spies.reset()
        result = call(request.event)
        status = result["statusCode"]
        answers[int(status)] = answers.get(int(status), 0) + 1
        # no 2xx, but the CORS preflight's empty 204 (answered before any route)
        if request.method.upper() == "OPTIONS":
            assert (status, result["body"]) == (204, ""), result
        else:
            assert status in (401, 404, 415), result
        assert spies.seen() == {"FaceID": 0}, (request.event, result)

    no_caller()
    assert drawn >= examples(10_000)
    # and a good share of them reached an operation (a 401 comes from the operation, not the router)
    assert answers.get(401, 0) >= examples(10_000) // 5, answers
