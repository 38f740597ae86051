"""The session ledger: owner-only reads, exactly one completion event per session, the scheduled sweep.

handler -> SDK -> FaceID emulator over HTTP, with moto for DynamoDB (the ledger as serverless.yml
declares it), EventBridge (a rule copies every completion event to an SQS queue the tests count) and S3.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from faceid_fn.adapters.aws.ledger import SHARDS
from faceid_fn.domain.sessions import sweep_shard
from local.sample_photo import png
from tests.aws import (
    AWS_REGION,
    COS_BUCKET,
    EVENT_BUS,
    PACING_TABLE,
    SESSIONS_TABLE,
    completion_events,
    cos_put,
    create_ledger_and_bus,
    md5,
)
from tests.conftest import EVENTS, Emulator, LambdaContext, LogLines, Response, http_event
from tests.integration.test_auth import with_jwt_claims
from tests.integration.test_results import finish

Invoke = Callable[[dict[str, Any]], Response]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ALLOWED_DETAIL = {
    "BizToken",
    "Status",
    "ErrorCode",
    "ErrorMsg",
    "Owner",
    "Source",
    "Extra",
    "RequestId",
    "CompletedAt",
}


PHOTO_KEY = "reference/alice/alice.png"  # in alice's own folder: hers to use with auth on


@pytest.fixture
def env(aws: None, configure: Callable[..., None], cos_server: str) -> Callable[..., None]:
    """The function (default, intl flow: the photo is read from the COS stand-in) with the ledger and the bus."""
    cos_put(cos_server, PHOTO_KEY, png())

    def apply(**overrides: str) -> None:
        base = {"SESSIONS_TABLE": SESSIONS_TABLE, "EVENT_BUS_NAME": EVENT_BUS, "COS_ENDPOINT": cos_server}
        configure(**{**base, **overrides})

    return apply


@pytest.fixture
def queue(env: Callable[..., None]) -> str:
    """The ledger and the bus in moto (a queue collects the events), and the function configured to use them."""
    url = create_ledger_and_bus()
    env(FACEID_PACING_TABLE=PACING_TABLE)
    return url


def start_body(**extra: str) -> dict[str, Any]:
    url = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
    return {"CompareImageUrl": url, "CompareImageMd5": md5(png()), **extra}


def get(invoke: Invoke, token: str, caller: str | None = None, query: str = "") -> Response:
    event = http_event(method="GET", path=f"/verifications/{token}")
    event["body"] = None
    if query:
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict([query.split("=")])
    return invoke(with_jwt_claims(event, caller) if caller else event)


def start_as(invoke: Invoke, caller: str | None, *, photo: bool = True, **extra: str) -> dict[str, Any]:
    event = http_event(body=start_body(**extra) if photo else extra)
    response = invoke(with_jwt_claims(event, caller) if caller else event)
    assert response.status == 201, response.body
    return dict(response.body)


def item(token: str) -> dict[str, Any]:
    answer = boto3.client("dynamodb", region_name=AWS_REGION).get_item(
        TableName=SESSIONS_TABLE, Key={"BizToken": {"S": token}}, ConsistentRead=True
    )
    return dict(answer.get("Item", {}))


def set_item(token: str, **numbers: int) -> None:
    """Move a ledger item's clock fields (SweepAt, TokenExpiresAt) as if time had passed."""
    names = {f"#{k}": k for k in numbers}
    values = {f":{k}": {"N": str(v)} for k, v in numbers.items()}
    boto3.client("dynamodb", region_name=AWS_REGION).update_item(
        TableName=SESSIONS_TABLE,
        Key={"BizToken": {"S": token}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in numbers),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def scheduled_event() -> dict[str, Any]:
    return dict(json.loads((EVENTS / "scheduled-sweep.json").read_text()))


# -- the ledger ---------------------------------------------------------------------------------------


def test_a_started_session_is_recorded_with_its_owner_and_nothing_of_the_person(
    invoke: Invoke, queue: str, env: Callable[..., None]
) -> None:
    env(AUTH_REQUIRED="true")
    session = start_as(invoke, "alice")
    stored = item(session["BizToken"])
    assert stored["Owner"] == {"S": "alice"}
    assert stored["Status"] == {"S": "pending"}
    assert stored["Source"] == {"M": {"Type": {"S": "http"}}}
    assert stored["SweepShard"] == {
        "S": sweep_shard(session["BizToken"], SHARDS)
    }  # in the sweep's index until announced
    # first looked at once its token has run out: until then the return route or a read learns the outcome
    assert int(stored["SweepAt"]["N"]) == int(stored["TokenExpiresAt"]["N"]) + 30
    assert stored["AppRedirect"] == {"S": "https://app.example.com/verification-done"}
    created = datetime.fromisoformat(stored["CreatedAt"]["S"])
    assert int(stored["RemoveAt"]["N"]) == int(created.timestamp()) + 4 * 86400  # 3 days + a day's margin
    expires = datetime.fromisoformat(session["ExpiresAt"])
    assert int(stored["TokenExpiresAt"]["N"]) == int(expires.timestamp())
    assert set(stored) <= {
        "BizToken",
        "Owner",
        "Source",
        "Flow",
        "Region",
        "CreatedAt",
        "TokenExpiresAt",
        "Status",
        "SweepShard",
        "SweepAt",
        "RemoveAt",
        "AppRedirect",
    }


# -- owner-only reads -----------------------------------------------------------------------------------


def test_only_the_owner_reads_and_anyone_else_gets_the_unknown_token_answer(
    invoke: Invoke, queue: str, env: Callable[..., None], emulator: Emulator
) -> None:
    # GIVEN what an unknown token gets through our API (FaceID's answer, auth off)
    unknown = get(invoke, "C0FFEE00-0000-4000-8000-000000000000")
    # AND the JWT authorizer on, and a session alice started and finished
    env(AUTH_REQUIRED="true")
    session = start_as(invoke, "alice")
    finish(session, "pass")
    calls = len(emulator.calls)
    # WHEN bob reads alice's session, with and without media
    bob = get(invoke, session["BizToken"], "bob")
    bob_media = get(invoke, session["BizToken"], "bob", query="include=media")
    # THEN he gets exactly the unknown-token answer (status, code, message; a RequestId of the same shape)
    for answer in (bob, bob_media):
        assert answer.status == unknown.status == 404
        assert answer.body["Error"] == unknown.body["Error"]
        assert answer.body["Error"]["Code"] == "InvalidParameterValue.BizTokenIllegal"
        assert set(answer.body) == set(unknown.body) == {"Error", "RequestId"}
        assert UUID.match(answer.body["RequestId"])
        assert UUID.match(unknown.body["RequestId"])
        assert answer.headers.get("content-type") == unknown.headers.get("content-type")
    assert len(emulator.calls) == calls  # FaceID was not even asked
    # AND a token nobody started gets the same answer with auth on
    assert get(invoke, "C0FFEE00-0000-4000-8000-000000000001", "bob").body["Error"] == unknown.body["Error"]
    # AND alice reads her outcome
    alice = get(invoke, session["BizToken"], "alice")
    assert (alice.status, alice.body["Status"]) == (200, "passed")


def test_without_auth_anyone_with_the_token_reads_it(invoke: Invoke, queue: str) -> None:
    session = start_as(invoke, None)
    assert get(invoke, session["BizToken"]).status == 200
    assert get(invoke, session["BizToken"], "someone-else").status == 200


# -- exactly one event ------------------------------------------------------------------------------------


def test_the_first_final_read_announces_once_and_later_reads_do_not(
    invoke: Invoke, queue: str, env: Callable[..., None]
) -> None:
    env(AUTH_REQUIRED="true")
    session = start_as(invoke, "alice")
    assert get(invoke, session["BizToken"], "alice").body["Status"] == "pending"
    assert completion_events(queue) == []  # nothing to announce yet
    finish(session, "fail")
    set_item(session["BizToken"], NextReadAt=0)  # as if a few seconds had passed since the pending read
    first = get(invoke, session["BizToken"], "alice").body
    get(invoke, session["BizToken"], "alice")
    [event] = completion_events(queue)
    assert (event["source"], event["detail-type"]) == ("faceid-fn", "Verification Completed")
    detail = event["detail"]
    assert set(detail) == ALLOWED_DETAIL
    assert detail["BizToken"] == session["BizToken"]
    assert (detail["Status"], detail["ErrorCode"]) == (first["Status"], first["ErrorCode"])
    assert first["Status"] != "pending"
    assert (detail["Owner"], detail["Source"]) == ("alice", {"Type": "http", "Bucket": None, "Key": None})
    assert detail["RequestId"] == first["RequestId"]
    stored = item(session["BizToken"])
    assert stored["Status"] == {"S": first["Status"]}
    assert "SweepShard" not in stored  # out of the sweep's index


def test_exactly_one_event_per_session_under_concurrent_sweeps_and_reads(
    queue: str, emulator: Emulator, env: Callable[..., None], invoke: Invoke, logs: LogLines
) -> None:
    # GIVEN 12 finished sessions, all due for the sweep
    env(FACEID_PACING_TABLE=PACING_TABLE, SWEEP_RPS="20", FACEID_OWNER_STARTS="12/3600")  # 12 by one caller
    emulator.state.rate_limit = 10**6
    sessions = [start_as(invoke, None) for _ in range(12)]
    for number, session in enumerate(sessions):
        finish(session, "pass" if number % 2 else "fail")
        set_item(session["BizToken"], SweepAt=0)
    from faceid_fn.entrypoints.dispatch import dispatch, dispatch_sweep

    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def run(work: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)

    def reader(offset: int) -> Callable[[], None]:
        def read_all() -> None:
            for session in sessions[offset:] + sessions[:offset]:
                event = http_event(method="GET", path=f"/verifications/{session['BizToken']}")
                event["body"] = None
                event["queryStringParameters"] = {"include": "media"}  # always a FaceID read, never the ledger's
                assert dispatch(event, LambdaContext())["statusCode"] == 200

        return read_all

    # WHEN two sweeps and four readers go through them at once (threads, one moto DynamoDB)
    workers = [lambda: dispatch_sweep(scheduled_event(), LambdaContext()) for _ in range(2)]
    workers += [reader(offset) for offset in (0, 3, 6, 9)]
    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # THEN each session was announced exactly once
    events = completion_events(queue)
    tokens = sorted(e["detail"]["BizToken"] for e in events)
    assert tokens == sorted(s["BizToken"] for s in sessions), f"{len(events)} events for {len(sessions)} sessions"
    # AND that was decided by the ledger, not by luck: far more final reads than events
    final_reads = [r for r in logs.records("verification result read") if r["status"] != "pending"]
    print(f"concurrency: {len(final_reads)} final reads, {len(events)} events, {len(sessions)} sessions")
    assert len(final_reads) >= 4 * len(sessions)
    assert all("SweepShard" not in item(s["BizToken"]) for s in sessions)


def test_the_local_hand_off_delivers_what_the_ledger_holds_and_nothing_else(
    invoke: Invoke, queue: str, env: Callable[..., None], logs: LogLines
) -> None:
    from local.webhook_receiver import start_in_thread
    from tests.integration.test_webhooks import SECRET, completed_event, invoke_delivery

    receiver = start_in_thread(SECRET)
    try:
        env(
            AUTH_REQUIRED="true",
            LOCAL_EVENT_HANDOFF="true",
            WEBHOOK_URL=f"{receiver.url}/webhooks",
            WEBHOOK_SECRET=SECRET,
        )
        # GIVEN alice's finished session, and another of hers still pending
        done, waiting = start_as(invoke, "alice"), start_as(invoke, "alice")
        finish(done, "pass")
        # WHEN alice reads it: the read announces it, and the event is handed to the webhook code in process
        assert get(invoke, done["BizToken"], "alice").body["Status"] == "passed"
        # THEN the receiver has it, signed, from the ledger
        [delivery] = receiver.received.listing(done["BizToken"])
        assert delivery["verified"]
        assert (delivery["payload"]["data"]["Status"], delivery["payload"]["data"]["Owner"]) == ("passed", "alice")
        [event] = completion_events(queue)
        assert delivery["payload"]["data"] == event["detail"]
        # AND after a crash between the event going out and the ledger noting it, the sweep sends it again:
        # delivered again under the same webhook-id, which the receiver drops
        boto3.client("dynamodb", region_name=AWS_REGION).update_item(
            TableName=SESSIONS_TABLE,
            Key={"BizToken": {"S": done["BizToken"]}},
            UpdateExpression="SET SweepShard = :shard, SweepAt = :due",
            ExpressionAttributeValues={":shard": {"S": sweep_shard(done["BizToken"], SHARDS)}, ":due": {"N": "0"}},
        )
        assert invoke_raw(scheduled_event())["Resent"] == 1
        assert receiver.received.listing(done["BizToken"])[0]["duplicates"] == 1
        # AND a `passed` event for her pending session, or for a token nobody started, is not signed
        for token in (waiting["BizToken"], "C0FFEE00-0000-4000-8000-000000000002"):
            forged = completed_event()
            forged["detail"].update(BizToken=token, Owner="alice")
            assert invoke_delivery(forged)["Delivered"] is False
            assert receiver.received.listing(token) == []
        assert len(logs.records("completion event not held by the ledger: dropped, not signed")) == 2
    finally:
        receiver.shutdown()


# -- the sweep ---------------------------------------------------------------------------------------------


def test_the_sweep_announces_sessions_nobody_read(queue: str, invoke: Invoke, emulator: Emulator) -> None:
    # GIVEN a finished session and a pending one, both due
    done, waiting = start_as(invoke, None), start_as(invoke, None)
    finish(done, "pass")
    for session in (done, waiting):
        set_item(session["BizToken"], SweepAt=0)
    # WHEN the schedule fires
    summary = invoke_raw(scheduled_event())
    # THEN the finished one is announced, the pending one is looked at again a minute later
    assert (summary["Due"], summary["Read"], summary["Final"], summary["StillPending"]) == (2, 2, 1, 1)
    [event] = completion_events(queue)
    assert (event["detail"]["BizToken"], event["detail"]["Status"]) == (done["BizToken"], "passed")
    assert int(item(waiting["BizToken"])["SweepAt"]["N"]) > datetime.now(UTC).timestamp() + 30
    # AND a second run finds nothing due
    assert invoke_raw(scheduled_event())["Due"] == 0


def test_the_sweep_settles_a_session_past_its_expiry_as_expired(queue: str, invoke: Invoke) -> None:
    session = start_as(invoke, None)
    set_item(session["BizToken"], SweepAt=0, TokenExpiresAt=int(datetime.now(UTC).timestamp()) - 600)
    summary = invoke_raw(scheduled_event())
    assert summary["Final"] == 1
    [event] = completion_events(queue)
    assert event["detail"]["Status"] == "expired"
    assert item(session["BizToken"])["Status"] == {"S": "expired"}


def test_the_sweep_settles_a_result_faceid_no_longer_keeps_and_goes_on_after_errors(
    queue: str, invoke: Invoke, emulator: Emulator
) -> None:
    gone, flaky, fine = (start_as(invoke, None) for _ in range(3))
    finish(fine, "pass")
    for number, session in enumerate((gone, flaky, fine)):
        set_item(session["BizToken"], SweepAt=number)  # read in this order
    emulator.fault(code="InvalidParameterValue.BizTokenExpired", action="GetWebVerificationResultIntl")
    emulator.fault(code="FailedOperation.UnKnown", action="GetWebVerificationResultIntl")
    summary = invoke_raw(scheduled_event())
    assert (summary["Final"], summary["Errors"]) == (2, 1)
    statuses = {e["detail"]["BizToken"]: e["detail"]["Status"] for e in completion_events(queue)}
    # a result past FaceID's retention can no longer say what the person did: no verdict, and not `expired`
    assert statuses == {gone["BizToken"]: "error", fine["BizToken"]: "passed"}
    assert item(flaky["BizToken"])["Status"] == {"S": "pending"}  # looked at again next minute


def test_the_sweep_reads_at_most_its_cap_per_run(
    queue: str, invoke: Invoke, env: Callable[..., None], emulator: Emulator
) -> None:
    env(SWEEP_MAX_SESSIONS="2", SWEEP_RPS="20")
    sessions = [start_as(invoke, None) for _ in range(3)]
    for session in sessions:
        set_item(session["BizToken"], SweepAt=0)
    reads_before = len(emulator.calls)
    summary = invoke_raw(scheduled_event())
    assert (summary["Due"], summary["Read"]) == (2, 2)
    assert len(emulator.calls) - reads_before == 2
    assert invoke_raw(scheduled_event())["Due"] == 1  # the third one, next run


def test_the_sweep_reports_the_age_of_the_oldest_session_it_did_not_settle(
    queue: str, invoke: Invoke, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two due sessions started 40 and 20 minutes ago: the older one finished, the other still pending
    done, waiting = start_as(invoke, None), start_as(invoke, None)
    finish(done, "pass")
    now = int(datetime.now(UTC).timestamp())
    for session, minutes in ((done, 40), (waiting, 20)):
        set_item(session["BizToken"], SweepAt=0)
        boto3.client("dynamodb", region_name=AWS_REGION).update_item(
            TableName=SESSIONS_TABLE,
            Key={"BizToken": {"S": session["BizToken"]}},
            UpdateExpression="SET CreatedAt = :at",
            ExpressionAttributeValues={":at": {"S": datetime.fromtimestamp(now - minutes * 60, UTC).isoformat()}},
        )
    capsys.readouterr()
    # WHEN the schedule fires
    summary = invoke_raw(scheduled_event())
    # THEN the run reports the age of the one it could not settle (the settled, older one does not count)
    assert (summary["Final"], summary["StillPending"]) == (1, 1)
    assert 20 * 60 <= summary["OldestUnsettledAgeS"] < 21 * 60
    # AND emits it as a metric (what the operators' alarm watches)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    [metrics] = [m for m in emf if "SweepOldestUnsettledAge" in m]
    assert metrics["SweepOldestUnsettledAge"] == [summary["OldestUnsettledAgeS"]]
    units = {d["Name"]: d["Unit"] for d in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["SweepOldestUnsettledAge"] == "Seconds"
    # AND a run with nothing due reports 0
    assert invoke_raw(scheduled_event())["OldestUnsettledAgeS"] == 0


def test_an_event_that_could_not_be_sent_is_sent_by_the_sweep(
    queue: str, invoke: Invoke, env: Callable[..., None]
) -> None:
    # GIVEN a bus that does not exist yet: the owner's read finds the final status but cannot announce it
    env(EVENT_BUS_NAME="missing-bus")
    session = start_as(invoke, None)
    finish(session, "pass")
    assert get(invoke, session["BizToken"]).body["Status"] == "passed"  # the read itself is unaffected
    assert item(session["BizToken"])["Status"] == {"S": "passed"}
    assert "SweepShard" in item(session["BizToken"])
    # WHEN the bus is back and the sweep comes by
    env()
    set_item(session["BizToken"], SweepAt=0)
    summary = invoke_raw(scheduled_event())
    # THEN it is sent once, without asking FaceID again
    assert (summary["Resent"], summary["Read"]) == (1, 0)
    [event] = completion_events(queue)
    assert event["detail"]["Status"] == "passed"
    assert "SweepShard" not in item(session["BizToken"])


# -- uploads ---------------------------------------------------------------------------------------------


def test_an_uploads_owner_is_the_folder_of_its_key_and_its_metadata_only_when_asked(
    queue: str, env: Callable[..., None], invoke: Invoke, lambda_context: LambdaContext
) -> None:
    from tests.aws import UPLOAD_BUCKET, s3_record

    # GIVEN uploads whose `owner` metadata names someone else than the folder of their key (whoever may
    # write an object under reference/user-a/ may set its metadata too)
    env(AUTH_REQUIRED="true")
    s3 = boto3.client("s3", region_name=AWS_REGION)
    photo = png()
    keys = ("reference/user-a/upload.png", "reference/b.png", "reference/user-7/a.png")
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=keys[0], Body=photo, Metadata={"owner": "user-b"})
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=keys[1], Body=photo, Metadata={"owner": "user-8"})
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=keys[2], Body=photo)
    import handler

    def owners(request_id: str) -> list[str | None]:
        records = [s3_record(UPLOAD_BUCKET, key, photo, request_id=f"{request_id}-{key}") for key in keys]
        summary = handler.handler({"Records": records}, lambda_context)
        assert summary["Failures"] == []
        return [item(s["BizToken"]).get("Owner", {}).get("S") for s in summary["Sessions"]]

    # WHEN they arrive THEN the key decides: user-a owns hers, a photo outside any folder is nobody's
    summary = handler.handler({"Records": [s3_record(UPLOAD_BUCKET, keys[0], photo)]}, lambda_context)
    [session] = summary["Sessions"]
    assert item(session["BizToken"])["Owner"] == {"S": "user-a"}
    source = item(session["BizToken"])["Source"]["M"]
    assert source == {"Type": {"S": "s3"}, "Bucket": {"S": UPLOAD_BUCKET}, "Key": {"S": keys[0]}}
    assert owners("key") == ["user-a", None, "user-7"]
    # AND user-a reads her session, user-b gets the unknown-token answer
    assert get(invoke, session["BizToken"], "user-a").status == 200
    assert get(invoke, session["BizToken"], "user-b").status == 404
    # AND with UPLOAD_OWNER_FROM=metadata (a backend writing uploads with its own credentials) the metadata wins
    env(AUTH_REQUIRED="true", UPLOAD_OWNER_FROM="metadata")
    assert owners("metadata") == ["user-b", "user-8", "user-7"]


