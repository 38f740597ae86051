"""The emulator over HTTP on loopback: API 3.0 calls, the verification page, the upload endpoint and the
unsigned control endpoints for tests under /__emulator__/; `start_in_thread` for tests, `main` for
`python -m local.emulator`."""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import struct
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.emulator.api import FaceIdEmulator
from local.emulator.catalog import DEFAULT_RULE_IDS, INTL_TOKEN_TTL_S, THROTTLING_CODES
from local.emulator.state import Answer, Fault, RegionFailure


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, answer: Answer) -> None:
        if answer.status == 0:  # an injected connection reset: RST, no answer at all
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        head = [f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
        head += [f"Content-Type: {answer.content_type}", f"Content-Length: {len(answer.body)}"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        # One write per response (headers and body together): no Nagle/delayed-ACK stall.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        emulator = self.server.emulator
        if path == "/__emulator__/calls":
            self._send(Answer(200, json.dumps(emulator.calls).encode()))
        elif path == "/__emulator__/sessions":
            self._send(Answer(200, json.dumps(emulator.session_listing()).encode()))
        elif path == "/__emulator__/health":
            self._send(Answer(200, b'{"ok": true}'))
        elif path.startswith("/verify/"):
            self._send(emulator.verification_page(path.removeprefix("/verify/")))
        else:
            self._send(Answer(404, b'{"error": "not found"}'))

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        emulator = self.server.emulator
        if parts.path.startswith("/__emulator__/"):
            self._send(self._control(parts.path.removeprefix("/__emulator__/"), body))
        elif parts.path.startswith("/verify/"):
            self._send(emulator.finish_verification(parts.path.removeprefix("/verify/"), body))
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(emulator.handle_api("POST", parts.path, parts.query, headers, body))

    def do_PUT(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/upload/"):
            self._send(self.server.emulator.receive_upload(parts.path.removeprefix("/upload/"), parts.query, body))
        else:
            self._send(Answer(404, b'{"error": "not found"}'))

    def _control(self, command: str, body: bytes) -> Answer:
        """POST /__emulator__/<command> (unsigned, for tests):
        - faults  {"code","message","count","latency_ms","action","region","http_status","content_type",
                   "body","reset"}  (a throttling code without a message gets its documented message)
        - config  {"clock_offset_s": float, "rate_limit": int, "rate_limit_code": one of THROTTLING_CODES,
                   "offline_actions": [action, ...], "rule_ids": [RuleId, ...], "age_sessions_s": float,
                   "intl_token_ttl_s": int}
                   (age_sessions_s moves every session that much into the past: e.g. 259201 makes results
                   unreadable, without touching the signature clock; intl_token_ttl_s: how long the intl
                   BizTokens started from now on live, 600 by default)
        - regions {"region": "ap-singapore", "failure": "http" | "internal" | "timeout" | "reset" | null,
                   "http_status": 5xx, "latency_ms": int}  every call signed for the region fails so until
                   "failure": null restores it
        - reset   forget calls, faults, failed regions, sessions and the rate window
        GET /__emulator__/calls answers what was asked: action, region, trace id, parameters, outcome (and
        the BizToken a start answered, the fault a call met); GET /__emulator__/sessions every session
        created, with the ErrorCode a result read would answer now."""
        emulator = self.server.emulator
        try:
            options = json.loads(body or b"{}")
            if command == "reset":
                emulator.reset()
            elif command == "faults":
                emulator.inject(Fault(**options))
            elif command == "config":
                _configure(emulator, options)
            elif command == "regions":
                region = str(options.pop("region"))
                how = options.pop("failure", None)
                if how is None:
                    emulator.restore_region(region)
                else:
                    emulator.fail_region(region, RegionFailure(how=how, **options))
            else:
                return Answer(404, b'{"error": "unknown control command"}')
        except (ValueError, TypeError, KeyError) as exc:
            return Answer(400, json.dumps({"error": str(exc)}).encode())
        return Answer(200, b'{"ok": true}')


def _configure(emulator: FaceIdEmulator, options: dict[str, Any]) -> None:
    emulator.clock_offset_s = float(options.get("clock_offset_s", emulator.clock_offset_s))
    emulator.rate_limit = int(options.get("rate_limit", emulator.rate_limit))
    if "rate_limit_code" in options:
        if options["rate_limit_code"] not in THROTTLING_CODES:
            raise ValueError(f"rate_limit_code must be one of {', '.join(THROTTLING_CODES)}")
        emulator.rate_limit_code = options["rate_limit_code"]
    if "offline_actions" in options:
        emulator.offline_actions = set(options["offline_actions"])
    if "rule_ids" in options:
        emulator.rule_ids = {str(rule) for rule in options["rule_ids"]}
    if "intl_token_ttl_s" in options:
        if int(options["intl_token_ttl_s"]) <= 0:
            raise ValueError("intl_token_ttl_s must be a positive number of seconds")
        emulator.intl_token_ttl_s = int(options["intl_token_ttl_s"])
    if "age_sessions_s" in options:
        emulator.age_sessions(float(options["age_sessions_s"]))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of 30 concurrent first connections overflowed it and
    # the dropped SYNs came back as connect timeouts (502) instead of FaceID's throttling.
    request_queue_size = 128

    def __init__(self, host: str, port: int, emulator: FaceIdEmulator, verbose: bool = False) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator listens on loopback only")
        super().__init__((host, port), _Handler)
        self.emulator = emulator
        self.verbose = verbose
        emulator.base_url = f"http://{host}:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    @property
    def url(self) -> str:
        return self.emulator.base_url


def start_in_thread(emulator: FaceIdEmulator | None = None, port: int = 0) -> EmulatorServer:
    """Start an emulator on 127.0.0.1 in a daemon thread (tests); `server.shutdown()` stops it."""
    server = EmulatorServer("127.0.0.1", port, emulator or FaceIdEmulator())
    threading.Thread(target=server.serve_forever, name="faceid-emulator", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.emulator", description="A local FaceID (Tencent Cloud API 3.0). Loopback only."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--rule-id",
        action="append",
        dest="rule_ids",
        metavar="RULE_ID",
        help=f"a RuleId the console has configured (repeatable; default: {', '.join(DEFAULT_RULE_IDS)})",
    )
    parser.add_argument(
        "--intl-token-ttl-s",
        type=int,
        default=INTL_TOKEN_TTL_S,
        help=f"how long an intl BizToken lives (default {INTL_TOKEN_TTL_S}, FaceID's 10 minutes)",
    )
    args = parser.parse_args()
    emulator = FaceIdEmulator(rule_ids=tuple(args.rule_ids or DEFAULT_RULE_IDS))
    emulator.intl_token_ttl_s = args.intl_token_ttl_s
    server = EmulatorServer(args.host, args.port, emulator, verbose=args.verbose)
    print(f"FaceID emulator listening on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
