"""A small webhook receiver for the local stack: what an app's backend does with faceid-fn's webhooks.

    python -m local.webhook_receiver --port 8090      # WEBHOOK_SECRET from the environment

- `POST /webhooks`: checks the Standard Webhooks signature with the `standardwebhooks` package's own
  verifier (401 when it does not match, or the timestamp is more than 5 minutes off), keeps the first
  delivery of each `webhook-id` and counts the duplicates (a retried or resent webhook), answers 204.
- `GET /webhooks` (optionally `?token=<BizToken>`): what arrived, as JSON, with CORS for the demo app.
- `POST /__receiver__/fail` `{"count": N, "status": 500}`: answer the next N deliveries with that status
  (tests: a receiver that fails, then recovers). `POST /__receiver__/reset` forgets everything.

Loopback only; TCP_NODELAY on accepted sockets (http.server writes headers and body apart).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """What the receiver has seen: the first delivery of each webhook-id, duplicates, refusals."""

    secret: str
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            msg_id = headers.get("webhook-id", "")
            if self.fail_next > 0:
                self.fail_next -= 1
                self.attempts.append({"webhook-id": msg_id, "answer": self.fail_status})
                return self.fail_status
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                self.attempts.append({"webhook-id": msg_id, "answer": 401})
                return 401
            self.attempts.append({"webhook-id": msg_id, "answer": 204})
            if msg_id in self.deliveries:
                self.deliveries[msg_id]["duplicates"] += 1
            else:
                self.deliveries[msg_id] = {
                    "webhook-id": msg_id,
                    "webhook-timestamp": headers.get("webhook-timestamp"),
                    "received_at": time.time(),  # when it first arrived (the browser journey orders it)
                    "verified": True,
                    "duplicates": 0,
                    "payload": payload,
                }
            return 204

    def listing(self, token: str | None) -> list[dict[str, Any]]:
        with self.lock:
            found = list(self.deliveries.values())
        return [d for d in found if token is None or d["payload"].get("data", {}).get("BizToken") == token]

    def reset(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.attempts.clear()
            self.fail_next = 0


class Handler(BaseHTTPRequestHandler):
    server: ReceiverServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        print(f"receiver: {self.command} {self.path.split('?')[0]} -> {args[1] if len(args) > 1 else ''}")

    def _send(self, status: int, payload: Any = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_OPTIONS(self) -> None:
        self._send(204)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/webhooks":
            self._send(404, {"error": "no such path"})
            return
        token = parse_qs(parts.query).get("token", [None])[0]
        self._send(200, self.server.received.listing(token))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        received = self.server.received
        if path == "/webhooks":
            self._send(received.take(body, {k.lower(): v for k, v in self.headers.items()}))
        elif path == "/__receiver__/fail":
            options = json.loads(body or b"{}")
            with received.lock:
                received.fail_next = int(options.get("count", 1))
                received.fail_status = int(options.get("status", 500))
            self._send(204)
        elif path == "/__receiver__/reset":
            received.reset()
            self._send(204)
        else:
            self._send(404, {"error": "no such path"})


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], secret: str) -> None:
        super().__init__(address, Handler)
        self.received = Received(secret)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def start_in_thread(secret: str, port: int = 0) -> ReceiverServer:
    server = ReceiverServer(("127.0.0.1", port), secret)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEBHOOK_RECEIVER_PORT", "8090")))
    args = parser.parse_args()
    server = ReceiverServer(("127.0.0.1", args.port), os.environ["WEBHOOK_SECRET"])
    print(f"webhook receiver on {server.url}/webhooks", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
