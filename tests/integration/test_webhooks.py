"""Signed webhooks: the EventBridge rule's `Verification Completed` event -> handler -> POST to WEBHOOK_URL.

The receiver is local/webhook_receiver.py (the one `make run` starts) on 127.0.0.1; it checks every
signature with the `standardwebhooks` package's own verifier.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from local.webhook_receiver import ReceiverServer, start_in_thread
from tests.conftest import EVENTS, LambdaContext, LogLines

SECRET = "whsec_VGVzdFdlYmhvb2tTZWNyZXRGb3JUZXN0c09ubHk="  # local tests only (tests/secret_scan.py)


@pytest.fixture
def receiver() -> Iterator[ReceiverServer]:
    server = start_in_thread(SECRET)
    yield server
    server.shutdown()


@pytest.fixture
def deliver(configure: Callable[..., None], receiver: ReceiverServer) -> Callable[[dict[str, Any]], Any]:
    configure(WEBHOOK_URL=f"{receiver.url}/webhooks", WEBHOOK_SECRET=SECRET)
    import handler

    def call(event: dict[str, Any]) -> Any:
        return handler.handler(json.loads(json.dumps(event)), LambdaContext())

    return call


def completed_event() -> dict[str, Any]:
    return dict(json.loads((EVENTS / "verification-completed.json").read_text()))


def test_a_receiver_that_fails_once_gets_the_webhook_on_the_retry_and_keeps_it_once(
    deliver: Callable[[dict[str, Any]], Any], receiver: ReceiverServer
) -> None:
    from faceid_fn.webhooks import WebhookFailed

    event = completed_event()
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
    from faceid_fn.completion import CompletionDetail
    from faceid_fn.webhooks import signed_request

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
    configure: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from faceid_fn import webhooks

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        configure(WEBHOOK_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/webhooks", WEBHOOK_SECRET=SECRET)
        monkeypatch.setattr(webhooks, "READ_TIMEOUT_S", 0.3)
        import handler

        with pytest.raises(webhooks.WebhookFailed):
            handler.handler(completed_event(), LambdaContext())


def test_the_secret_comes_from_secrets_manager_in_deployments(
    aws: None, configure: Callable[..., None], receiver: ReceiverServer, logs: LogLines
) -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(Name="faceid-fn/test/webhook-secret", SecretString=SECRET)
    configure(WEBHOOK_URL=f"{receiver.url}/webhooks", WEBHOOK_SECRET_NAME="faceid-fn/test/webhook-secret")
    import handler

    assert handler.handler(completed_event(), LambdaContext())["Delivered"] is True
    assert receiver.received.listing(None)[0]["verified"]
    assert SECRET not in logs.text
    assert SECRET.removeprefix("whsec_") not in logs.text


def test_without_a_webhook_url_the_event_is_not_delivered(configure: Callable[..., None]) -> None:
    import handler

    assert handler.handler(completed_event(), LambdaContext())["Delivered"] is False


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
