"""The rest of a session's life: its owner lists (GET /verifications), cancels (POST .../cancel) and redacts
(POST .../redact) it. handler -> SDK -> FaceID emulator over HTTP, moto for DynamoDB (the ledger and its
ByOwner index as serverless.yml declares them), EventBridge (rules copy each event to a queue), S3 (the
upload bucket); webhooks through the local hand-off to the local receiver, signatures checked."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.sample_photo import png
from local.webhook_receiver import ReceiverServer, start_in_thread
from tests.aws import (
    AWS_REGION,
    EVENT_BUS,
    IDEMPOTENCY_TABLE,
    SESSIONS_TABLE,
    UPLOAD_BUCKET,
    completion_events,
    create_ledger_and_bus,
    s3_record,
)
from tests.conftest import LambdaContext, LogLines, Response, http_event
from tests.integration.test_auth import with_jwt_claims
from tests.integration.test_results import finish
from tests.integration.test_sessions import PHOTO_KEY, get, invoke_raw, item, scheduled_event, set_item, start_body
from tests.integration.test_webhooks import SECRET, invoke_delivery

Invoke = Callable[[dict[str, Any]], Response]
CALLERS = ("alice", "bob", "mallory")
UNKNOWN = {"Code": "InvalidParameterValue.BizTokenIllegal", "Message": "The BizToken is invalid."}


@pytest.fixture
def receiver() -> Iterator[ReceiverServer]:
    server = start_in_thread(SECRET)
    yield server
    server.shutdown()


@pytest.fixture
def stack(
    aws: None, configure: Callable[..., None], cos_server: str, receiver: ReceiverServer
) -> Callable[..., dict[str, str]]:
    """The function (intl) with the ledger, the bus, the idempotency table and webhooks handed off locally;
    returns the queues the bus fills: completions, and redactions."""
    from tests.aws import cos_put

    for caller in CALLERS:  # each caller's photo in its own folder
        cos_put(cos_server, f"reference/{caller}/photo.png", png())
    completions = create_ledger_and_bus()
    redactions = _redaction_queue()

    def apply(**overrides: str) -> dict[str, str]:
        base = {
            "AUTH_REQUIRED": "true",
            "SESSIONS_TABLE": SESSIONS_TABLE,
            "EVENT_BUS_NAME": EVENT_BUS,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "COS_ENDPOINT": cos_server,
            "LOCAL_EVENT_HANDOFF": "true",
            "WEBHOOK_URL": f"{receiver.url}/webhooks",
            "WEBHOOK_SECRET": SECRET,
            "FACEID_OWNER_STARTS": "off",
        }
        configure(**{**base, **overrides})
        return {"completions": completions, "redactions": redactions}

    return apply


def _redaction_queue() -> str:
    events, sqs = boto3.client("events", region_name=AWS_REGION), boto3.client("sqs", region_name=AWS_REGION)
    queue = sqs.create_queue(QueueName="redactions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["faceid-fn"], "detail-type": ["Verification Redacted"]}
    events.put_rule(Name="redactions", EventBusName=EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="redactions", EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return str(queue)


def call(invoke: Invoke, method: str, path: str, caller: str | None, query: dict[str, str] | None = None) -> Response:
    event = http_event(method=method, path=path)
    event["body"] = None
    if query:
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        event["queryStringParameters"] = query
    return invoke(with_jwt_claims(event, caller) if caller else event)


def listed(invoke: Invoke, caller: str | None, **query: str) -> Response:
    return call(invoke, "GET", "/verifications", caller, query or None)


def cancel(invoke: Invoke, token: str, caller: str | None) -> Response:
    return call(invoke, "POST", f"/verifications/{token}/cancel", caller)


def redact(invoke: Invoke, token: str, caller: str | None) -> Response:
    return call(invoke, "POST", f"/verifications/{token}/redact", caller)


def start(invoke: Invoke, caller: str, at: str, **headers: str) -> str:
    """A session `caller` starts over HTTP with the photo in its folder, started at `at` (CreatedAt is
    to the second: the tests give each its own)."""
    response = invoke(with_jwt_claims(http_event(body=body_of(caller), headers=headers or None), caller))
    assert response.status == 201, response.body
    token = str(response.body["BizToken"])
    _created_at(token, at)
    return token


def body_of(caller: str) -> dict[str, Any]:
    body = start_body()
    body["CompareImageUrl"] = body["CompareImageUrl"].replace(PHOTO_KEY, f"reference/{caller}/photo.png")
    return body


def upload(invoke: Invoke, owner: str, at: str) -> tuple[str, str]:
    """A session started by an upload into `owner`'s folder of the upload bucket; (BizToken, object key)."""
    key = f"reference/{owner}/selfie-ref.png"
    boto3.client("s3", region_name=AWS_REGION).put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=png())
    import handler

    summary = handler.handler({"Records": [s3_record(UPLOAD_BUCKET, key, png())]}, LambdaContext())
    [session] = summary["Sessions"]
    _created_at(session["BizToken"], at)
    return str(session["BizToken"]), key


