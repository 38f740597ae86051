"""Settings are read from the environment contract and refused at cold start with one clear line."""

from __future__ import annotations

import pytest

from faceid_fn.config import ConfigError, load_settings

BASE = {
    "TENCENTCLOUD_SECRET_ID": "AKIDexample",
    "TENCENTCLOUD_SECRET_KEY": "example-key",
    "FACEID_REDIRECT_URL": "https://app.example.com/done",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in (
        "FACEID_FLOW",
        "FACEID_INTL_CONFIG",
        "S3_UPLOADS",
        "FACEID_REGION",
        "FACEID_ENDPOINT",
        "FACEID_REDIRECT_HOSTS",
        "FACEID_TIMEOUT_S",
        "TENCENTCLOUD_SESSION_TOKEN",
        "FACEID_PACING_TABLE",
        "FACEID_PACING_RPS",
        "FACEID_PACING_MAX_WAIT_S",
        "IDEMPOTENCY_TTL_S",
    ):
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str | None) -> None:
        for name, value in {**BASE, **values}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return set_env


def test_defaults_follow_the_contract(env) -> None:
    # GIVEN only credentials and a redirect URL
    env()
    # WHEN the settings are loaded
    settings = load_settings()
    # THEN the documented defaults apply
    assert settings.faceid_region == "ap-singapore"
    assert settings.faceid_endpoint == "https://faceid.intl.tencentcloudapi.com"
    assert settings.faceid_timeout_s == 8
    assert settings.allowed_redirect_hosts == {"app.example.com"}


def test_intl_is_the_default_flow_and_legacy_is_a_choice(env) -> None:
    env()
    assert load_settings().faceid_flow == "intl"
    env(FACEID_FLOW="legacy")
    assert load_settings().faceid_flow == "legacy"


# Tencent's region lists: the Intl actions in five regions, the legacy ones in two, CreateUploadUrl in three.
@pytest.mark.parametrize(
    ("region", "flow", "s3_uploads"),
    [
        ("ap-singapore", "intl", "true"),
        ("ap-jakarta", "intl", "true"),
        ("ap-bangkok", "intl", "true"),
        ("ap-hongkong", "intl", "true"),
        ("sa-saopaulo", "intl", "true"),
        ("ap-singapore", "legacy", "true"),
        ("ap-jakarta", "legacy", "false"),
    ],
)
def test_every_documented_region_is_accepted_for_what_it_offers(env, region: str, flow: str, s3_uploads: str) -> None:
    env(FACEID_REGION=region, FACEID_FLOW=flow, S3_UPLOADS=s3_uploads)
    settings = load_settings()
    assert (settings.faceid_region, settings.faceid_flow) == (region, flow)


def test_region_table_refuses_an_impossible_combination_at_start(env) -> None:
    # GIVEN Jakarta (no CreateUploadUrl) with the legacy flow and S3 uploads, which need it
    env(FACEID_REGION="ap-jakarta", FACEID_FLOW="legacy", S3_UPLOADS="true")
    # THEN the container does not start, and the one line says what to change
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == (
        "faceid-fn configuration error: FaceID in ap-jakarta does not offer CreateUploadUrl, which "
        "FACEID_FLOW=legacy needs (use FACEID_FLOW=intl, or S3_UPLOADS=false)"
    )


@pytest.mark.parametrize("region", ["ap-bangkok", "ap-hongkong", "sa-saopaulo"])
def test_legacy_flow_is_refused_where_tencent_never_offered_it(env, region: str) -> None:
    env(FACEID_REGION=region, FACEID_FLOW="legacy", S3_UPLOADS="false")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert f"FaceID in {region} does not offer ApplyWebVerificationToken, GetWebVerificationResult" in str(raised.value)
    assert str(raised.value).endswith("(use FACEID_FLOW=intl)")


def test_flow_must_be_legacy_or_intl(env) -> None:
    env(FACEID_FLOW="v2")
    with pytest.raises(ConfigError, match="FACEID_FLOW"):
        load_settings()


