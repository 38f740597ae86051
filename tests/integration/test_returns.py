"""The person's return (GET /return?token=...) and the reads the ledger answers: the outcome is recorded and
announced the moment the browser comes back, a token costs FaceID at most one read per few seconds however
often it is hit, a final session is read from the ledger, and a pending one's polls are coalesced.

handler -> SDK -> FaceID emulator (intl flow), the ledger, bus and pacing table in moto.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from tests.aws import AWS_REGION, SESSIONS_TABLE, completion_events
from tests.conftest import Emulator, Response, http_event
from tests.integration import test_sessions
from tests.integration.test_auth import with_jwt_claims
from tests.integration.test_sessions import get, item, set_item, start_as

env, queue = test_sessions.env, test_sessions.queue  # the ledger, bus and function of test_sessions.py

Invoke = Callable[[dict[str, Any]], Response]
RESULT_READ = "GetWebVerificationResultIntl"
APP_PAGE = "https://app.example.com/verification-done"
RETURN_ROUTE = "https://abc123.execute-api.ap-southeast-1.amazonaws.com/return"


def back(invoke: Invoke, query: str | None) -> Response:
    """The person's browser following FaceID's redirect to the return route (no caller token)."""
    event = http_event(method="GET", path="/return")
    event["body"] = None
    if query is not None:
        event["rawQueryString"] = query
        event["queryStringParameters"] = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    return invoke(event)


def person_finishes(session: dict[str, Any], outcome: str) -> str:
    """The person passes or fails on FaceID's page, which sends the browser to the session's RedirectURL."""
    answer = requests.post(session["VerificationUrl"], data={"outcome": outcome}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def reads(emulator: Emulator, token: str) -> int:
    return sum(1 for c in emulator.calls if c["action"] == RESULT_READ and c["params"].get("BizToken") == token)


def test_the_return_records_and_announces_the_outcome_then_sends_the_browser_to_the_apps_page(
    invoke: Invoke, queue: str, emulator: Emulator
) -> None:
    # GIVEN a session, and the person passing on FaceID's page, which sends the browser to our return route
    session = start_as(invoke, None)
    location = person_finishes(session, "pass")
    assert location == f"{RETURN_ROUTE}?token={session['BizToken']}"
    # WHEN the browser follows it
    answer = back(invoke, urlsplit(location).query)
    # THEN it is sent on to the app's page with the token, at once, and the page says nothing of the outcome
    assert answer.status == 303
    assert answer.headers["location"] == f"{APP_PAGE}?token={session['BizToken']}"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["content-type"].startswith("text/html")
    assert "passed" not in answer.body
    assert "ErrorCode" not in answer.body
    # AND the outcome was read once, recorded, and announced once
    assert reads(emulator, session["BizToken"]) == 1
    assert item(session["BizToken"])["Status"] == {"S": "passed"}
    [event] = completion_events(queue)
    assert (event["detail"]["BizToken"], event["detail"]["Status"]) == (session["BizToken"], "passed")


def test_a_return_url_hit_again_and_again_costs_one_read_and_a_final_one_none(
    invoke: Invoke, queue: str, emulator: Emulator
) -> None:
    # GIVEN a person still on the page (FaceID says 17, not finished) whose return URL is hit ten times
    session = start_as(invoke, None)
    requests.get(session["VerificationUrl"], timeout=5)  # the page opened: pending
    answers = [back(invoke, f"token={session['BizToken']}") for _ in range(10)]
    # THEN every hit is redirected, and FaceID was read once
    assert {a.status for a in answers} == {303}
    assert reads(emulator, session["BizToken"]) == 1
    # AND once the session is final, hits read nothing at all
    person_finishes(session, "fail")
    set_item(session["BizToken"], ReturnReadAt=0)  # as if the few seconds had passed
    assert back(invoke, f"token={session['BizToken']}").status == 303
    assert reads(emulator, session["BizToken"]) == 2
    assert item(session["BizToken"])["Status"] != {"S": "pending"}
    set_item(session["BizToken"], ReturnReadAt=0)
    assert back(invoke, f"token={session['BizToken']}").status == 303
    assert reads(emulator, session["BizToken"]) == 2
    assert len(completion_events(queue)) == 1


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("token=C0FFEE00-0000-4000-8000-000000000001", 404),  # the shape of a token, unknown
        (None, 400),
        ("token=", 400),
        ("token=../../etc", 400),
        ("token=%3Cscript%3E", 400),
        ("token=" + "A" * 129, 400),
        # repeated: API Gateway's HTTP API joins the values with commas
        ("token=C0FFEE00-0000-4000-8000-000000000001,C0FFEE00-0000-4000-8000-000000000002", 400),
    ],
)
def test_an_unknown_or_malformed_token_gets_a_plain_page_and_reads_nothing(
    invoke: Invoke, queue: str, emulator: Emulator, query: str | None, status: int
) -> None:
    answer = back(invoke, query)
    assert answer.status == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "location" not in answer.headers
    assert "<script>" not in answer.body  # nothing of the request is echoed
    assert [c for c in emulator.calls if c["action"] == RESULT_READ] == []


def test_with_faceid_failing_the_browser_still_goes_on_and_the_sweep_looks_soon(
    invoke: Invoke, queue: str, emulator: Emulator
) -> None:
    session = start_as(invoke, None)
    person_finishes(session, "pass")
    emulator.fault(code="InternalError", action=RESULT_READ, count=10)
    started = time.monotonic()
    answer = back(invoke, f"token={session['BizToken']}")
    assert answer.status == 303
    assert answer.headers["location"] == f"{APP_PAGE}?token={session['BizToken']}"
    assert time.monotonic() - started < 10  # within the return's own budget, not FACEID_TIMEOUT_S's retries
    stored = item(session["BizToken"])
    assert stored["Status"] == {"S": "pending"}
    # the sweep's first look moves from the token's end (10 minutes away) to a minute from now
    assert int(stored["SweepAt"]["N"]) <= time.time() + 61
    assert completion_events(queue) == []


def test_with_the_ledger_failing_the_browser_gets_a_plain_page(invoke: Invoke, queue: str, emulator: Emulator) -> None:
    session = start_as(invoke, None)
    boto3.client("dynamodb", region_name=AWS_REGION).delete_table(TableName=SESSIONS_TABLE)
    answer = back(invoke, f"token={session['BizToken']}")
    assert answer.status == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.body
    assert "StoreUnavailable" not in answer.body
    assert reads(emulator, session["BizToken"]) == 0


def test_the_return_is_public_with_auth_on_and_sends_the_browser_to_the_starts_own_page(
    invoke: Invoke, queue: str, env: Callable[..., None]
) -> None:
    env(AUTH_REQUIRED="true", FACEID_REDIRECT_HOSTS="app.example.com,other.example.org")
    session = start_as(invoke, "alice", RedirectUrl="https://other.example.org/done?order=9")
    person_finishes(session, "pass")
    answer = back(invoke, f"token={session['BizToken']}")  # no claims: the person's browser
    assert answer.status == 303
    assert answer.headers["location"] == f"https://other.example.org/done?order=9&token={session['BizToken']}"
    assert item(session["BizToken"])["Status"] == {"S": "passed"}


# -- reads answered from the ledger -----------------------------------------------------------------


def test_a_final_sessions_read_is_the_ledgers_with_no_faceid_read(
    invoke: Invoke, queue: str, emulator: Emulator, env: Callable[..., None]
) -> None:
    env(AUTH_REQUIRED="true")
    session = start_as(invoke, "alice", Extra="order-17")
    back(invoke, urlsplit(person_finishes(session, "pass")).query)
    assert reads(emulator, session["BizToken"]) == 1
    from_faceid = requests.get(f"{emulator.url}/__emulator__/sessions", timeout=5).json()
    assert any(s["BizToken"] == session["BizToken"] for s in from_faceid)
    # WHEN the owner reads it five times
    answers = [get(invoke, session["BizToken"], "alice") for _ in range(5)]
    # THEN FaceID was not read again, and the answer is what the read that found it kept
    assert reads(emulator, session["BizToken"]) == 1
    body = answers[0].body
    assert {a.status for a in answers} == {200}
    assert (body["Status"], body["ErrorCode"], body["Extra"]) == ("passed", 0, "order-17")
    assert [detail["ErrorCode"] for detail in body["VerificationDetailList"]][-1:] == [0]
    [event] = completion_events(queue)
    assert body["RequestId"] == event["detail"]["RequestId"]  # FaceID's, of the read that found it
    # AND media still cost a read (the ledger keeps none)
    assert get(invoke, session["BizToken"], "alice", query="include=media").body["BestFrameBase64"]
    assert reads(emulator, session["BizToken"]) == 2


def test_an_apps_polls_of_a_pending_session_are_coalesced(invoke: Invoke, queue: str, emulator: Emulator) -> None:
    # GIVEN a session whose person is still on the page, polled ten times in a row
    session = start_as(invoke, None)
    polls = [get(invoke, session["BizToken"]) for _ in range(10)]
    # THEN each answer is pending, and FaceID was read once
    assert {(p.status, p.body["Status"]) for p in polls} == {(200, "pending")}
    assert reads(emulator, session["BizToken"]) == 1
    stored = item(session["BizToken"])
    assert stored["OwnerReads"] == {"N": "1"}
    assert 4 <= float(stored["NextReadAt"]["N"]) - time.time() <= 5  # the next may reach FaceID 5 s later
    # AND after that gap the next poll reads FaceID, and the gap after it doubles
    set_item(session["BizToken"], NextReadAt=0)
    get(invoke, session["BizToken"])
    assert reads(emulator, session["BizToken"]) == 2
    assert 9 <= float(item(session["BizToken"])["NextReadAt"]["N"]) - time.time() <= 10
    # AND once the person has finished and come back, polls are the ledger's
    back(invoke, urlsplit(person_finishes(session, "pass")).query)
    assert reads(emulator, session["BizToken"]) == 3
    assert get(invoke, session["BizToken"]).body["Status"] == "passed"
    assert reads(emulator, session["BizToken"]) == 3


def test_a_token_the_ledger_does_not_hold_is_unknown_without_a_faceid_read(
    invoke: Invoke, queue: str, emulator: Emulator
) -> None:
    answer = get(invoke, "C0FFEE00-0000-4000-8000-000000000003")
    assert answer.status == 404
    assert answer.body["Error"]["Code"] == "InvalidParameterValue.BizTokenIllegal"
    assert [c for c in emulator.calls if c["action"] == RESULT_READ] == []


def test_another_callers_read_stays_unknown(invoke: Invoke, queue: str, env: Callable[..., None]) -> None:
    env(AUTH_REQUIRED="true")
    session = start_as(invoke, "alice")
    event = http_event(method="GET", path=f"/verifications/{session['BizToken']}")
    event["body"] = None
    assert invoke(with_jwt_claims(event, "mallory")).status == 404


# -- the sweep: at most two reads of a session nobody brought back ----------------------------------


def test_the_sweep_reads_a_session_nobody_brought_back_at_most_twice(
    invoke: Invoke, queue: str, emulator: Emulator
) -> None:
    from datetime import UTC, datetime

    from faceid_fn.entrypoints.dispatch import dispatch_sweep
    from tests.conftest import LambdaContext
    from tests.integration.test_sessions import scheduled_event

    def sweep() -> dict[str, Any]:
        return dispatch_sweep(scheduled_event(), LambdaContext())

    # GIVEN a person who opened the page and never finished (FaceID says 17), nobody reading the session
    session = start_as(invoke, None)
    requests.get(session["VerificationUrl"], timeout=5)
    token, now = session["BizToken"], int(datetime.now(UTC).timestamp())
    assert int(item(token)["SweepAt"]["N"]) == int(item(token)["TokenExpiresAt"]["N"]) + 30  # not before
    assert sweep()["Due"] == 0
    # WHEN its token ran out a minute ago: the first look finds it still pending, and sets the last look
    set_item(token, SweepAt=0, TokenExpiresAt=now - 60)
    assert (sweep()["StillPending"], reads(emulator, token)) == (1, 1)
    assert int(item(token)["SweepAt"]["N"]) == now - 60 + 240
    assert sweep()["Due"] == 0  # nothing to read until then: runs every minute read nothing
    # AND at the last look (240 s after the token's end) it is settled as expired
    set_item(token, SweepAt=0, TokenExpiresAt=now - 240)
    assert (sweep()["Final"], reads(emulator, token)) == (1, 2)
    [event] = completion_events(queue)
    assert (event["detail"]["BizToken"], event["detail"]["Status"]) == (token, "expired")
    # THEN it is out of the index: no run reads it again
    assert "SweepShard" not in item(token)
    assert (sweep()["Due"], reads(emulator, token)) == (0, 2)