def _created_at(token: str, at: str) -> None:
    boto3.client("dynamodb", region_name=AWS_REGION).update_item(
        TableName=SESSIONS_TABLE,
        Key={"BizToken": {"S": token}},
        UpdateExpression="SET CreatedAt = :at",
        ExpressionAttributeValues={":at": {"S": at}},
    )


def drain(queue: str) -> list[dict[str, Any]]:
    return completion_events(queue)  # any queue: it drains what the rule put there


def photo_exists(key: str) -> bool:
    try:
        boto3.client("s3", region_name=AWS_REGION).head_object(Bucket=UPLOAD_BUCKET, Key=key)
    except ClientError:
        return False
    return True


# -- a user's whole journey, with auth on -------------------------------------------------------------------


def test_list_cancel_and_redact_as_users_would_with_auth_on(
    invoke: Invoke, stack: Callable[..., dict[str, str]], receiver: ReceiverServer
) -> None:
    queues = stack()
    # GIVEN alice starts three sessions (the last from an upload into her folder), bob one
    first = start(invoke, "alice", "2026-11-25T04:00:01Z")
    second = start(invoke, "alice", "2026-11-25T04:00:02Z")
    third, photo_key = upload(invoke, "alice", "2026-11-25T04:00:03Z")
    bobs = start(invoke, "bob", "2026-11-25T04:00:04Z")
    # WHEN alice lists hers, two a page
    page = listed(invoke, "alice", limit="2")
    assert page.status == 200, page.body
    # THEN she gets her three, newest first, across two pages, and never bob's
    assert [s["BizToken"] for s in page.body["Sessions"]] == [third, second]
    assert all(s["Status"] == "pending" for s in page.body["Sessions"])
    rest = listed(invoke, "alice", limit="2", cursor=page.body["NextCursor"])
    assert [s["BizToken"] for s in rest.body["Sessions"]] == [first]
    assert rest.body["NextCursor"] is None
    assert [s["BizToken"] for s in listed(invoke, "bob").body["Sessions"]] == [bobs]
    # AND bob can neither cancel nor redact hers: the unknown-token answer, and nothing changes
    for refused in (cancel(invoke, first, "bob"), redact(invoke, third, "bob")):
        assert (refused.status, refused.body["Error"]) == (404, UNKNOWN)
    assert item(first)["Status"] == {"S": "pending"}
    assert photo_exists(photo_key)
    # WHEN alice cancels her first
    canceled = cancel(invoke, first, "alice")
    # THEN it is canceled, announced once (event and signed webhook)
    assert (canceled.status, canceled.body["Status"]) == (200, "canceled")
    [event] = drain(queues["completions"])
    assert (event["detail"]["BizToken"], event["detail"]["Status"], event["detail"]["Owner"]) == (
        first,
        "canceled",
        "alice",
    )
    [webhook] = receiver.received.listing(first)
    assert webhook["verified"]
    assert webhook["payload"]["type"] == "verification.completed"
    assert webhook["payload"]["data"]["Status"] == "canceled"
    # WHEN she redacts the one she started from an upload
    redacted = redact(invoke, third, "alice")
    # THEN its photo object is gone, the ledger keeps only what the audit needs, and it was announced once
    assert redacted.status == 200, redacted.body
    assert redacted.body["Status"] == "canceled"  # it was pending: canceled first
    assert any("uploaded reference photo" in d for d in redacted.body["Deleted"])
    assert any(r["Where"].startswith("Tencent FaceID") for r in redacted.body["Retained"])
    assert not photo_exists(photo_key)
    stored = item(third)
    assert set(stored) <= {"BizToken", "Owner", "Status", "CreatedAt", "CompletedAt", "RedactedAt", "RemoveAt"} | {
        "Source",
        "Flow",
        "Region",
        "TokenExpiresAt",
    }
    assert stored["Source"] == {"M": {"Type": {"S": "s3"}}}
    [redaction] = drain(queues["redactions"])
    assert redaction["detail"] == {
        "BizToken": third,
        "Status": "canceled",
        "Owner": "alice",
        "RedactedAt": stored["RedactedAt"]["S"],
    }
    hooks = {d["payload"]["type"]: d for d in receiver.received.listing(third)}
    assert set(hooks) == {"verification.completed", "verification.redacted"}
    assert hooks["verification.redacted"]["webhook-id"] == f"msg_{third}.redacted"
    assert hooks["verification.redacted"]["payload"]["data"] == redaction["detail"]
    # AND a cancel of it now answers 410, and the list shows what is left of it
    gone = cancel(invoke, third, "alice")
    assert (gone.status, gone.body["Error"]["Code"]) == (410, "SessionRedacted")
    summaries = {s["BizToken"]: s for s in listed(invoke, "alice").body["Sessions"]}
    assert summaries[third]["RedactedAt"] == stored["RedactedAt"]["S"]
    assert {s for s, summary in summaries.items() if summary["Status"] == "canceled"} == {first, third}
    # AND bob's cancel and redact of hers are still 404
    assert cancel(invoke, third, "bob").status == redact(invoke, first, "bob").status == 404