def test_intl_page_config_is_read_as_json_and_checked(env) -> None:
    env(FACEID_FLOW="intl", FACEID_INTL_CONFIG='{"CheckMode": 2, "Language": "en", "AutoSkip": true}')
    assert load_settings().faceid_intl_config.params() == {"AutoSkip": True, "CheckMode": 2, "Language": "en"}
    env(FACEID_FLOW="intl", FACEID_INTL_CONFIG='{"Unknown": 1}')
    with pytest.raises(ConfigError, match="FACEID_INTL_CONFIG"):
        load_settings()


# All 17 fields of the official WebVerificationConfigIntl, each at a documented value.
WHOLE_CONFIG = {
    "AutoSkipStartPage": True,
    "AutoSkip": False,
    "CheckMode": 1,
    "IDCardType": "HKIDCard",
    "DisableCheckOcrWarnings": False,
    "SecurityLevel": 4,
    "SkipPrivacyPolicy": False,
    "IdCardCutReturn": True,
    "ThemeColor": "#2d72f1",
    "Language": "zh-tc",
    "AutoDowngrade": 2,
    "ActionList": "blink,mouth",
    "LivenessRetryLimit": 99,
    "LivenessTimeout": 600,
    "SelectedWarningCodes": "-9101,-9102",
    "AllowExpiredDocument": False,
    "Version": "PLUS",
}


def test_the_whole_current_page_config_is_accepted(env) -> None:
    import json

    env(FACEID_INTL_CONFIG=json.dumps(WHOLE_CONFIG))
    assert load_settings().faceid_intl_config.params() == WHOLE_CONFIG
    assert len(WHOLE_CONFIG) == 17


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CheckMode", 5),
        ("CheckMode", 0),
        ("SecurityLevel", 5),
        ("Language", "fr"),
        ("ThemeColor", "blue"),
        ("ThemeColor", "#12345"),
        ("IDCardType", "MarsIDCard"),
        ("AutoDowngrade", 3),
        ("ActionList", "blink,jump"),
        ("LivenessRetryLimit", 0),
        ("LivenessRetryLimit", 100),
        ("LivenessTimeout", 601),
        ("SelectedWarningCodes", "-9105"),
        ("Version", "GOLD"),
        ("AutoSkip", "sometimes"),
    ],
)
def test_a_bad_page_option_stops_the_cold_start_with_one_line_naming_it(env, field: str, value: object) -> None:
    import json

    env(FACEID_INTL_CONFIG=json.dumps({field: value}))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"faceid-fn configuration error: FACEID_INTL_CONFIG.{field} ")


def test_action_list_needs_an_action_security_level(env) -> None:
    env(FACEID_INTL_CONFIG='{"ActionList": "nod", "SecurityLevel": 3}')
    with pytest.raises(ConfigError, match="ActionList needs SecurityLevel 2 or 4"):
        load_settings()


def test_other_region_fails_with_one_line_naming_the_variable(env) -> None:
    env(FACEID_REGION="ap-guangzhou")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        "faceid-fn configuration error: FACEID_REGION must be one of "
        "ap-singapore, ap-jakarta, ap-bangkok, ap-hongkong, sa-saopaulo"
    )


def test_missing_redirect_url_fails_with_one_line(env) -> None:
    env(FACEID_REDIRECT_URL=None)
    with pytest.raises(ConfigError, match=r"^faceid-fn configuration error: FACEID_REDIRECT_URL is required$"):
        load_settings()


def test_missing_credentials_fail_at_start(env) -> None:
    env(TENCENTCLOUD_SECRET_KEY=None)
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRET_KEY"):
        load_settings()


def test_secret_key_never_appears_in_the_settings_repr(env) -> None:
    env()
    assert "example-key" not in repr(load_settings())


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://app.example.com/done", True),
        ("http://127.0.0.1:3000/done", True),
        ("http://app.example.com/done", False),
        ("/relative/path", False),
    ],
)
def test_redirect_url_must_be_https_except_on_loopback(env, url: str, ok: bool) -> None:
    env(FACEID_REDIRECT_URL=url)
    if ok:
        assert load_settings().faceid_redirect_url == url
    else:
        with pytest.raises(ConfigError, match="FACEID_REDIRECT_URL"):
            load_settings()


