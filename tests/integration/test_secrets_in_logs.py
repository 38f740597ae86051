"""Secrets never reach a log line, an error or a response, on the success and the failure paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local.emulator import LOCAL_SECRET_KEY
from tests.conftest import Emulator, LogLines, Response, http_event, start_body
from tests.secret_scan import find_secrets

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

SIGNATURE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked"
PRESIGNED = (
    "https://photos-1250000000.cos.ap-singapore.myqcloud.com/private/alice.jpg"
    f"?q-sign-algorithm=sha1&q-ak=AKIDcosUploader&q-sign-time=1795578000;1795581600&q-signature={SIGNATURE}"
    "&x-cos-security-token=CosSessionTokenValue123"
)


@pytest.mark.parametrize(
    "fault",
    [
        None,
        {"code": "InvalidParameterValue", "message": f"cannot fetch {PRESIGNED}"},
        {"code": "InternalError", "message": f"internal error for {PRESIGNED}"},
        {"http_status": 502, "body": f"bad gateway {PRESIGNED}", "content_type": "text/plain"},
        {"code": "RequestLimitExceeded", "count": 50},
    ],
)
def test_presigned_url_and_secret_key_stay_out_of_logs_and_answers(
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
    configure,
    logs: LogLines,
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any] | None,
) -> None:
    # GIVEN a private photo passed as a pre-signed URL, and FaceID answering (or failing) as given
    configure(FACEID_TIMEOUT_S="0.5")
    if fault:
        emulator.fault(**fault)
    # WHEN a session is started
    response = invoke(http_event(body=start_body(CompareImageUrl=PRESIGNED)))
    # THEN the pre-signed URL did reach FaceID whole (it needs the signature to read the photo)
    assert emulator.calls[-1]["params"]["CompareImageUrl"] == PRESIGNED
    # AND neither the logs nor the answer hold the signature, the COS token or our SecretKey
    output = capsys.readouterr()
    everything = logs.text + output.out + output.err + json.dumps(response.raw)
    assert "FaceID call" in logs.text  # the call was logged: the check below looked at real lines
    leaks = find_secrets(everything, [SIGNATURE, "CosSessionTokenValue123", LOCAL_SECRET_KEY])
    assert leaks == [], [line for line in everything.splitlines() if SIGNATURE in line][:1]


# The function's own AWS credentials, as Lambda sets them (the session token is also what the Parameters
# and Secrets extension checks).
AWS_CREDENTIALS = {
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEFunctionSessionTokenForTestsOnly/+0000==",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFunctionKeyForTests",
}


@pytest.mark.parametrize("name", AWS_CREDENTIALS)
def test_the_functions_aws_credentials_are_masked_like_the_secret_key(
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
    configure,
    logs: LogLines,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    # GIVEN the function started with its AWS credentials in the environment, as Lambda starts it
    value = AWS_CREDENTIALS[name]
    monkeypatch.setenv(name, value)
    configure()
    # WHEN the value turns up in an upstream error and in a log line
    emulator.fault(code="InvalidParameterValue", message=f"rejected credential {value}")
    response = invoke(http_event(body=start_body()))
    from faceid_fn.observability import logger

    logger.warning("extension call failed", extra={"detail": f"credential {value} was refused"})
    # THEN neither the answer nor the log holds it
    assert response.status == 400
    assert response.body["Error"]["Message"] == "rejected credential ***"
    assert logs.records("extension call failed")[0]["detail"] == "credential *** was refused"
    assert find_secrets(logs.text + json.dumps(response.raw), [value]) == []
