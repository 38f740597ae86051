"""X-Ray tracing as deployed: a fresh process with Lambda's environment (tracing on), its subsegments
received by a stand-in X-Ray daemon (UDP on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, Emulator, function_environment

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[dict[str, Any]]:
    documents = []
    try:
        while True:
            header, _, body = sock.recv(65535).decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
    except TimeoutError:
        return documents


def test_faceid_call_is_traced_with_its_request_id_and_outcome_and_botocore_is_not_patched_at_init(
    emulator: Emulator, daemon: socket.socket
) -> None:
    # GIVEN the function as Lambda runs it with tracing on (POWERTOOLS_TRACE_DISABLED unset)
    env = function_environment(emulator.url, FACEID_FLOW="legacy")
    del env["POWERTOOLS_TRACE_DISABLED"]
    env.update(
        {
            "PATH": "/usr/bin:/bin",
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "faceid-fn-test-api",
            "AWS_REGION": "ap-southeast-1",
            "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        }
    )
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import handler
        at_init = "botocore.client" in sys.modules
        from tests.conftest import LambdaContext, http_event, start_body
        answer = handler.handler(http_event(body=start_body()), LambdaContext())
        print(json.dumps({"status": answer["statusCode"], "botocore_at_init": at_init}))
        """
    )
    # WHEN it starts and serves a request
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"status": 201, "botocore_at_init": False}
    documents = received(daemon)
    # THEN the FaceID call's subsegment carries FaceID's RequestId and the outcome
    call = next(d for d in documents if d.get("annotations", {}).get("faceid_outcome"))
    assert call["trace_id"] == TRACE_ID
    assert call["annotations"]["faceid_outcome"] == "ok"
    assert call["annotations"]["faceid_request_id"] == emulator.calls[-1]["request_id"]
    # AND the HTTP attempt is a subsegment of its own (requests is patched), its URL without a query
    http = [d for d in documents if d.get("namespace") == "remote"]
    assert http
    assert all("?" not in d["http"]["request"]["url"] for d in http)