def test_endpoint_is_normalised_to_a_base_url(env) -> None:
    env(FACEID_ENDPOINT="http://127.0.0.1:9000/")
    assert load_settings().faceid_endpoint == "http://127.0.0.1:9000"


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "ftp://x", "https://faceid.example.com/v3", "https://u:p@h"])
def test_endpoint_must_be_a_bare_http_base_url(env, endpoint: str) -> None:
    env(FACEID_ENDPOINT=endpoint)
    with pytest.raises(ConfigError, match="FACEID_ENDPOINT"):
        load_settings()


def test_redirect_hosts_are_a_comma_separated_list(env) -> None:
    env(FACEID_REDIRECT_HOSTS=" App.Example.com, other.example.org ,")
    assert load_settings().allowed_redirect_hosts == {"app.example.com", "other.example.org"}


@pytest.mark.parametrize("value", ["0", "-1", "30", "soon"])
def test_timeout_must_leave_room_before_api_gateway_gives_up(env, value: str) -> None:
    env(FACEID_TIMEOUT_S=value)
    with pytest.raises(ConfigError, match="FACEID_TIMEOUT_S"):
        load_settings()


def test_pacing_is_off_unless_a_table_is_named(env) -> None:
    env(FACEID_PACING_TABLE="")
    settings = load_settings()
    assert settings.faceid_pacing_table is None
    assert (settings.faceid_pacing_rps, settings.faceid_pacing_max_wait_s) == (19, 12)


@pytest.mark.parametrize(
    ("timeout", "wait", "ok"),
    [("8", "12", True), ("8", "17", True), ("8", "17.5", False), ("20", "10", False)],
)
def test_slot_wait_and_upstream_budget_together_end_before_api_gateway_gives_up(
    env, timeout: str, wait: str, ok: bool
) -> None:
    env(FACEID_PACING_TABLE="pacing", FACEID_TIMEOUT_S=timeout, FACEID_PACING_MAX_WAIT_S=wait)
    if ok:
        assert load_settings().faceid_pacing_max_wait_s == float(wait)
    else:
        with pytest.raises(ConfigError, match="FACEID_TIMEOUT_S \\+ FACEID_PACING_MAX_WAIT_S must be at most 25 s"):
            load_settings()


@pytest.mark.parametrize(
    ("flow", "ttl", "replayed"), [("legacy", "3600", 3600), ("intl", "3600", 600), ("intl", "300", 300)]
)
def test_answers_are_never_replayed_past_the_flows_token_life(env, flow: str, ttl: str, replayed: int) -> None:
    env(FACEID_FLOW=flow, IDEMPOTENCY_TTL_S=ttl)
    assert load_settings().replay_ttl_s == replayed


