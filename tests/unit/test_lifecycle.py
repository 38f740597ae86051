"""The rules of a session's later life that need no store: cursors, the redact answer, what a read respects."""

from __future__ import annotations

import base64
import json

import pytest

from faceid_fn.adapters.aws import ledger
from faceid_fn.domain import lifecycle
from faceid_fn.domain.completion import check_not_redacted, held_status
from faceid_fn.domain.errors import InvalidInput, SessionRedacted
from faceid_fn.domain.models import VerificationResult
from faceid_fn.domain.sessions import SessionRecord


def record(**fields: object) -> SessionRecord:
    base: dict[str, object] = {
        "BizToken": "TOKEN-0001",
        "Owner": "alice",
        "Source": {"Type": "http"},
        "Flow": "intl",
        "Region": "ap-singapore",
        "CreatedAt": "2026-11-25T04:00:00Z",
        "TokenExpiresAt": 1795665600,
        "Status": "canceled",
    }
    return SessionRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_a_cursor_comes_back_as_the_position_it_named_for_its_owner_only() -> None:
    position = {"BizToken": "TOKEN-0001", "CreatedAt": "2026-11-25T04:00:00Z"}
    cursor = lifecycle.encode_cursor("alice", position)
    assert lifecycle.decode_cursor(cursor, "alice") == position
    with pytest.raises(InvalidInput) as refused:
        lifecycle.decode_cursor(cursor, "bob")
    assert refused.value.code == "InvalidParameterValue.cursor"


@pytest.mark.parametrize(
    "value",
    [
        {"Owner": "alice", "BizToken": "../../x", "CreatedAt": "2026-11-25T04:00:00Z"},
        {"Owner": "alice", "BizToken": "TOKEN-0001", "CreatedAt": "yesterday"},
        {"Owner": "alice", "BizToken": "TOKEN-0001", "CreatedAt": "2026-11-25T04:00:00Z", "Status": "x"},
        {"Owner": "alice", "BizToken": 7, "CreatedAt": "2026-11-25T04:00:00Z"},
        ["alice"],
    ],
)
def test_a_cursor_of_another_shape_is_refused(value: object) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
    with pytest.raises(InvalidInput):
        lifecycle.decode_cursor(cursor, "alice")


def test_the_redact_answer_says_what_faceid_and_cos_keep() -> None:
    answer = lifecycle.redaction_of(record(Source={"Type": "cos"}, RedactedAt="2026-11-25T05:00:00Z"))
    where = [r.Where for r in answer.Retained]
    assert where[0] == "Tencent FaceID (ap-singapore)"
    assert answer.Retained[0].Until == "2026-11-28T04:00:00Z"  # 3 days after the start
    assert "Tencent COS: the uploaded reference photo" in where
    assert not any("uploaded reference photo" in d for d in answer.Deleted)
    s3 = lifecycle.redaction_of(record(Source={"Type": "s3"}, RedactedAt="2026-11-25T05:00:00Z"))
    assert any("uploaded reference photo" in d for d in s3.Deleted)
    assert not any("COS" in r.Where for r in s3.Retained)


def test_the_retention_the_answer_names_is_the_ledgers() -> None:
    assert lifecycle.FACEID_KEEPS == ledger.RESULT_RETENTION
    assert lifecycle.LEDGER_KEEPS == ledger.RESULT_RETENTION + ledger.RETENTION_MARGIN


def test_a_read_of_a_redacted_session_is_410_and_a_canceled_one_stays_canceled() -> None:
    check_not_redacted(None)
    check_not_redacted(record())
    with pytest.raises(SessionRedacted) as gone:
        check_not_redacted(record(RedactedAt="2026-11-25T05:00:00Z"))
    assert (gone.value.status, gone.value.code) == (410, "SessionRedacted")
    passed = VerificationResult(BizToken="TOKEN-0001", Status="passed", ErrorCode=0, ErrorMsg="Success", RequestId="r")
    assert held_status(passed, record()).Status == "canceled"
    assert held_status(passed, record(Status="pending")).Status == "passed"
    assert held_status(passed, None).Status == "passed"
