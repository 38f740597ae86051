"""A fault-injecting HTTP proxy in front of moto, for the soak: what the function sends to DynamoDB and
EventBridge goes through it, and in a fault window it answers some calls itself, as AWS would when failing.

    python bench/soak_proxy.py --upstream http://127.0.0.1:<moto> [--port 0]   # prints {"port": N}

Faults (`POST /__proxy__/fault {"name", "seconds", "ratio", "count"}`: that share of the matching calls, for
`seconds` or until `count` calls were answered by the fault):
- `dynamodb_throttle`: any DynamoDB call -> 400 ProvisionedThroughputExceededException
- `dynamodb_5xx`: any DynamoDB call -> 500 InternalServerError
- `putevents_5xx`: EventBridge PutEvents -> 500 InternalException (the whole call)
- `putevents_failed_entry`: PutEvents -> 200 with FailedEntryCount 1 and the entry's ErrorCode (nothing put)
`GET /__proxy__/injected` answers how many calls each fault answered, and each one's operation and key
(the BizToken, when there is one). Everything else is forwarded to moto unchanged (body, headers, answer).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

DYNAMODB = "DynamoDB_20120810."
PUT_EVENTS = "AWSEvents.PutEvents"
_BIZ_TOKEN = re.compile(r'"BizToken":\s*\{"S":\s*"([^"]+)"')
FAULTS: dict[str, tuple[str, int, dict[str, Any]]] = {
    "dynamodb_throttle": (
        DYNAMODB,
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded.",
        },
    ),
    "dynamodb_5xx": (
        DYNAMODB,
        500,
        {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "Internal server error"},
    ),
    "putevents_5xx": (PUT_EVENTS, 500, {"__type": "InternalException", "message": "Internal error"}),
    "putevents_failed_entry": (
        PUT_EVENTS,
        200,
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure"}]},
    ),
}


class Faults:
    def __init__(self) -> None:
        self.armed: dict[str, list[float]] = {}  # name -> [until, ratio, calls still to fail]
        self.injected: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def open(self, name: str, seconds: float | None, ratio: float, count: int | None) -> None:
        """For `seconds` (or until `count` calls were answered; both: whichever ends first)."""
        if name not in FAULTS:
            raise ValueError(name)
        until = time.monotonic() + seconds if seconds is not None else float("inf")
        with self.lock:
            self.armed[name] = [until, ratio, float(count) if count is not None else float("inf")]

    def take(self, target: str, body: bytes) -> tuple[str, int, dict[str, Any]] | None:
        now = time.monotonic()
        with self.lock:
            for name, armed in self.armed.items():
                until, ratio, left = armed
                prefix, status, answer = FAULTS[name]
                if until > now and left > 0 and target.startswith(prefix) and random.random() < ratio:
                    armed[2] -= 1
                    token = _BIZ_TOKEN.search(body.decode("utf-8", "replace"))
                    self.injected.append(
                        {
                            "fault": name,
                            "at": time.time(),
                            "operation": target.rpartition(".")[2],
                            "biz_token": token.group(1) if token else None,
                            "remove_index": b"REMOVE SweepShard" in body,
                        }
                    )
                    return name, status, answer
        return None


class Handler(BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), [("Content-Type", "application/x-amz-json-1.1")])

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/__proxy__/"):
            self._control(method, body)
            return
        target = self.headers.get("X-Amz-Target", "")
        fault = self.server.faults.take(target, body)
        if fault is not None:
            _, status, answer = fault
            self._json(status, answer)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        # DynamoDB applies each request to an item atomically (a conditional write sees the last write);
        # moto's threaded server does not (two conditional updates of one item can both pass), so DynamoDB
        # requests reach moto one at a time.
        serial = self.server.dynamodb_lock if target.startswith(DYNAMODB) else contextlib.nullcontext()
        with serial:
            answer, data = self._upstream(method, body, headers)
        if answer is None:
            self._json(502, {"message": "moto did not answer"})
            return
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("content-length", "connection", "server")]
        self._send(answer.status, data, kept)

    def _upstream(
        self, method: str, body: bytes, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse | None, bytes]:
        for _ in range(2):  # a pooled connection moto has closed meanwhile: one fresh try
            connection = self.server.connection()
            try:
                connection.request(method, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                return answer, answer.read()
            except (http.client.HTTPException, OSError):
                self.server.drop_connection()
        return None, b""

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def do_PUT(self) -> None:
        self._forward("PUT")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def do_HEAD(self) -> None:
        self._forward("HEAD")

    def _control(self, method: str, body: bytes) -> None:
        faults = self.server.faults
        if method == "POST" and self.path == "/__proxy__/fault":
            options = json.loads(body or b"{}")
            seconds, count = options.get("seconds"), options.get("count")
            faults.open(
                options["name"],
                float(seconds) if seconds is not None else None,
                float(options.get("ratio", 1.0)),
                int(count) if count is not None else None,
            )
            self._json(200, {"ok": True})
        elif method == "GET" and self.path == "/__proxy__/injected":
            with faults.lock:
                self._json(200, list(faults.injected))
        else:
            self._json(404, {"message": "unknown control"})


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, upstream: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = Faults()
        self.dynamodb_lock = threading.Lock()
        self._local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        """This thread's keep-alive connection to moto."""
        if getattr(self._local, "connection", None) is None:
            self._local.connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        connection: http.client.HTTPConnection = self._local.connection
        return connection

    def drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ProxyServer(args.port, args.upstream)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