def test_a_redacted_session_is_read_as_gone(invoke: Invoke, stack: Callable[..., dict[str, str]]) -> None:
    stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    assert redact(invoke, token, "alice").status == 200
    read = get(invoke, token, "alice")
    assert (read.status, read.body["Error"]["Code"]) == (410, "SessionRedacted")


# -- the list ---------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_its_cursor_cannot_be_turned_into_another_owners(
    invoke: Invoke, stack: Callable[..., dict[str, str]]
) -> None:
    stack()
    tokens = [start(invoke, "alice", f"2026-11-25T04:00:0{i}Z") for i in range(1, 6)]
    start(invoke, "mallory", "2026-11-25T04:00:09Z")
    for token in tokens[1::2]:
        assert cancel(invoke, token, "alice").status == 200
    # a Status filter: the pages hold only that Status, newest first, and go on across pages
    first = listed(invoke, "alice", status="canceled", limit="1")
    assert [s["BizToken"] for s in first.body["Sessions"]] == [tokens[3]]
    second = listed(invoke, "alice", status="canceled", limit="1", cursor=first.body["NextCursor"])
    assert [s["BizToken"] for s in second.body["Sessions"]] == [tokens[1]]
    pending = listed(invoke, "alice", status="pending").body
    assert ([s["BizToken"] for s in pending["Sessions"]], pending["NextCursor"]) == (tokens[::-2], None)
    # the default page holds them all (20), no cursor
    assert len(listed(invoke, "alice").body["Sessions"]) == 5
    # alice's cursor in mallory's hands, or one rewritten to name mallory, is refused: no one else's list
    cursor = listed(invoke, "alice", limit="2").body["NextCursor"]
    assert listed(invoke, "mallory", cursor=cursor).status == 400
    position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**position, "Owner": "alice"}).encode()).decode()
    refused = listed(invoke, "mallory", cursor=forged)
    assert (refused.status, refused.body["Error"]["Code"]) == (400, "InvalidParameterValue.cursor")
    for bad in ("not-a-cursor", "e30", base64.urlsafe_b64encode(b'{"Owner":"mallory","BizToken":"x"}').decode()):
        assert listed(invoke, "mallory", cursor=bad).status == 400
    # and mallory's own cursor, whatever position it names, only walks mallory's sessions
    own = base64.urlsafe_b64encode(json.dumps({**position, "Owner": "mallory"}).encode()).decode()
    walked = listed(invoke, "mallory", cursor=own)
    assert walked.status == 200
    assert all(s["BizToken"] not in tokens for s in walked.body["Sessions"])
    # bad limits and statuses are 400s
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "done"}):
        assert listed(invoke, "alice", **query).status == 400


def test_the_list_needs_a_caller(invoke: Invoke, stack: Callable[..., dict[str, str]]) -> None:
    stack()
    no_claims = listed(invoke, None)
    assert (no_claims.status, no_claims.body["Error"]["Code"]) == (401, "Unauthorized")
    stack(AUTH_REQUIRED="false")  # auth off: no caller, no sessions of anyone's to list
    refused = listed(invoke, None)
    assert (refused.status, refused.body["Error"]["Code"]) == (403, "CallerRequired")


# -- cancel -------------------------------------------------------------------------------------------------


