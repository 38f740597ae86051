"""What is built once per Lambda container and reused by every warm invocation."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from faceid_fn.adapters.tencent.faceid_client import FaceId
from faceid_fn.config import ConfigError, Settings, load_settings
from faceid_fn.domain.flows import LEGACY_WARNING
from faceid_fn.observability import logger
from faceid_fn.redaction import register_secret, register_secret_id

if TYPE_CHECKING:
    from faceid_fn.adapters.aws.eventbridge import Publisher
    from faceid_fn.adapters.aws.idempotency import Idempotency
    from faceid_fn.adapters.aws.ledger import Ledger
    from faceid_fn.adapters.aws.owner_starts import OwnerStarts
    from faceid_fn.adapters.lifecycle import Lifecycle
    from faceid_fn.adapters.tencent.cos import Cos
    from faceid_fn.adapters.webhook_sender import WebhookSender


@cache
def settings() -> Settings:
    loaded = load_settings()
    if loaded.faceid_flow == "legacy":
        logger.warning(LEGACY_WARNING)
    for secret in (loaded.tencentcloud_secret_key, loaded.tencentcloud_session_token, loaded.webhook_secret):
        register_secret(secret.get_secret_value() if secret else None)
    register_secret_id(loaded.tencentcloud_secret_id)
    # The function's own AWS credentials (Lambda sets them; the session token is also what the Parameters
    # and Secrets extension checks): nothing logs them, and nothing ever may.
    for name in ("AWS_SESSION_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        register_secret(os.environ.get(name))
    return loaded


@cache
def faceid() -> FaceId:
    return FaceId.from_settings(settings())


@cache
def idempotency() -> Idempotency:
    from faceid_fn.adapters.aws.idempotency import Idempotency

    return Idempotency(settings().idempotency_table, settings().replay_ttl_s)


@cache
def s3() -> Any:
    import boto3

    from faceid_fn.adapters.aws.client_config import bounded_config

    return boto3.client("s3", config=bounded_config())


def erase_upload(bucket: str, key: str) -> None:
    """Delete an uploaded photo (a redact of its session), with the function's S3 client."""
    from faceid_fn.adapters.aws.s3 import delete_object

    delete_object(s3(), bucket, key)


@cache
def cos() -> Cos:
    from faceid_fn.adapters.tencent.cos import Cos

    return Cos(settings(), faceid().credential_info)


@cache
def ledger() -> Ledger | None:
    """The session ledger (SESSIONS_TABLE), or None when there is none."""
    from faceid_fn.adapters.aws.ledger import Ledger

    table = settings().sessions_table
    return Ledger(table) if table else None


@cache
def owner_starts() -> OwnerStarts | None:
    """The per-owner limit (FACEID_OWNER_STARTS), kept in the ledger's table; None when off or without one."""
    from faceid_fn.adapters.aws.owner_starts import OwnerStarts

    limit, table = settings().faceid_owner_starts, ledger()
    if limit is None or table is None:
        return None
    return OwnerStarts(table.table, *limit, client=table.client)


@cache
def publisher() -> Publisher:
    from faceid_fn.adapters.aws.eventbridge import Publisher

    local = settings().local_event_handoff
    return Publisher(
        settings().event_bus_name,
        local_sink=webhook_sender().deliver if local else None,
        local_redaction_sink=webhook_sender().deliver_redaction if local else None,
    )


@cache
def webhook_sender() -> WebhookSender:
    from faceid_fn.adapters.webhook_sender import WebhookSender

    return WebhookSender(settings().webhook_url, webhook_secret, ledger())


@cache
def _webhook_secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from faceid_fn.adapters.aws.client_config import bounded_config

    return SecretsProvider(boto_config=bounded_config())


def webhook_secret() -> str:
    """The `whsec_...` signing secret: WEBHOOK_SECRET, else Secrets Manager (cached WEBHOOK_SECRET_MAX_AGE_S)."""
    loaded = settings()
    if loaded.webhook_secret is not None:
        return loaded.webhook_secret.get_secret_value()
    value = str(_webhook_secrets().get(loaded.webhook_secret_name, max_age=loaded.webhook_secret_max_age_s)).strip()
    register_secret(value)
    return value


def check_configuration() -> None:
    """Validate the settings and build the clients at cold start (raises ConfigError)."""
    try:
        faceid().check_credentials()
    except TencentCloudSDKException as exc:
        raise ConfigError(f"faceid-fn configuration error: {exc.message}") from None


def load_for_snapshot() -> None:
    """Load what the first requests would otherwise load (SnapStart's before-snapshot hook: whatever is
    loaded now is in the snapshot). boto3, and the service models of the AWS clients this configuration
    builds on its request paths (DynamoDB for pacing and idempotency, EventBridge for completions): the
    clients built later reuse the models the default session cached. The session ledger's thin DynamoDB
    client (faceid_fn.adapters.aws.dynamodb, no service model) is built too."""
    loaded = settings()
    services: list[Any] = []  # service names (boto3's stubs type each as a Literal)
    if loaded.sessions_table or loaded.faceid_pacing_table or loaded.idempotency_table:
        services.append("dynamodb")
    if loaded.event_bus_name:
        services.append("events")
    if not services:
        return
    import boto3

    from faceid_fn.adapters.aws.client_config import bounded_config

    for service in services:
        boto3.client(service, config=bounded_config()).close()
    # The adapters of the request paths build their own clients too (the ledger's records every start, the
    # publisher's every completion): after a restore they only reconnect (and the ledger's client reads the
    # credentials again: its close() in drop_connections forgets them).
    ledger()
    if loaded.event_bus_name:
        publisher()
    for adapter in _built():
        adapter.prime()


def drop_connections() -> None:
    """Close pooled connections and let cached credentials be read again (SnapStart's hooks). The adapters
    stay (their clients reconnect on next use; the FaceID client's last good credentials remain the
    fallback of a failed read); idempotency and COS are built again when needed."""
    for adapter in _built():
        adapter.close()
    if s3.cache_info().currsize:
        s3().close()  # a bare boto3 client
    if _webhook_secrets.cache_info().currsize:
        _webhook_secrets().clear_cache()  # the webhook signing secret is read again too
    for built in (idempotency, cos):
        built.cache_clear()


def _built() -> list[Lifecycle]:
    """The adapters this container has built so far, each with a client to prime or close."""
    adapters: list[Lifecycle | None] = [
        holder() for holder in (faceid, ledger, publisher, cos, webhook_sender) if holder.cache_info().currsize
    ]
    return [adapter for adapter in adapters if adapter is not None]


def reset() -> None:
    """Forget what was built (tests change the environment between cases)."""
    for built in (
        idempotency,
        cos,
        s3,
        faceid,
        ledger,
        owner_starts,
        publisher,
        webhook_sender,
        _webhook_secrets,
        settings,
    ):
        built.cache_clear()
