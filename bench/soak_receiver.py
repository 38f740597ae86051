"""The soak's webhook receiver: local/webhook_receiver.py's (signature check with `standardwebhooks`, the first
delivery of each webhook-id kept, duplicates counted), with faults, in a process of its own.

    python bench/soak_receiver.py   # WEBHOOK_SECRET in the environment; prints {"port": N, "control": M}

Control (on its own port, which stays up while the receiver is down):
- `POST /fail {"count", "status"}`: the next `count` deliveries are answered `status` (not kept)
- `POST /hang {"count", "seconds"}`: the next `count` deliveries get no answer for `seconds` (past the
  function's 10 s timeout), then a 503: a stuck receiver that kept nothing
- `POST /down {"seconds"}`: the receiver's port refuses connections for `seconds`
- `GET /state`: the deliveries (per webhook-id: the first one, when it was kept, its duplicates), every
  attempt with its answer, and the faults injected
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.webhook_receiver import Handler, Received, ReceiverServer


class Faults:
    def __init__(self) -> None:
        self.hang_next = 0
        self.hang_s = 0.0
        self.injected: dict[str, int] = {"webhook_500": 0, "webhook_hang": 0, "webhook_down": 0}
        self.arrived: dict[str, float] = {}  # webhook-id -> when its first delivery was kept
        self.lock = threading.Lock()

    def take_hang(self) -> float:
        with self.lock:
            if self.hang_next <= 0:
                return 0.0
            self.hang_next -= 1
            self.injected["webhook_hang"] += 1
            return self.hang_s


class SoakHandler(Handler):
    server: SoakReceiver

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def do_POST(self) -> None:
        if urlsplit(self.path).path == "/webhooks":
            received = self.server.received
            with received.lock:  # an injected 500 (the shared Received answers it and logs the attempt)
                failing = received.fail_next > 0
            if failing:
                with self.server.faults.lock:
                    self.server.faults.injected["webhook_500"] += 1
            hang = self.server.faults.take_hang()
            if hang:
                self._body()
                with received.lock:
                    received.attempts.append({"webhook-id": self.headers.get("webhook-id", ""), "answer": "hung"})
                time.sleep(hang)
                with contextlib.suppress(OSError):  # the function gave up long ago
                    self._send(503)
                return
        super().do_POST()
        webhook_id = self.headers.get("webhook-id", "")
        with self.server.received.lock:  # when each webhook-id was first kept (the soak's time to settle)
            if webhook_id in self.server.received.deliveries:
                self.server.faults.arrived.setdefault(webhook_id, time.time())


class SoakReceiver(ReceiverServer):
    def __init__(self, port: int, received: Received, faults: Faults) -> None:
        super().__init__(("127.0.0.1", port), received.secret)
        self.RequestHandlerClass = SoakHandler
        self.received = received
        self.faults = faults


class Receiver:
    """The webhook listener (which the `down` fault closes and opens again) and the state it shares."""

    def __init__(self, secret: str) -> None:
        self.received = Received(secret)
        self.faults = Faults()
        self.server = SoakReceiver(0, self.received, self.faults)
        self.port = self.server.server_address[1]
        self._serve(self.server)

    @staticmethod
    def _serve(server: ThreadingHTTPServer) -> None:
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self, seconds: float) -> None:
        with self.faults.lock:
            self.faults.injected["webhook_down"] += 1
        self.server.shutdown()
        self.server.server_close()

        def back() -> None:
            time.sleep(seconds)
            self.server = SoakReceiver(self.port, self.received, self.faults)
            self._serve(self.server)

        threading.Thread(target=back, daemon=True).start()

    def state(self) -> dict[str, Any]:
        with self.received.lock:
            deliveries = {
                k: {"duplicates": v["duplicates"], "data": v["payload"]["data"], "at": self.faults.arrived.get(k)}
                for k, v in self.received.deliveries.items()
            }
            attempts = list(self.received.attempts)
        with self.faults.lock:
            injected = dict(self.faults.injected)
        return {"deliveries": deliveries, "attempts": attempts, "injected": injected}


class ControlHandler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def _answer(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(self.server.receiver.state())

    def do_POST(self) -> None:
        options = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        receiver = self.server.receiver
        if self.path == "/fail":
            with receiver.received.lock:
                receiver.received.fail_next = int(options["count"])
                receiver.received.fail_status = int(options.get("status", 500))
        elif self.path == "/hang":
            with receiver.faults.lock:
                receiver.faults.hang_next, receiver.faults.hang_s = int(options["count"]), float(options["seconds"])
        elif self.path == "/down":
            receiver.down(float(options["seconds"]))
        self._answer({"ok": True})


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", 0), ControlHandler)
        self.receiver = receiver


def main() -> None:
    receiver = Receiver(os.environ["WEBHOOK_SECRET"])
    control = ControlServer(receiver)
    print(json.dumps({"port": receiver.port, "control": control.server_address[1]}), flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
