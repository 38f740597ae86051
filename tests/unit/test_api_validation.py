"""Validation errors become our codes and our messages, never the caller's input; a body's nesting is
measured before it is parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceid_fn.entrypoints.http.body import json_depth
from faceid_fn.entrypoints.http.errors import validation_error
from faceid_fn.entrypoints.http.events import http_kind
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


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"Config": {"Language": "en"}, "Extra": [1, [2]]}', 3),
        ('{"Extra": "[[[[{{{{"}', 1),  # brackets inside a string do not count
        ('{"Extra": "a \\" [[[[ still inside"}', 1),  # nor after an escaped quote
        ('{"Extra": "ends in a backslash \\\\", "More": [[["x"]]]}', 4),  # the string ends after an escaped backslash
        ("[]" * 1000, 1),  # siblings are not depth
        ('"[[[["', 0),
        ("not json at all", 0),
    ],
)
def test_json_depth_counts_nesting_outside_strings(text: str, depth: int) -> None:
    assert json_depth(text, stop_after=32) == depth


def test_json_depth_stops_counting_past_the_limit() -> None:
    assert json_depth("[" * 1_000_000, stop_after=32) == 33


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ,:ab\n'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\ab'), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=500, derandomize=True, database=None)
@given(value=json_values, indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
def test_json_depth_agrees_with_the_parsed_value(value: Any, indent: int | None, ascii_only: bool) -> None:
    assert json_depth(json.dumps(value, indent=indent, ensure_ascii=ascii_only), stop_after=10_000) == depth_of(value)