def test_owner_only_reads_need_the_session_ledger(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONS_TABLE", raising=False)
    env(AUTH_REQUIRED="true")
    with pytest.raises(ConfigError, match="AUTH_REQUIRED needs SESSIONS_TABLE"):
        load_settings()
    env(AUTH_REQUIRED="true", SESSIONS_TABLE="faceid-fn-sessions-dev")
    assert load_settings().sessions_table == "faceid-fn-sessions-dev"


def test_photos_and_uploads_belong_to_the_folder_of_their_key_by_default(env) -> None:
    env(FACEID_PHOTO_OWNERSHIP=None, UPLOAD_OWNER_FROM=None)
    settings = load_settings()
    assert (settings.faceid_photo_ownership, settings.upload_owner_from) == (True, "key")
    env(FACEID_PHOTO_OWNERSHIP="off", UPLOAD_OWNER_FROM="metadata")
    settings = load_settings()
    assert (settings.faceid_photo_ownership, settings.upload_owner_from) == (False, "metadata")
    env(UPLOAD_OWNER_FROM="header")
    with pytest.raises(ConfigError, match=r"^faceid-fn configuration error: UPLOAD_OWNER_FROM "):
        load_settings()


def test_owner_starts_is_a_count_per_seconds_or_off(env) -> None:
    env(FACEID_OWNER_STARTS=None, SESSIONS_TABLE=None)
    assert load_settings().faceid_owner_starts == (10, 3600)  # the default; off without a table to count in
    env(FACEID_OWNER_STARTS="5/60", SESSIONS_TABLE="sessions")
    assert load_settings().faceid_owner_starts == (5, 60)
    env(FACEID_OWNER_STARTS="OFF", SESSIONS_TABLE=None)
    assert load_settings().faceid_owner_starts is None


@pytest.mark.parametrize("value", ["10", "10/", "/3600", "ten/3600", "0/3600", "10/0", "-1/60", "10/86401", "1e3/60"])
def test_a_bad_owner_starts_stops_the_cold_start_with_one_line(env, value: str) -> None:
    env(FACEID_OWNER_STARTS=value, SESSIONS_TABLE="sessions")
    with pytest.raises(ConfigError, match=r"^faceid-fn configuration error: FACEID_OWNER_STARTS ") as raised:
        load_settings()
    assert "\n" not in str(raised.value)


def test_an_owner_limit_asked_for_needs_a_table_to_count_in(env) -> None:
    env(FACEID_OWNER_STARTS="5/60", SESSIONS_TABLE=None)
    with pytest.raises(ConfigError, match="FACEID_OWNER_STARTS needs SESSIONS_TABLE"):
        load_settings()


def test_a_console_rule_is_sent_when_named_and_checked_at_start(env) -> None:
    env(FACEID_RULE_ID="")
    assert load_settings().faceid_rule_id is None  # empty: none sent (serverless.yml's default)
    env(FACEID_RULE_ID="rule_1")
    assert load_settings().faceid_rule_id == "rule_1"
    env(FACEID_RULE_ID="1 OR 2")
    with pytest.raises(ConfigError, match=r"^faceid-fn configuration error: FACEID_RULE_ID "):
        load_settings()
    env(FACEID_RULE_ID="1", FACEID_FLOW="legacy")
    with pytest.raises(ConfigError, match=r"FACEID_RULE_ID needs FACEID_FLOW=intl"):
        load_settings()


def test_failover_regions_are_an_ordered_list_after_the_primary(env) -> None:
    env(FACEID_FAILOVER_REGIONS="", SESSIONS_TABLE=None)
    assert load_settings().regions == ("ap-singapore",)  # none by default
    env(FACEID_FAILOVER_REGIONS=" ap-jakarta, ap-bangkok ", SESSIONS_TABLE="sessions")
    assert load_settings().regions == ("ap-singapore", "ap-jakarta", "ap-bangkok")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"FACEID_FAILOVER_REGIONS": "ap-jakarta,eu-frankfurt"},
            "FACEID_FAILOVER_REGIONS must be one of ap-singapore, ",
        ),
        ({"FACEID_FAILOVER_REGIONS": "ap-jakarta,ap-jakarta"}, "must name each region once, and not FACEID_REGION"),
        ({"FACEID_FAILOVER_REGIONS": "ap-singapore"}, "must name each region once, and not FACEID_REGION"),
        (
            {"FACEID_FAILOVER_REGIONS": "ap-jakarta", "FACEID_FLOW": "legacy"},
            "FACEID_FAILOVER_REGIONS needs FACEID_FLOW=intl",
        ),
        (
            {"FACEID_FAILOVER_REGIONS": "ap-jakarta", "SESSIONS_TABLE": None},
            "FACEID_FAILOVER_REGIONS needs SESSIONS_TABLE",
        ),
    ],
)
def test_failover_regions_that_cannot_work_stop_the_cold_start_with_one_line(
    env, overrides: dict[str, str | None], message: str
) -> None:
    env(**{"SESSIONS_TABLE": "sessions", **overrides})
    with pytest.raises(ConfigError, match=r"^faceid-fn configuration error: ") as raised:
        load_settings()
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