def test_cancel_is_final_once_whatever_faceid_says_later(
    invoke: Invoke, stack: Callable[..., dict[str, str]], receiver: ReceiverServer
) -> None:
    queues = stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    answers = [cancel(invoke, token, "alice") for _ in range(2)]
    # the same answer twice (idempotent), one event, one webhook
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].body == answers[1].body
    assert len(drain(queues["completions"])) == 1
    # the person finishes the page anyway (FaceID has no cancel); the owner's read and the sweep find `passed`
    finish({"VerificationUrl": f"{_emulator_url(invoke, token)}", "BizToken": token}, "pass")
    set_item(token, SweepAt=0)
    invoke_raw(scheduled_event())
    get(invoke, token, "alice")
    # THEN the ledger still says canceled, and nothing else was announced
    assert item(token)["Status"] == {"S": "canceled"}
    assert drain(queues["completions"]) == []
    assert len(receiver.received.listing(token)) == 1
    # AND a session that ended otherwise is not canceled: 409 naming its status
    done = start(invoke, "alice", "2026-11-25T04:00:02Z")
    finish({"VerificationUrl": _emulator_url(invoke, done), "BizToken": done}, "pass")
    assert get(invoke, done, "alice").body["Status"] == "passed"
    refused = cancel(invoke, done, "alice")
    assert refused.status == 409
    assert refused.body["Error"] == {
        "Code": "SessionFinal",
        "Message": "The session is already final (passed): it cannot be canceled",
    }


def _emulator_url(invoke: Invoke, token: str) -> str:
    from faceid_fn import container

    return f"{container.settings().faceid_endpoint}/verify/{token}"


def test_with_auth_off_whoever_has_the_token_cancels_and_redacts(
    invoke: Invoke, stack: Callable[..., dict[str, str]]
) -> None:
    stack(AUTH_REQUIRED="false")
    token = invoke(http_event(body=body_of("alice"))).body["BizToken"]
    assert cancel(invoke, token, None).body["Status"] == "canceled"
    assert redact(invoke, token, "someone-else").status == 200
    assert cancel(invoke, "C0FFEE00-0000-4000-8000-000000000009", None).body["Error"] == UNKNOWN


# -- redact -------------------------------------------------------------------------------------------------


def test_redact_is_announced_once_and_answers_the_same_every_time(
    invoke: Invoke, stack: Callable[..., dict[str, str]], receiver: ReceiverServer
) -> None:
    queues = stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    finish({"VerificationUrl": _emulator_url(invoke, token), "BizToken": token}, "liveness")
    assert get(invoke, token, "alice").body["Status"] == "failed"
    extra_before = item(token)
    assert "ResultRequestId" in extra_before
    answers = [redact(invoke, token, "alice") for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert answers[0].body == answers[1].body == answers[2].body
    assert answers[0].body["Status"] == "failed"  # a final session keeps its status
    assert len(drain(queues["redactions"])) == 1
    assert len([d for d in receiver.received.listing(token) if d["payload"]["type"] == "verification.redacted"]) == 1
    stored = item(token)
    assert not {"Extra", "ErrorMsg", "ErrorCode", "ResultRequestId"} & set(stored)
    assert stored["Status"] == {"S": "failed"}
    assert "RedactionUnsent" not in stored


def test_redact_deletes_the_stored_answer_of_the_start(invoke: Invoke, stack: Callable[..., dict[str, str]]) -> None:
    stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z", **{"Idempotency-Key": "order-77"})
    dynamodb = boto3.client("dynamodb", region_name=AWS_REGION)
    pointer = dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key={"id": {"S": f"session#{token}"}})["Item"]
    record = {"id": pointer["record"]}
    assert token in dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key=record)["Item"]["data"]["S"]
    assert redact(invoke, token, "alice").status == 200
    assert "Item" not in dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key=record)
    assert "Item" not in dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key={"id": {"S": f"session#{token}"}})


def test_the_delivery_function_signs_only_a_redaction_the_ledger_holds(
    invoke: Invoke, stack: Callable[..., dict[str, str]], receiver: ReceiverServer, logs: LogLines
) -> None:
    stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    pending = start(invoke, "alice", "2026-11-25T04:00:02Z")
    assert redact(invoke, token, "alice").status == 200
    redacted_at = item(token)["RedactedAt"]["S"]
    receiver.received.reset()

    def event(**detail: Any) -> dict[str, Any]:
        body = {"BizToken": token, "Status": "canceled", "Owner": "alice", "RedactedAt": redacted_at, **detail}
        return {"id": "evt-1", "source": "faceid-fn", "detail-type": "Verification Redacted", "detail": body}

    # the rule's event (e.g. replayed from the archive): delivered again, signed, from the ledger
    assert invoke_delivery(event())["Delivered"] is True
    [delivery] = receiver.received.listing(token)
    assert delivery["payload"]["type"] == "verification.redacted"
    # anything the ledger does not hold is dropped, not signed
    for forged in (event(Owner="bob"), event(RedactedAt="2030-01-01T00:00:00Z"), event(BizToken=pending)):
        assert invoke_delivery(forged)["Delivered"] is False
    assert invoke_delivery(event(Status="nonsense"))["Error"]["Code"] == "MalformedEvent"
    assert len(logs.records("redaction event not held by the ledger: dropped, not signed")) == 3
    assert receiver.received.listing(pending) == []


