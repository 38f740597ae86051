"""What a new user meets first: `make run` without root, a taken port that stops the stack
with a message, `make invoke`, and our envelope for unknown routes on the local stack."""

from __future__ import annotations

import socket
import subprocess

import pytest
import requests

from tests.conftest import ROOT, free_ports
from tests.e2e.conftest import LocalStack, node_env

pytestmark = pytest.mark.e2e


def test_make_run_installs_no_browser_and_needs_no_root() -> None:
    plan = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert "apt-get" not in plan.stdout
    assert "chromium" not in plan.stdout.lower()
    # the browser is the browser journey test's: `make test` (and `make e2e`) install it
    rules = {line.split(":", 1)[0]: line for line in (ROOT / "Makefile").read_text().splitlines() if ":" in line}
    assert " browser " in rules["test"]
    assert " browser" in rules["e2e"]
    assert "browser" not in rules["setup"].split("##", 1)[0]


def test_a_taken_port_stops_the_stack_with_a_message_naming_it() -> None:
    # GIVEN something already listening where osls offline would
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        names = ("EMULATOR_PORT", "MOTO_PORT", "WEBHOOK_RECEIVER_PORT", "DEMO_PORT", "OFFLINE_LAMBDA_PORT")
        ports = {name: str(port) for name, port in zip(names, free_ports(len(names)), strict=True)}
        # WHEN the stack starts
        done = subprocess.run(
            [str(ROOT / "local" / "run.sh")],
            cwd=ROOT,
            env=node_env(**ports, OFFLINE_HTTP_PORT=port),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    # THEN it stops at once, non-zero, naming the port and the variable that moves it
    assert done.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "OFFLINE_HTTP_PORT=<free port> make run" in done.stderr
    assert "Ready" not in done.stdout


def test_make_invoke_without_an_event_says_how_to_use_it() -> None:
    done = subprocess.run(["make", "-s", "invoke"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "usage: make invoke EVENT=events/<file>.json" in done.stderr


def test_unknown_routes_and_preflights_on_the_local_stack(stack: LocalStack) -> None:
    for method, path in (("GET", "/nope"), ("DELETE", "/verifications/abc/def"), ("POST", "/")):
        answer = requests.request(method, f"{stack.http}{path}", timeout=30)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["Error"] == {"Code": "ResourceNotFound", "Message": "No such route"}
    origin = stack.demo.split("/?", 1)[0]
    preflight = requests.options(
        f"{stack.http}/verifications",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == origin
    curl_d = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends without -H
    form = requests.post(f"{stack.http}/verifications/", data='{"CompareImageUrl": "x"}', headers=curl_d, timeout=30)
    assert form.status_code == 415
