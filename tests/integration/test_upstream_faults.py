"""Every upstream fault gets its documented answer (docs/http.md, Errors), with its RequestId.

Faults are injected into the FaceID emulator over its control endpoint; the budget is
FACEID_TIMEOUT_S=1 so each test is quick. That the budget holds is shown by the answers, not by a
stopwatch (which a loaded machine makes flaky): an upstream 3 s late is an UpstreamTimeout, and retries
end in their code; the clock arithmetic itself is tested with a fake clock in tests/unit/test_faceid_retry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Emulator, Response, free_port, http_event, start_body

# Written for the legacy flow (COS URL sent as is); the intl flow has its own module, test_intl_flow.py.
pytestmark = pytest.mark.legacy_flow

BUDGET_S = 1.0

FAULTS = [
    # (fault, status, code, request id from FaceID?, upstream calls)
    ({"code": "RequestLimitExceeded", "count": 100}, 429, "RequestLimitExceeded", True, "many"),
    (
        {"code": "RequestLimitExceeded.UinLimitExceeded", "count": 100},
        429,
        "RequestLimitExceeded.UinLimitExceeded",
        True,
        "many",
    ),
    ({"code": "InternalError"}, 502, "InternalError", True, 1),
    ({"code": "AuthFailure.SignatureExpire"}, 502, "AuthFailure.SignatureExpire", True, 1),
    ({"code": "UnauthorizedOperation.Activating"}, 503, "UnauthorizedOperation.Activating", True, 1),
    ({"latency_ms": 3000}, 504, "UpstreamTimeout", False, 1),
    ({"reset": True, "count": 100}, 502, "UpstreamUnavailable", False, "many"),
    (
        {"http_status": 500, "body": "<html>oops</html>", "content_type": "text/html"},
        502,
        "UpstreamUnavailable",
        False,
        1,
    ),
    ({"http_status": 502, "body": "", "content_type": "text/plain"}, 502, "UpstreamUnavailable", False, 1),
    ({"body": "{not json", "content_type": "application/json"}, 502, "UpstreamUnavailable", False, 1),
    ({"body": '{"Response": {}}', "content_type": "application/json"}, 502, "UpstreamUnavailable", False, 1),
    (
        {"body": '{"Response": {"RequestId": "r", "Error": "boom"}}', "content_type": "application/json"},
        502,
        "UpstreamUnavailable",
        True,
        1,
    ),
]


@pytest.mark.parametrize(("fault", "status", "code", "faceid_request_id", "calls"), FAULTS)
def test_fault_gets_its_defined_answer(
    invoke: Callable[[dict[str, Any]], Response],
    emulator: Emulator,
    configure: Callable[..., None],
    fault: dict[str, Any],
    status: int,
    code: str,
    faceid_request_id: bool,
    calls: int | str,
) -> None:
    # GIVEN FaceID failing this way, and a 1 s budget
    configure(FACEID_TIMEOUT_S=str(BUDGET_S))
    emulator.fault(**fault)
    # WHEN a session is requested
    response = invoke(http_event(body=start_body(), request_id="apigw-fault"))
    # THEN the answer is the table's, with the right RequestId
    assert response.status == status, response.body
    assert response.body["Error"]["Code"] == code
    if faceid_request_id and fault.get("body") is None:
        assert response.body["RequestId"] == emulator.calls[-1]["request_id"]
    elif not faceid_request_id:
        assert response.body["RequestId"] == "apigw-fault"
    if status == 429:
        assert response.headers["retry-after"] == "1"
    made = len(emulator.calls) if fault.get("latency_ms") is None else 1
    if calls == "many":
        assert made > 1  # retried within the budget
    else:
        assert made == calls


def test_unreachable_endpoint_is_retried_then_502(
    invoke: Callable[[dict[str, Any]], Response], configure: Callable[..., None]
) -> None:
    configure(FACEID_ENDPOINT=f"http://127.0.0.1:{free_port()}", FACEID_TIMEOUT_S=str(BUDGET_S))
    response = invoke(http_event(body=start_body(), request_id="apigw-down"))
    assert response.status == 502
    assert response.body == {
        "Error": {"Code": "UpstreamUnavailable", "Message": "FaceID could not be reached or gave an unreadable answer"},
        "RequestId": "apigw-down",
    }


def test_a_single_reset_is_absorbed_by_a_retry(
    invoke: Callable[[dict[str, Any]], Response], emulator: Emulator
) -> None:
    emulator.fault(reset=True, count=1)
    assert invoke(http_event(body=start_body())).status == 201
    assert [c["outcome"] for c in emulator.calls] == ["fault:reset", "ok"]