@pytest.mark.parametrize(
    ("key", "metadata", "owner_from"),
    [
        ("reference/client:svc-1/a.png", {}, "key"),
        ("reference/user-a/a.png", {"owner": "client:svc-1"}, "metadata"),
    ],
)
def test_an_upload_owned_by_a_client_identity_is_a_recorded_failure_not_retried(
    queue: str,
    env: Callable[..., None],
    emulator: Emulator,
    lambda_context: LambdaContext,
    key: str,
    metadata: dict[str, str],
    owner_from: str,
) -> None:
    from tests.aws import UPLOAD_BUCKET, s3_record

    # GIVEN an upload whose owner would be `client:svc-1`, the form of an OAuth client caller
    env(AUTH_REQUIRED="true", UPLOAD_OWNER_FROM=owner_from)
    photo = png()
    boto3.client("s3", region_name=AWS_REGION).put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=photo, Metadata=metadata)
    import handler

    # WHEN it arrives THEN no session is started (nothing asked of FaceID) and the invocation does not raise
    summary = handler.handler({"Records": [s3_record(UPLOAD_BUCKET, key, photo)]}, lambda_context)
    assert summary["Sessions"] == []
    [failure] = summary["Failures"]
    assert failure["Error"]["Code"] == "OwnerNotAllowed"
    assert failure["Retryable"] is False
    assert failure["Source"]["Key"] == key
    assert emulator.calls == []


