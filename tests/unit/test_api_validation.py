"""Validation errors become our codes and our messages, never the caller's input."""

from __future__ import annotations

import pytest

from faceid_fn.api import http_kind, validation_error
from tests.conftest import load_event


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ([{"type": "json_invalid", "loc": ("body", 0)}], ("InvalidParameter", "The body is not valid JSON")),
        ([{"type": "model_attributes_type", "loc": ("body",)}], ("InvalidParameter", "The body must be a JSON object")),
        (
            [{"type": "missing", "loc": ("body", "CompareImageMd5")}],
            ("InvalidParameter", "CompareImageMd5 is required"),
        ),
        ([{"type": "extra_forbidden", "loc": ("body", "Evil")}], ("InvalidParameter", "Unknown field 'Evil'")),
        (
            [{"type": "string_pattern_mismatch", "loc": ("body", "CompareImageMd5")}],
            ("InvalidParameterValue.CompareImageMd5", "CompareImageMd5 must be 32 hexadecimal digits"),
        ),
        (
            [{"type": "string_type", "loc": ("body", "RedirectUrl")}],
            ("InvalidParameter", "RedirectUrl must be a string of at most 2048 characters"),
        ),
        ([], ("InvalidParameter", "The request is not valid")),
    ],
)
def test_validation_errors_map_to_codes(errors: list[dict], expected: tuple[str, str]) -> None:
    assert validation_error(errors) == expected


@pytest.mark.parametrize(("kind", "expected"), [("http", "http"), ("rest", "rest"), ("function_url", "function_url")])
def test_each_sample_event_is_recognised(kind: str, expected: str) -> None:
    assert http_kind(load_event(kind)) == expected


def test_other_events_are_not_http() -> None:
    assert http_kind({"Records": [{"eventSource": "aws:s3"}]}) is None
    assert http_kind({"requestContext": "odd"}) is None
