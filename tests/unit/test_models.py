from __future__ import annotations

import pytest
from pydantic import ValidationError

from faceid_fn.domain.models import StartVerification
from tests.conftest import COS_URL, VALID_MD5


def test_md5_in_any_case_is_accepted() -> None:
    model = StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=VALID_MD5.upper())
    assert model.CompareImageMd5 == VALID_MD5.upper()
    assert model.RedirectUrl is None


@pytest.mark.parametrize("md5", ["", "abc", VALID_MD5 + "0", "g" * 32, VALID_MD5[:-1] + " "])
def test_md5_must_be_32_hex_digits(md5: str) -> None:
    with pytest.raises(ValidationError):
        StartVerification(CompareImageUrl=COS_URL, CompareImageMd5=md5)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        StartVerification.model_validate({"CompareImageUrl": COS_URL, "CompareImageMd5": VALID_MD5, "X": 1})


def test_values_are_not_coerced_from_other_types() -> None:
    with pytest.raises(ValidationError):
        StartVerification.model_validate({"CompareImageUrl": 12, "CompareImageMd5": VALID_MD5})
