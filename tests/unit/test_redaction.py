"""Secrets are masked in every log line, whatever carries them."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from faceid_fn.redaction import (
    MASK,
    RedactingFormatter,
    redact,
    redact_text,
    redact_url,
    register_secret,
    register_secret_id,
)
from tests.secret_scan import find_secrets

SIGNED = (
    "https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg?q-sign-algorithm=sha1&q-ak=AKIDabc"
    "&q-signature=0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked&x-cos-security-token=tok123"
)


def test_url_loses_query_fragment_and_userinfo() -> None:
    assert redact_url(SIGNED) == "https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg"
    assert redact_url("https://u:p@h.example:8443/p?x#f") == "https://h.example:8443/p"


@pytest.mark.parametrize("url", ["https://h.example:99999/p?sign=x", "https://h.example:port/p", "http://[::1/"])
def test_a_url_that_cannot_be_parsed_is_masked_whole(url: str) -> None:
    assert redact_url(url) == MASK


def test_text_with_urls_and_encoded_urls_is_cleaned() -> None:
    text = f"failed to fetch {SIGNED} (also https%3A%2F%2Fh%2Fa%3Fq-signature%3Dabcdef&sign=xyz)"
    cleaned = redact_text(text)
    assert find_secrets(cleaned) == []
    assert "0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked" not in cleaned
    assert "sign=***" in cleaned
    assert "https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg" in cleaned


def test_registered_credentials_and_secret_named_keys_are_masked() -> None:
    register_secret("RegisteredSecretValue123")
    log = {"message": "key RegisteredSecretValue123 used", "SecretKey": "abc", "nested": [{"Authorization": "x"}]}
    assert redact(log) == {"message": f"key {MASK} used", "SecretKey": MASK, "nested": [{"Authorization": MASK}]}


def test_the_logger_formatter_redacts_messages_extras_and_exceptions() -> None:
    stream = io.StringIO()
    logger = Logger(service="redaction-test", logger_formatter=RedactingFormatter(), stream=stream)
    logging.getLogger("redaction-test").propagate = False  # only this test's stream sees the records
    logger.info("fetching %s", SIGNED, extra={"image": SIGNED})
    try:
        raise RuntimeError(f"[TencentCloudSDKException] code:ClientNetworkError message:{SIGNED}")
    except RuntimeError:
        logger.exception("call failed")
    output = stream.getvalue()
    assert find_secrets(output) == []
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["image"] == "https://photos-1250000000.cos.ap-singapore.myqcloud.com/a.jpg"
    assert "ClientNetworkError" in lines[1]["exception"]


def test_the_scanner_itself_finds_a_planted_secret() -> None:
    assert find_secrets(SIGNED) != []


def test_function_logs_reach_no_other_handler_unredacted() -> None:
    import logging

    from faceid_fn.observability import logger

    assert logging.getLogger(logger.name).propagate is False
    handlers = logging.getLogger(logger.name).handlers
    assert [type(h.formatter) for h in handlers] == [RedactingFormatter]


SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaDmFwLXNvdXRoZWFzdC0x+AbC=="


@pytest.mark.parametrize(
    "name",
    [
        "X-Amz-Security-Token",
        "x-amz-security-token",
        "X-Aws-Parameters-Secrets-Token",
        "X-AWS-PARAMETERS-SECRETS-TOKEN",
    ],
)
def test_session_token_headers_are_masked_in_any_case(name: str) -> None:
    # as a header of a logged request, in a list of values, and written out in text
    assert redact({"headers": {name: SESSION_TOKEN, "Host": "localhost"}}) == {
        "headers": {name: MASK, "Host": "localhost"}
    }
    assert redact({"multiValueHeaders": {name: [SESSION_TOKEN]}}) == {"multiValueHeaders": {name: MASK}}
    for text in (f"{name}: {SESSION_TOKEN}", f"{{'{name}': '{SESSION_TOKEN}'}}", f'"{name}":"{SESSION_TOKEN}"'):
        cleaned = redact_text(f"request failed, headers {text} end")
        assert SESSION_TOKEN not in cleaned
        assert name in cleaned
        assert cleaned.endswith(" end")


@pytest.mark.parametrize("key", ["secret_id", "SecretId", "secretId", "tencentcloud_secret_id"])
def test_a_secret_id_under_its_key_shows_only_its_first_4_characters(key: str) -> None:
    assert redact({key: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"}) == {key: f"AKID{MASK}"}
    assert redact({key: "short"}) == {key: MASK}  # too short to show any of it


def test_a_registered_secret_id_shows_only_its_first_4_characters_anywhere() -> None:
    register_secret_id("AKIDregisteredSecretIdForTests000000")
    text = "signed with AKIDregisteredSecretIdForTests000000 at 10:00; q-ak=AKIDregisteredSecretIdForTests000000&x=1"
    assert redact_text(text) == f"signed with AKID{MASK} at 10:00; q-ak={MASK}&x=1"
    assert redact({"message": "key AKIDregisteredSecretIdForTests000000 refused"}) == {
        "message": f"key AKID{MASK} refused"
    }
