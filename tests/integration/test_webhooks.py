"""Signed webhooks: the EventBridge rule's `Verification Completed` event -> the delivery function -> the
session's ledger item -> POST to WEBHOOK_URL.

The receiver is local/webhook_receiver.py (the one `make run` starts) on 127.0.0.1; it checks every
signature with the `standardwebhooks` package's own verifier. The ledger is moto's DynamoDB, its items
written by the ledger's own code as a start and the read that found the final status write them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from local.webhook_receiver import ReceiverServer, start_in_thread
from tests.aws import SESSIONS_TABLE, create_ledger_and_bus
from tests.conftest import EVENTS, LambdaContext, LogLines

SECRET = "whsec_VGVzdFdlYmhvb2tTZWNyZXRGb3JUZXN0c09ubHk="  # local tests only (tests/secret_scan.py)
DROPPED = "completion event not held by the ledger: dropped, not signed"


@pytest.fixture
def receiver() -> Iterator[ReceiverServer]:
    server = start_in_thread(SECRET)
    yield server
    server.shutdown()


@pytest.fixture
def ledger(aws: None) -> None:
    """The session ledger (and the bus) in moto, as serverless.yml declares them."""
    create_ledger_and_bus()


@pytest.fixture
def deliver(ledger: None, configure: Callable[..., None], receiver: ReceiverServer) -> Callable[[dict[str, Any]], Any]:
    configure(WEBHOOK_URL=f"{receiver.url}/webhooks", WEBHOOK_SECRET=SECRET, SESSIONS_TABLE=SESSIONS_TABLE)
    return invoke_delivery


def invoke_delivery(event: dict[str, Any]) -> Any:
    """The delivery function, as the EventBridge rule invokes it."""
    import background

    return background.deliver(json.loads(json.dumps(event)), LambdaContext())


def completed_event() -> dict[str, Any]:
    return dict(json.loads((EVENTS / "verification-completed.json").read_text()))


def hold(detail: dict[str, Any], *, status: str | None = None, owner: str | None = None) -> None:
    """The ledger item of the event's session: started by `owner` (the event's by default), then settled
    as `status` (the event's by default; `pending`: not yet) by the read that found it."""
    from faceid_fn.adapters.aws.ledger import Ledger

    ledger = Ledger(SESSIONS_TABLE)
    completed = datetime.fromisoformat(detail["CompletedAt"])
    ledger.record_start(
        biz_token=detail["BizToken"],
        owner=owner or detail["Owner"],
        source={"Type": "http"},
        flow="intl",
        region="ap-singapore",
        expires_at=completed + timedelta(minutes=7),
        now=completed - timedelta(minutes=3),
    )
    if (status or detail["Status"]) != "pending":
        ledger.claim(
            detail["BizToken"],
            status=status or detail["Status"],
            error_code=detail["ErrorCode"],
            error_msg=detail["ErrorMsg"],
            extra=detail["Extra"],
            request_id=detail["RequestId"],
            now=completed,
        )


def emitted_metrics(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_receiver_that_fails_once_gets_the_webhook_on_the_retry_and_keeps_it_once(
    deliver: Callable[[dict[str, Any]], Any], receiver: ReceiverServer
) -> None:
    from faceid_fn.adapters.webhook_sender import WebhookFailed

    event = completed_event()
    hold(event["detail"])
    # GIVEN a receiver that answers 500 to the first delivery
    receiver.received.fail_next = 1
    # WHEN EventBridge hands the event to the function: the invocation fails, so Lambda retries it
    with pytest.raises(WebhookFailed):
        deliver(event)
    answer = deliver(event)  # Lambda's asynchronous retry: the same event again
    # AND a resend after that (e.g. a replay from the on-failure queue) changes nothing for the receiver
    deliver(event)
    # THEN the receiver has it once, verified, under the session's stable webhook-id
    assert answer == {"Delivered": True, "BizToken": event["detail"]["BizToken"], "Status": 204}
    assert [a["answer"] for a in receiver.received.attempts] == [500, 204, 204]
    assert {a["webhook-id"] for a in receiver.received.attempts} == {f"msg_{event['detail']['BizToken']}"}
    [delivery] = receiver.received.listing(event["detail"]["BizToken"])
    assert delivery["verified"]
    assert delivery["duplicates"] == 1
    assert delivery["payload"] == {
        "type": "verification.completed",
        "timestamp": "2026-11-25T04:03:00Z",
        "data": event["detail"],
    }


def test_signatures_check_out_with_the_librarys_own_verifier() -> None:
    from faceid_fn.adapters.webhook_sender import signed_request
    from faceid_fn.domain.completion_events import CompletionDetail

    detail = CompletionDetail.model_validate(completed_event()["detail"])
    body, headers = signed_request(detail, SECRET)
    assert set(headers) == {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers)["data"]["BizToken"] == detail.BizToken
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"passed", b"failed"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QW5vdGhlclNlY3JldA==").verify(body, headers)


def test_a_receiver_that_does_not_answer_fails_the_invocation(
    ledger: None, configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from faceid_fn.adapters import webhook_sender

    event = completed_event()
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/webhooks"
        configure(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, SESSIONS_TABLE=SESSIONS_TABLE)
        hold(event["detail"])
        monkeypatch.setattr(webhook_sender, "ATTEMPT_DEADLINE_S", 0.3)
        with pytest.raises(webhook_sender.WebhookFailed):
            invoke_delivery(event)


def test_the_secret_comes_from_secrets_manager_in_deployments(
    ledger: None, configure: Callable[..., None], receiver: ReceiverServer, logs: LogLines
) -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(Name="faceid-fn/test/webhook-secret", SecretString=SECRET)
    configure(
        WEBHOOK_URL=f"{receiver.url}/webhooks",
        WEBHOOK_SECRET_NAME="faceid-fn/test/webhook-secret",
        SESSIONS_TABLE=SESSIONS_TABLE,
    )
    event = completed_event()
    hold(event["detail"])
    assert invoke_delivery(event)["Delivered"] is True
    assert receiver.received.listing(None)[0]["verified"]
    assert SECRET not in logs.text
    assert SECRET.removeprefix("whsec_") not in logs.text


def test_without_a_webhook_url_the_event_is_not_delivered(configure: Callable[..., None]) -> None:
    assert invoke_delivery(completed_event())["Delivered"] is False


def test_a_webhook_url_without_a_secret_stops_the_cold_start(configure: Callable[..., None]) -> None:
    from faceid_fn import container
    from faceid_fn.config import ConfigError

    configure(WEBHOOK_URL="https://hooks.example.com/faceid")
    with pytest.raises(ConfigError, match="WEBHOOK_URL needs WEBHOOK_SECRET_NAME"):
        container.settings()


def test_an_event_with_a_foreign_detail_is_answered_not_retried(deliver: Callable[[dict[str, Any]], Any]) -> None:
    event = completed_event()
    event["detail"] = {"BizToken": 7}
    assert deliver(event)["Error"]["Code"] == "MalformedEvent"


def test_the_secret_scan_flags_any_webhook_secret() -> None:
    from tests.secret_scan import find_secrets

    assert find_secrets("signing with whsec_QW55T3RoZXJTZWNyZXRWYWx1ZQ== now") == ["whsec_QW55T3RoZXJTZWNyZXRWYWx1ZQ=="]
    assert find_secrets("the secret is named WEBHOOK_SECRET_NAME, prefix whsec_") == []


def test_each_function_takes_only_its_own_triggers(
    deliver: Callable[[dict[str, Any]], Any], receiver: ReceiverServer
) -> None:
    import background
    import handler

    event = completed_event()
    hold(event["detail"])
    scheduled = json.loads((EVENTS / "scheduled-sweep.json").read_text())
    request = json.loads((EVENTS / "http-api-v2.json").read_text())
    # The API function (behind API Gateway, and the upload triggers) signs nothing, whatever it is handed
    assert handler.handler(json.loads(json.dumps(event)), LambdaContext())["Error"]["Code"] == "UnsupportedEvent"
    assert handler.handler(scheduled, LambdaContext())["Error"]["Code"] == "UnsupportedEvent"
    # AND the sweep and the delivery function take their own trigger's events only
    assert background.sweep(json.loads(json.dumps(event)), LambdaContext())["Error"]["Code"] == "UnsupportedEvent"
    assert background.sweep(request, LambdaContext())["Error"]["Code"] == "UnsupportedEvent"
    assert deliver(scheduled)["Error"]["Code"] == "UnsupportedEvent"
    assert deliver(request)["Error"]["Code"] == "UnsupportedEvent"
    assert receiver.received.attempts == []
    assert deliver(event)["Delivered"] is True


# -- only what the ledger holds is signed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "reason"),
    [
        (None, "UnknownSession"),  # a BizToken the ledger does not know
        ({"status": "pending"}, "NotFinal"),  # the session is still pending in the ledger
        ({"status": "failed"}, "StatusDiffers"),  # the ledger holds another final status
        ({"owner": "user-7"}, "OwnerDiffers"),  # another owner's session
    ],
    ids=["unknown-token", "pending", "other-status", "other-owner"],
)
def test_an_event_the_ledger_does_not_hold_is_dropped_unsigned_and_not_retried(
    deliver: Callable[[dict[str, Any]], Any],
    receiver: ReceiverServer,
    logs: LogLines,
    capsys: pytest.CaptureFixture[str],
    held: dict[str, str] | None,
    reason: str,
) -> None:
    # GIVEN a `passed` event for user-42's session, put on the bus (or handed to the function) by someone
    # other than faceid-fn, and a ledger that does not hold that outcome
    event = completed_event()
    if held is not None:
        hold(event["detail"], **held)
    # WHEN the delivery function gets it
    answer = deliver(event)  # returns: a raised error would have Lambda retry it
    # THEN nothing is signed or sent
    assert answer == {"Delivered": False, "BizToken": event["detail"]["BizToken"], "Dropped": True}
    assert receiver.received.attempts == []
    # AND one WARNING says why, and WebhookDropped counts it
    [warning] = logs.records(DROPPED)
    assert (warning["level"], warning["reason"]) == ("WARNING", reason)
    assert [r for r in logs.records() if r["level"] in ("WARNING", "ERROR")] == [warning]
    assert emitted_metrics(capsys.readouterr().out)[-1]["WebhookDropped"] == [1.0]


def test_what_is_signed_is_the_ledgers_item_not_the_events_detail(
    deliver: Callable[[dict[str, Any]], Any], receiver: ReceiverServer
) -> None:
    # GIVEN user-42's session, passed, in the ledger
    event = completed_event()
    hold(event["detail"])
    held = dict(event["detail"])
    # AND an event with its Status and Owner, and everything else made up
    event["detail"].update(
        Extra="order-1000000",
        ErrorMsg="Approved by the bank",
        RequestId="forged",
        Source={"Type": "s3", "Bucket": "elsewhere", "Key": "reference/user-42/other.png"},
        CompletedAt="2030-01-01T00:00:00Z",
    )
    # WHEN it is delivered
    assert deliver(event)["Delivered"] is True
    # THEN the receiver got the ledger's outcome, not the event's words
    [delivery] = receiver.received.listing(held["BizToken"])
    assert delivery["verified"]
    assert delivery["payload"] == {"type": "verification.completed", "timestamp": held["CompletedAt"], "data": held}


# -- bounded attempts ----------------------------------------------------------------------------------------


class RawReceiver:
    """A TCP server on 127.0.0.1 that takes one request and answers it with `answer(connection, self)`,
    counting in `sent` what it managed to send before the client hung up."""

    def __init__(self, answer: Callable[[socket.socket, RawReceiver], None]) -> None:
        self.answer = answer
        self.sent = 0
        self.server = socketserver.TCPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.handle_request, daemon=True)
        self.thread.start()

    def _handler(self) -> type[socketserver.StreamRequestHandler]:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = self.rfile.readline()
                while (line := self.rfile.readline()) not in (b"\r\n", b""):
                    head += line
                length = next(
                    int(h.split(b":")[1]) for h in head.lower().splitlines() if h.startswith(b"content-length")
                )
                self.rfile.read(length)  # the whole request, as a receiver reads it
                with contextlib.suppress(OSError):  # the client hung up
                    owner.answer(self.request, owner)

        return Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def finished(self) -> int:
        self.thread.join(timeout=30)
        self.server.server_close()
        return self.sent


DRIP_BYTES = 50  # one every 0.1 s: 5 s of answer, five times the attempt's deadline in the test below
FLOOD_BYTES = 64 * 1024 * 1024  # far more than the kernel's socket buffers hold


def drip(connection: socket.socket, receiver: RawReceiver) -> None:
    """The status line, then one byte of headers every 0.1 s."""
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(DRIP_BYTES):
        time.sleep(0.1)
        connection.sendall(b"X")
        receiver.sent += 1


def flood(connection: socket.socket, receiver: RawReceiver) -> None:
    """A 200 whose body goes on and on."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 65536
    while receiver.sent < FLOOD_BYTES:
        connection.sendall(chunk)
        receiver.sent += len(chunk)


def huge_head(connection: socket.socket, receiver: RawReceiver) -> None:
    """A 200 whose headers alone are 90 KiB (each line within what http.client accepts)."""
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Filler-%d: %s\r\n" % (n, b"y" * 30_000) for n in range(3))
    connection.sendall(head + b"Content-Length: 0\r\n\r\n")
    receiver.sent = len(head)


def deliver_to(url: str, configure: Callable[..., None]) -> Any:
    configure(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, SESSIONS_TABLE=SESSIONS_TABLE)
    event = completed_event()
    hold(event["detail"])
    return invoke_delivery(event)


def test_an_answer_that_drips_in_ends_the_attempt_at_its_deadline(
    ledger: None, configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch, logs: LogLines
) -> None:
    from faceid_fn.adapters import webhook_sender

    # GIVEN a receiver that sends its status line, then a byte of headers every 0.1 s (each read gets
    # something long before any per-read timeout), and an attempt deadline of 1 s
    slow = RawReceiver(drip)
    monkeypatch.setattr(webhook_sender, "ATTEMPT_DEADLINE_S", 1.0)
    # WHEN a webhook goes to it
    with pytest.raises(webhook_sender.WebhookFailed):
        deliver_to(slow.url, configure)
    # THEN the attempt ended on its deadline, and the receiver saw the client hang up before its answer ended
    [failure] = logs.records("webhook not delivered; Lambda retries it")
    assert failure["error"] == "DeadlineExceeded"
    assert slow.finished() < DRIP_BYTES


def test_at_most_64_kib_of_an_answer_is_read(ledger: None, configure: Callable[..., None], logs: LogLines) -> None:
    # GIVEN a receiver that answers 200, then sends a body that goes on and on
    endless = RawReceiver(flood)
    # WHEN a webhook goes to it: its status decides
    assert deliver_to(endless.url, configure)["Delivered"] is True
    # THEN the receiver could not send the rest of its answer: the client hung up
    assert endless.finished() < FLOOD_BYTES
    # AND read at most 64 KiB of it
    [delivered] = logs.records("webhook delivered")
    assert 0 < delivered["answer_bytes"] <= 64 * 1024


def test_an_answer_whose_headers_run_past_64_kib_fails_the_attempt(
    ledger: None, configure: Callable[..., None], logs: LogLines
) -> None:
    from faceid_fn.adapters.webhook_sender import WebhookFailed

    bloated = RawReceiver(huge_head)
    with pytest.raises(WebhookFailed):
        deliver_to(bloated.url, configure)
    [failure] = logs.records("webhook not delivered; Lambda retries it")
    # read up to the 64 KiB docs/http.md (Signed webhooks) allows, not a byte more, then given up
    assert (failure["error"], failure["answer_bytes"]) == ("AnswerTooLarge", 64 * 1024)
    bloated.finished()
