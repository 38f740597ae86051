"""End to end: the README's local stack (FaceID emulator, moto, `osls offline`) answering real HTTP.

Runs `local/run.sh` exactly as `make run` does (on free ports), then uses the curl line it prints,
and calls the emulator's control endpoint to see what reached "FaceID". Also checks that every
sample in events/ works with `osls invoke local -p` against that stack.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

import pytest
import requests

from tests.conftest import VALID_MD5
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

# The photo local/seed.py puts in the COS stand-in (the intl flow reads it; legacy sends its URL).
SAMPLE_PHOTO_URL = "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/alice.png"
SAMPLE_PHOTO_MD5 = "43260cb380965ad3022baec8f7123412"


def test_run_script_self_check_started_a_session(stack: LocalStack) -> None:
    printed = "".join(stack.output)
    assert "HTTP/1.1 201 Created" in printed
    assert '"BizToken"' in printed


def test_the_printed_curl_line_starts_a_session(stack: LocalStack) -> None:
    # WHEN a newcomer runs the curl line exactly as printed
    result = subprocess.run(["bash", "-c", stack.curl_line], capture_output=True, text=True, timeout=30, check=True)
    # THEN it answers 201 with the session
    head, _, body = result.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 201")
    session = json.loads(body)
    assert set(session) == {"BizToken", "VerificationUrl", "RequestId", "ExpiresAt", "Region"}
    assert session["VerificationUrl"].startswith(stack.emulator + "/verify/")
    # AND the emulator saw a signed call for that session
    assert stack.calls()[-1]["request_id"] == session["RequestId"]


def test_bad_input_through_api_gateway_emulation_is_a_400(stack: LocalStack) -> None:
    answer = requests.post(f"{stack.http}/verifications", data="{not json", timeout=30)
    assert answer.status_code == 400
    assert answer.json()["Error"]["Code"] == "InvalidParameter"
    answer = requests.post(
        f"{stack.http}/verifications",
        json={"CompareImageUrl": "https://example.com/a.jpg", "CompareImageMd5": VALID_MD5},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["Error"]["Code"] == "InvalidParameterValue.CompareImageUrl"


def test_upstream_fault_reaches_the_caller_as_the_table_says(stack: LocalStack) -> None:
    fault = {"code": "UnauthorizedOperation.Nonactivated", "message": "FaceID is not activated", "count": 1}
    requests.post(f"{stack.emulator}/__emulator__/faults", json=fault, timeout=5).raise_for_status()
    answer = requests.post(
        f"{stack.http}/verifications",
        json={"CompareImageUrl": SAMPLE_PHOTO_URL, "CompareImageMd5": SAMPLE_PHOTO_MD5},
        timeout=30,
    )
    assert answer.status_code == 503
    assert answer.json()["Error"]["Code"] == "UnauthorizedOperation.Nonactivated"
    assert answer.json()["RequestId"] == stack.calls()[-1]["request_id"]


def invoke_local(stack: LocalStack, sample: str) -> dict[str, Any]:
    """`make invoke EVENT=events/<sample>`, as the README says."""
    return stack.make("invoke", f"EVENT=events/{sample}")


@pytest.mark.parametrize("sample", ["http-api-v2.json", "rest-api-v1.json", "function-url.json"])
def test_each_http_sample_works_with_osls_invoke_local(stack: LocalStack, sample: str) -> None:
    answer = invoke_local(stack, sample)
    assert answer["statusCode"] == 201, answer
    assert "BizToken" in json.loads(answer["body"])


@pytest.mark.parametrize("sample", ["s3-put.json", "cos-upload.json"])
def test_each_upload_sample_starts_one_session_against_the_local_stack(stack: LocalStack, sample: str) -> None:
    # WHEN the sample upload event is delivered twice (events are at-least-once)
    first, second = invoke_local(stack, sample), invoke_local(stack, sample)
    # THEN it started one session, naming its source, and the second delivery replayed it
    assert first["Failures"] == []
    [session] = first["Sessions"]
    assert session["Source"]["Key"] in ("reference/alice smith.png", "reference/alice.png")
    assert second == first
    applied = [c for c in stack.calls() if c["action"] == stack.apply_action and c["outcome"] == "ok"]
    assert sum(1 for c in applied if c["request_id"] == session["RequestId"]) == 1


def test_curl_line_is_a_single_shell_command(stack: LocalStack) -> None:
    # nothing left to continue on the next line
    assert not stack.curl_line.endswith("\\")
    # the line as the shell reads it, its operators (; && || | & < > ( )) as words of their own
    lexer = shlex.shlex(stack.curl_line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    # one curl to this stack's start route: no second command, pipe, redirection or subshell
    assert words[0] == "curl"
    assert [word for word in words if set(word) <= set(lexer.punctuation_chars)] == []
    assert f"{stack.http}/verifications" in words