# -- a store that fails -------------------------------------------------------------------------------------


def _failing(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    """The ledger's DynamoDB answers `operation` with a server error (after the client's own retries)."""
    from faceid_fn.adapters.aws.dynamodb import DynamoDB

    real = DynamoDB.call

    def call(self: DynamoDB, name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == operation:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, name)
        return real(self, name, params)

    monkeypatch.setattr(DynamoDB, "call", call)


@pytest.mark.parametrize(
    ("operation", "request_of"),
    [
        ("Query", lambda invoke, token: listed(invoke, "alice")),
        ("GetItem", lambda invoke, token: cancel(invoke, token, "alice")),
        ("UpdateItem", lambda invoke, token: cancel(invoke, token, "alice")),
        ("UpdateItem", lambda invoke, token: redact(invoke, token, "alice")),
    ],
    ids=["list", "cancel-read", "cancel-write", "redact-write"],
)
def test_a_ledger_that_fails_is_a_503_with_retry_after(
    invoke: Invoke,
    stack: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    request_of: Callable[[Invoke, str], Response],
) -> None:
    queues = stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    with monkeypatch.context() as patched:
        _failing(patched, operation)
        answer = request_of(invoke, token)
    assert (answer.status, answer.body["Error"]["Code"], answer.headers["retry-after"]) == (
        503,
        "StoreUnavailable",
        "1",
    )
    assert item(token)["Status"] == {"S": "pending"}  # nothing was changed
    assert drain(queues["completions"]) == drain(queues["redactions"]) == []


def test_a_redact_that_fails_half_way_is_done_by_its_retry(
    invoke: Invoke, stack: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack()
    token, key = upload(invoke, "alice", "2026-11-25T04:00:01Z")
    # GIVEN the upload bucket refuses the delete: nothing of the ledger is redacted yet
    from faceid_fn import container

    class Refusing:
        def delete_object(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "busy"}}, "DeleteObject")

    with monkeypatch.context() as patched:
        patched.setattr(container, "s3", lambda: Refusing())
        first = redact(invoke, token, "alice")
    assert (first.status, first.headers["retry-after"]) == (503, "1")
    assert photo_exists(key)
    assert "RedactedAt" not in item(token)
    assert item(token)["Source"]["M"]["Key"]
    # AND then the bus refuses the event: the data is deleted, the answer says to retry for the event
    boto3.client("events", region_name=AWS_REGION).delete_event_bus(Name=EVENT_BUS)
    second = redact(invoke, token, "alice")
    assert (second.status, second.body["Error"]["Code"]) == (503, "StoreUnavailable")
    assert not photo_exists(key)
    assert "RedactedAt" in item(token)
    assert "RedactionUnsent" in item(token)
    # WHEN the bus is back, the retry sends the event, once
    create_ledger_and_bus_again()
    redactions = _redaction_queue_again()
    assert redact(invoke, token, "alice").status == 200
    assert redact(invoke, token, "alice").status == 200
    assert len(drain(redactions)) == 1
    assert "RedactionUnsent" not in item(token)


def create_ledger_and_bus_again() -> None:
    boto3.client("events", region_name=AWS_REGION).create_event_bus(Name=EVENT_BUS)


def _redaction_queue_again() -> str:
    sqs = boto3.client("sqs", region_name=AWS_REGION)
    queue = sqs.create_queue(QueueName="redactions-again")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=AWS_REGION)
    pattern = {"source": ["faceid-fn"], "detail-type": ["Verification Redacted"]}
    events.put_rule(Name="redactions-again", EventBusName=EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="redactions-again", EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return str(queue)


def test_an_idempotency_store_that_fails_stops_the_redact_before_the_ledger(
    invoke: Invoke, stack: Callable[..., dict[str, str]]
) -> None:
    stack()
    token = start(invoke, "alice", "2026-11-25T04:00:01Z")
    boto3.client("dynamodb", region_name=AWS_REGION).delete_table(TableName=IDEMPOTENCY_TABLE)
    answer = redact(invoke, token, "alice")
    assert (answer.status, answer.body["Error"]["Code"]) == (503, "StoreUnavailable")
    assert "RedactedAt" not in item(token)
