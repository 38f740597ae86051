"""Signed webhooks (Standard Webhooks): what the ledger holds about a completed session, POSTed to
WEBHOOK_URL in one attempt bounded by one deadline."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.domain.completion import ledger_detail
from faceid_fn.domain.completion_events import (
    REDACTED_WEBHOOK_TYPE,
    WEBHOOK_TYPE,
    CompletionDetail,
    RedactionDetail,
    RedactionWebhookPayload,
    WebhookPayload,
)
from faceid_fn.domain.lifecycle import ledger_redaction
from faceid_fn.observability import logger, metrics
from faceid_fn.redaction import redact_url

if TYPE_CHECKING:
    from faceid_fn.domain.ports import LifecycleLedger

# One attempt, connecting, sending and reading the answer's head together: a receiver answers once it has
# taken the webhook, its own work included (what openapi.json promises receivers).
ATTEMPT_DEADLINE_S = 10.0
# Connecting, within that: a receiver that cannot be reached is not waited for.
CONNECT_TIMEOUT_S = 2.0
# The most of the answer read (status line and headers; the body is never read).
MAX_ANSWER_BYTES = 64 * 1024


class WebhookFailed(RuntimeError):
    """The receiver did not take the webhook (Lambda's asynchronous retries take over)."""


class DeadlineExceeded(TimeoutError):
    """The attempt's deadline passed before the receiver's answer was read."""


class AnswerTooLarge(OSError):
    """The receiver's answer has no end of its headers within MAX_ANSWER_BYTES."""


def webhook_id(biz_token: str) -> str:
    return f"msg_{biz_token}"


def redaction_webhook_id(biz_token: str) -> str:
    """Another id than the completion's (a BizToken never holds a `.`): a receiver keeps both."""
    return f"msg_{biz_token}.redacted"


def signed_request(detail: CompletionDetail, secret: str, now: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt."""
    body = WebhookPayload(type=WEBHOOK_TYPE, timestamp=detail.CompletedAt, data=detail).model_dump_json()
    return _signed(body, webhook_id(detail.BizToken), secret, now)


def signed_redaction(detail: RedactionDetail, secret: str, now: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt at a `verification.redacted` webhook."""
    payload = RedactionWebhookPayload(type=REDACTED_WEBHOOK_TYPE, timestamp=detail.RedactedAt, data=detail)
    return _signed(payload.model_dump_json(), redaction_webhook_id(detail.BizToken), secret, now)


def _signed(body: str, msg_id: str, secret: str, now: datetime | None) -> tuple[bytes, dict[str, str]]:
    from standardwebhooks import Webhook

    moment = now or datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
    }
    return body.encode(), headers


class WebhookSender:
    """Sends completion webhooks to WEBHOOK_URL: only what the ledger holds, signed, one bounded attempt."""

    def __init__(self, url: str | None, secret: Callable[[], str], ledger: LifecycleLedger | None) -> None:
        self.url = url
        self.secret = secret
        self._ledger = ledger
        self._tls = LazyClient(_tls_context)  # the CA bundle is read once, on the first https delivery

    def prime(self) -> None:
        if self.url and self.url.startswith("https:"):
            self._tls.get()

    def close(self) -> None:
        """Each attempt opens and closes its own connection: nothing is pooled."""

    def deliver(self, claimed: CompletionDetail) -> dict[str, Any]:
        """Deliver the completion an event claims; raises WebhookFailed when the receiver did not take it."""
        if not self.url:
            metrics.add_metric(name="WebhookSkipped", unit="Count", value=1)
            logger.info("no WEBHOOK_URL: completion event not delivered", extra={"biz_token": claimed.BizToken[:128]})
            return {"Delivered": False, "BizToken": claimed.BizToken}
        detail = ledger_detail(claimed, self._ledger)
        if detail is None:  # a retry would find the same ledger item: answered, not raised
            return {"Delivered": False, "BizToken": claimed.BizToken, "Dropped": True}
        body, headers = signed_request(detail, self.secret())
        return self._send(self.url, detail.BizToken, body, headers)

    def deliver_redaction(self, claimed: RedactionDetail) -> dict[str, Any]:
        """Deliver the redaction an event claims, as `deliver` a completion (only what the ledger holds)."""
        if not self.url:
            metrics.add_metric(name="WebhookSkipped", unit="Count", value=1)
            logger.info("no WEBHOOK_URL: redaction event not delivered", extra={"biz_token": claimed.BizToken[:128]})
            return {"Delivered": False, "BizToken": claimed.BizToken}
        detail = ledger_redaction(claimed, self._ledger)
        if detail is None:
            return {"Delivered": False, "BizToken": claimed.BizToken, "Dropped": True}
        body, headers = signed_redaction(detail, self.secret())
        return self._send(self.url, detail.BizToken, body, headers)

    def _send(self, url: str, biz_token: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """One bounded attempt; raises WebhookFailed when the receiver did not take it."""
        started = time.monotonic()
        fields: dict[str, Any] = {
            "biz_token": biz_token,
            "webhook_id": headers["webhook-id"],
            "url": redact_url(url),
        }
        answer = _Answer()
        try:
            status = post(url, body, headers, answer, tls=self._tls.get)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, deadline, bad answer
            fields["error"] = type(exc).__name__
            status = 0
        fields["status"] = status
        fields["answer_bytes"] = answer.read_bytes
        fields["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        if not 200 <= status < 300:
            metrics.add_metric(name="WebhookFailed", unit="Count", value=1)
            logger.warning("webhook not delivered; Lambda retries it", extra=fields)
            raise WebhookFailed(f"webhook {headers['webhook-id']} not taken (HTTP {status or 'no answer'})")
        metrics.add_metric(name="WebhookDelivered", unit="Count", value=1)
        logger.info("webhook delivered", extra=fields)
        return {"Delivered": True, "BizToken": biz_token, "Status": status}


class _Answer(io.RawIOBase):
    """The receiver's bytes as http.client reads them: each socket read waits only for what is left of
    the attempt's deadline, and no more than MAX_ANSWER_BYTES are read in all."""

    def __init__(self) -> None:
        super().__init__()
        self.sock: socket.socket | None = None
        self.deadline = 0.0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = MAX_ANSWER_BYTES - self.read_bytes
        if left <= 0:
            raise AnswerTooLarge(f"no end of the answer's headers within {MAX_ANSWER_BYTES} bytes")
        if self.sock is None:
            raise OSError("not connected")
        self.sock.settimeout(_remaining(self.deadline))
        try:
            count = self.sock.recv_into(memoryview(buffer)[:left])
        except TimeoutError:
            raise DeadlineExceeded("the attempt's deadline passed") from None
        self.read_bytes += count
        return count


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the attempt's deadline passed")
    return left


def _tls_context() -> ssl.SSLContext:
    import certifi  # the CA bundle requests uses (and the rest of the function's HTTPS calls)

    return ssl.create_default_context(cafile=certifi.where())


def post(url: str, body: bytes, headers: dict[str, str], answer: _Answer, *, tls: Callable[[], ssl.SSLContext]) -> int:
    """POST once within ATTEMPT_DEADLINE_S; the answer's status. Raises OSError (DeadlineExceeded,
    AnswerTooLarge, refused, reset) or http.client.HTTPException (not an HTTP answer)."""
    answer.deadline = time.monotonic() + ATTEMPT_DEADLINE_S
    parts = urlsplit(url)
    host, path = parts.hostname or "", (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = min(CONNECT_TIMEOUT_S, _remaining(answer.deadline))
    connection = (
        http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=tls())
        if parts.scheme == "https"
        else http.client.HTTPConnection(host, parts.port, timeout=timeout)
    )
    try:
        connection.connect()
        sock = connection.sock
        answer.sock = sock
        sock.settimeout(_remaining(answer.deadline))
        connection.request("POST", path, body=body, headers={**headers, "user-agent": "faceid-fn"})
        response = http.client.HTTPResponse(sock, method="POST")
        response.fp.close()  # the socket's own reader: http.client reads through ours instead
        response.fp = io.BufferedReader(answer)
        response.begin()  # the status line and headers; the body is not read
        return response.status
    except TimeoutError as exc:  # a send that ran into the deadline says so (a slow connect stays itself)
        if isinstance(exc, DeadlineExceeded) or time.monotonic() < answer.deadline:
            raise
        raise DeadlineExceeded("the attempt's deadline passed") from None
    finally:
        connection.close()
