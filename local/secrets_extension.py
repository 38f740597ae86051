"""A stand-in for the AWS Parameters and Secrets Lambda Extension on 127.0.0.1 (tests and bench only).

Speaks the extension's Secrets Manager endpoint as AWS documents it:
`GET /secretsmanager/get?secretId=NAME` with header `X-Aws-Parameters-Secrets-Token` equal to the
function's AWS_SESSION_TOKEN; 200 with GetSecretValue's JSON (`Name`, `SecretString`, ...), 400 for a
secret it cannot read, 401 without the right token. Values are cached for SECRETS_MANAGER_TTL seconds.

    python -m local.secrets_extension --port 2773 --token TOKEN   # reads Secrets Manager with boto3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class SecretsExtension(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, token: str, fetch: Callable[[str], str | None], ttl_s: float = 300) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.token = token
        self.fetch = fetch
        self.ttl_s = ttl_s
        self.requests: list[dict[str, Any]] = []  # what was asked: secret id, token accepted
        self._cache: dict[str, tuple[float, str]] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def secret_string(self, secret_id: str) -> str | None:
        cached = self._cache.get(secret_id)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        value = self.fetch(secret_id)
        if value is not None and self.ttl_s > 0:
            self._cache[secret_id] = (time.monotonic(), value)
        return value


class _Handler(BaseHTTPRequestHandler):
    server: SecretsExtension

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        secret_id = (parse_qs(url.query).get("secretId") or [""])[0]
        token_ok = self.headers.get(TOKEN_HEADER) == self.server.token
        self.server.requests.append({"secret_id": secret_id, "token_ok": token_ok})
        if not token_ok:
            return self._answer(401, {"message": "missing or wrong X-Aws-Parameters-Secrets-Token"})
        if url.path != "/secretsmanager/get" or not secret_id:
            return self._answer(400, {"message": "secretId is required"})
        value = self.server.secret_string(secret_id)
        if value is None:
            return self._answer(400, {"message": "ResourceNotFoundException"})
        return self._answer(200, {"Name": secret_id, "SecretString": value, "VersionStages": ["AWSCURRENT"]})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        head = f"HTTP/1.1 {status} {self.responses[status][0]}\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n"
        self.wfile.write(head.encode() + data)  # one write: no Nagle/delayed-ACK stall on loopback

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def start_in_thread(token: str, fetch: Callable[[str], str | None], ttl_s: float = 300) -> SecretsExtension:
    server = SecretsExtension(0, token, fetch, ttl_s)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


_clients: list[Any] = []


def from_secrets_manager(secret_id: str) -> str | None:
    """What the real extension does on a cache miss: GetSecretValue with the function's role (one client,
    built on first use, as a long-running extension keeps its own)."""
    import boto3

    if not _clients:
        _clients.append(boto3.client("secretsmanager"))
    client = _clients[0]
    try:
        return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2773)
    parser.add_argument("--token", default=os.environ.get("AWS_SESSION_TOKEN", ""))
    args = parser.parse_args()
    ttl_s = float(os.environ.get("SECRETS_MANAGER_TTL", "300"))
    SecretsExtension(args.port, args.token, from_secrets_manager, ttl_s).serve_forever()


if __name__ == "__main__":
    main()