def invoke_raw(event: dict[str, Any]) -> dict[str, Any]:
    """The sweep function, as the schedule invokes it."""
    import background

    result: dict[str, Any] = background.sweep(event, LambdaContext())
    return result


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def test_no_media_or_personal_data_in_events_or_logs(
    queue: str, invoke: Invoke, env: Callable[..., None], logs: LogLines
) -> None:
    # GIVEN an intl-flow session that also reads a document (CheckMode 1: OCR), passed by the person
    env(FACEID_INTL_CONFIG='{"CheckMode": 1}')
    session = start_as(invoke, None, photo=False, Extra="order-9")  # the document is the reference
    finish(session, "pass")
    # WHEN the owner reads it with the media (face video, best frame, card images)
    result = get(invoke, session["BizToken"], query="include=media").body
    assert result["BestFrameBase64"]
    assert result["VideoBase64"]
    personal = [v for v in strings_in([result["BestFrameBase64"], result["VideoBase64"], result.get("OCRResult")])]
    personal = [v for v in personal if len(v) >= 6 and v not in ("Success",)]
    # THEN the event carries the outcome and the caller's reference, nothing of the person
    [event] = completion_events(queue)
    assert set(event["detail"]) == ALLOWED_DETAIL
    assert event["detail"]["Extra"] == "order-9"
    text = json.dumps(event) + json.dumps(item(session["BizToken"]))
    for value in personal:
        assert value[:40] not in text
        assert value[:40] not in logs.text


