"""The error table (docs/http.md, Errors), as far as it is decided by FaceID's error code."""

from __future__ import annotations

import pytest

from faceid_fn.domain.errors import StoreUnavailable, UpstreamError, upstream_status


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InvalidParameter", 400),
        ("InvalidParameterValue", 400),
        ("InvalidParameterValue.BizTokenIllegal", 404),
        ("InvalidParameterValue.BizTokenExpired", 410),
        ("MissingParameter", 400),
        ("UnknownParameter", 400),
        ("ResourceNotFound.BizToken", 404),
        ("RequestLimitExceeded", 429),
        ("RequestLimitExceeded.UinLimitExceeded", 429),
        ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", 429),
        ("RequestLimitExceeded.IPLimitExceeded", 429),
        ("FailedOperation.RequestLimitExceeded", 429),
        ("InvalidParameterValue.RuleIdNotExist", 502),
        ("UnauthorizedOperation.Nonactivated", 503),
        ("UnauthorizedOperation.Arrears", 503),
        ("AuthFailure.SignatureFailure", 502),
        ("AuthFailure.SecretIdNotFound", 502),
        ("InternalError", 502),
        ("InternalError.UnKnown", 502),
        ("UpstreamUnavailable", 502),
        ("UpstreamTimeout", 504),
        ("SomethingNew.NobodyExpected", 502),
    ],
)
def test_status_for_each_upstream_code(code: str, status: int) -> None:
    assert upstream_status(code) == status


def test_throttling_tells_the_caller_when_to_retry() -> None:
    assert UpstreamError("RequestLimitExceeded", "slow down").headers == {"Retry-After": "1"}
    assert UpstreamError("FailedOperation.RequestLimitExceeded", "slow down").headers == {"Retry-After": "1"}
    assert UpstreamError("InternalError", "oops").headers == {}


@pytest.mark.parametrize(
    ("code", "ours"),
    [
        ("AuthFailure.SignatureFailure", True),
        ("InvalidAction", True),
        ("InvalidParameterValue.RuleIdNotExist", True),
        ("InvalidParameterValue", False),
    ],
)
def test_credential_and_configuration_failures_are_ours_to_fix(code: str, ours: bool) -> None:
    assert UpstreamError(code, "x").is_our_fault is ours


def test_a_store_that_cannot_be_used_tells_the_caller_to_retry() -> None:
    assert StoreUnavailable("StoreUnavailable", "The session ledger is unavailable").headers == {"Retry-After": "1"}
