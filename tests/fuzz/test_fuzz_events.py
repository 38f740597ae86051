"""Property tests: no input, however malformed, gets a 5xx, a stack trace or an unhandled exception.

Hypothesis generates bodies, headers and whole events (HTTP API 2.0, REST 1.0, Function URL, S3, COS)
with a fixed seed (derandomize); each example runs the real handler against the FaceID emulator and
moto. Each test draws its own count (its full count under `make fuzz`, a fifth in `make test`: budget.py)
and fails if hypothesis drew fewer; the counts are recorded in test-output/fuzz-counts.json.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aws import (
    EVENT_BUS,
    IDEMPOTENCY_TABLE,
    SESSIONS_TABLE,
    UPLOAD_BUCKET,
    cos_record,
    create_ledger_and_bus,
    s3_record,
)
from tests.conftest import COS_URL, ROOT, VALID_MD5, Emulator, LambdaContext, http_event, load_event
from tests.fuzz import budget

pytestmark = pytest.mark.usefixtures("aws")

COUNTS_FILE = ROOT / "test-output" / "fuzz-counts.json"


def fuzz(examples: int) -> settings:
    return settings(FUZZ_BASE, max_examples=budget.examples(examples))


FUZZ_BASE = settings(
    derandomize=True,  # a fixed seed: the same inputs on every run
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def spend(counts: dict[str, int], name: str, examples: int, prop: Callable[[], None]) -> None:
    """Run the property `prop` (a @given function counting its own calls in counts[name]) and check that
    hypothesis drew its whole budget: it may stop early (e.g. when it cannot generate enough distinct
    inputs). Each test checks its own count, so that every test passes run alone or in any order."""
    counts[name] = 0
    fuzz(examples)(prop)()
    assert counts[name] >= budget.examples(examples), counts


HOSTILE_URLS = [
    COS_URL,
    "https%3A%2F%2Fphotos-1250000000.cos.ap-singapore.myqcloud.com%2Fa.jpg",
    "https%253A%252F%252Fphotos-1250000000.cos.ap-singapore.myqcloud.com%252Fa.jpg",
    "https://photos-1250000000.cos.ap-singapore.myqcloud.com@evil.com/a.jpg",
    "https://evil.com\\@photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
    "https://photos-1250000000.cos.ap-singapore.myqcloud.com:99999/a.jpg",
    "https://[::1]/a.jpg",
    "https://\uff50hotos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",  # fullwidth p
    "https://photos-1250000000.cos.ap-singapore.myqcloud.com\u3002/a.jpg",  # ideographic full stop
    "https://photos-\u0661\u0662\u0663\u0664\u0665.cos.ap-singapore.myqcloud.com/a.jpg",  # Arabic-Indic digits
    "http://127.0.0.1:9000/a.jpg",
    "file:///etc/passwd",
    "//photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg",
    "",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_values = st.one_of(st.sampled_from(HOSTILE_URLS), st.text(max_size=80), json_values)
bodies = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "CompareImageUrl": field_values,
            "CompareImageMd5": st.one_of(st.just(VALID_MD5), st.text(max_size=40), json_values),
            "RedirectUrl": st.one_of(st.sampled_from([*HOSTILE_URLS, "https://app.example.com/x"]), json_values),
            "Extra": json_values,
        },
    ).map(json.dumps),
)
header_names = st.sampled_from(["content-type", "idempotency-key", "authorization", "x-forwarded-for", "cookie"])
headers = st.dictionaries(header_names | st.text(min_size=1, max_size=20), st.text(max_size=300), max_size=5)


@pytest.fixture(scope="module")
def counts() -> Iterator[dict[str, int]]:
    tally: dict[str, int] = {}
    yield tally
    COUNTS_FILE.parent.mkdir(exist_ok=True)
    COUNTS_FILE.write_text(json.dumps({**tally, "total": sum(tally.values())}, indent=2) + "\n")


@pytest.fixture
def run(configure: Callable[..., None], emulator: Emulator, cos_server: str) -> Callable[[Any], Any]:
    configure(IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE, COS_ENDPOINT=cos_server, FACEID_TIMEOUT_S="2")
    emulator.state.rate_limit = 10**9  # the fuzzer is not testing throttling
    import handler

    def call(event: Any) -> Any:
        return handler.handler(event, LambdaContext())

    return call


def assert_http_answer(result: Any) -> None:
    assert isinstance(result, dict)
    assert isinstance(result.get("statusCode"), int)
    assert result["statusCode"] < 500, result
    body = json.loads(result["body"])
    if result["statusCode"] >= 400:
        assert set(body) == {"Error", "RequestId"}
        assert body["Error"]["Code"]
        assert body["Error"]["Message"]
        assert "Traceback" not in result["body"]


def test_http_bodies_and_headers(run: Callable[[Any], Any], counts: dict[str, int]) -> None:
    @given(kind=st.sampled_from(["http", "rest", "function_url"]), body=bodies, extra_headers=headers)
    def prop(kind: str, body: str, extra_headers: dict[str, str]) -> None:
        counts["http_bodies_and_headers"] += 1
        assert_http_answer(run(http_event(kind, raw_body=body, headers=extra_headers)))

    spend(counts, "http_bodies_and_headers", 3000, prop)


# Every draw below has the same bounds whatever the event looks like (an index is drawn from a fixed range,
# then taken modulo the keys there are): the strategy's shape depends on nothing but its own draws, which
# hypothesis requires (FlakyStrategyDefinition otherwise). Drawn values are copied before they are changed.
PICK = st.integers(0, 63)
ACTIONS = st.sampled_from(["keep", "drop", "replace", "recurse"])


def mutate(event: Any, draw: Any) -> Any:
    """Replace, drop or retype values at random paths of an event."""
    pick, action = draw(PICK), draw(ACTIONS)
    if isinstance(event, dict) and event:
        key = sorted(event)[pick % len(event)]
        if action == "drop":
            event.pop(key)
        elif action == "replace":
            event[key] = copy.deepcopy(draw(json_values))
        elif action == "recurse":
            event[key] = mutate(event[key], draw)
    elif isinstance(event, list) and event:
        event[pick % len(event)] = mutate(event[pick % len(event)], draw)
    return event


@st.composite
def http_events(draw: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(draw(st.sampled_from(["http", "rest", "function_url"]))))
    for _ in range(draw(st.integers(1, 4))):
        event = mutate(event, draw)
    if draw(st.booleans()):
        event["isBase64Encoded"] = True
        event["body"] = draw(st.text(max_size=60))
    return event


def test_whole_http_events(run: Callable[[Any], Any], counts: dict[str, int]) -> None:
    @given(event=http_events())
    def prop(event: dict[str, Any]) -> None:
        counts["whole_http_events"] += 1
        result = run(copy.deepcopy(event))
        if "statusCode" in result:
            assert_http_answer(result)
        else:  # no longer recognisable as an HTTP event: answered as unsupported, not crashed
            assert set(result) in ({"Error"}, {"Sessions", "Failures"})

    spend(counts, "whole_http_events", 3000, prop)


@st.composite
def upload_events(draw: Any) -> dict[str, Any]:
    records = []
    for _ in range(draw(st.integers(1, 3))):
        data = draw(st.binary(max_size=40))
        kind = draw(st.sampled_from(["s3", "cos", "other"]))
        if kind == "s3":
            record: Any = s3_record(UPLOAD_BUCKET, draw(st.text(min_size=1, max_size=30)), data)
        elif kind == "cos":
            record = cos_record(
                draw(st.text(min_size=1, max_size=30)),
                size=len(data),
                md5_meta=draw(st.sampled_from([None, VALID_MD5, "zz"])),
            )
        else:
            record = copy.deepcopy(draw(json_values))
        for _ in range(draw(st.integers(0, 3))):
            record = mutate(record, draw)
        records.append(record)
    return {"Records": records}


def test_upload_events(run: Callable[[Any], Any], counts: dict[str, int]) -> None:
    from faceid_fn.entrypoints.uploads import UploadsIncomplete

    @given(event=upload_events())
    def prop(event: dict[str, Any]) -> None:
        counts["upload_events"] += 1
        try:
            result = run(copy.deepcopy(event))  # the handler may change what it is given; the example stays as drawn
        except UploadsIncomplete as exc:  # the one exception allowed: a retryable failure, with its summary
            summary = json.loads(str(exc))
            assert any(f["Retryable"] for f in summary["Failures"])
            return
        assert set(result) in ({"Sessions", "Failures"}, {"Error"})

    spend(counts, "upload_events", 4000, prop)


@pytest.fixture
def run_intl_with_auth(configure: Callable[..., None], emulator: Emulator, cos_server: str) -> Callable[[Any], Any]:
    """The other configuration a deployment may run: the intl flow (photos read from COS), JWT auth on."""
    create_ledger_and_bus()
    configure(
        FACEID_FLOW="intl",
        AUTH_REQUIRED="true",
        SESSIONS_TABLE=SESSIONS_TABLE,
        EVENT_BUS_NAME=EVENT_BUS,
        IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE,
        COS_ENDPOINT=cos_server,
        FACEID_TIMEOUT_S="2",
    )
    emulator.state.rate_limit = 10**9
    import handler

    def call(event: Any) -> Any:
        return handler.handler(event, LambdaContext())

    return call


claims = st.one_of(
    st.none(),
    st.fixed_dictionaries({"sub": st.one_of(st.text(max_size=40), json_values)}),
    json_values,
)


def test_http_under_the_intl_flow_with_auth_required(
    run_intl_with_auth: Callable[[Any], Any], counts: dict[str, int]
) -> None:
    @given(kind=st.sampled_from(["http", "rest", "function_url"]), body=bodies, extra_headers=headers, jwt=claims)
    def prop(kind: str, body: str, extra_headers: dict[str, str], jwt: Any) -> None:
        counts["http_intl_auth"] += 1
        event = http_event(kind, raw_body=body, headers=extra_headers)
        if jwt is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": jwt, "scopes": None}}
        assert_http_answer(run_intl_with_auth(event))

    spend(counts, "http_intl_auth", 1000, prop)