def test_the_sweep_books_its_reads_on_the_shared_pacer_and_yields_to_a_burst(
    queue: str, invoke: Invoke, env: Callable[..., None], emulator: Emulator
) -> None:
    import time

    env(FACEID_PACING_TABLE=PACING_TABLE, SWEEP_RPS="5")
    sessions = [start_as(invoke, None) for _ in range(3)]
    for session in sessions:
        set_item(session["BizToken"], SweepAt=0)
    dynamodb = boto3.client("dynamodb", region_name=AWS_REGION)
    slot_key = {"id": {"S": "faceid#ap-singapore#GetWebVerificationResultIntl"}}
    # GIVEN a burst of live traffic that has booked FaceID's send slots for the next minute
    busy_until = int(time.time() * 1000) + 60_000
    dynamodb.put_item(TableName=PACING_TABLE, Item={**slot_key, "next_slot": {"N": str(busy_until)}})
    reads = len(emulator.calls)
    # WHEN the schedule fires: the sweep does not push in; it ends the run without reading
    summary = invoke_raw(scheduled_event())
    assert (summary["Read"], summary["Stopped"]) == (0, "FaceIdBusy")
    assert len(emulator.calls) == reads
    # AND once the burst is over, each read takes a slot (the shared item moves on) at SWEEP_RPS at most
    dynamodb.delete_item(TableName=PACING_TABLE, Key=slot_key)
    started = time.monotonic()
    summary = invoke_raw(scheduled_event())
    assert (summary["Read"], summary["Stopped"]) == (3, None)
    assert time.monotonic() - started >= 2 / 5  # three reads, 1/SWEEP_RPS apart
    booked = dynamodb.get_item(TableName=PACING_TABLE, Key=slot_key)["Item"]
    assert int(booked["next_slot"]["N"]) > 0
