"""Exactly-once session starts with Powertools Idempotency on DynamoDB (off without a table): a retried
`Idempotency-Key` with the same body, or an upload delivered twice, gets the stored answer."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from faceid_fn.adapters.aws.client_config import bounded_config, error_code, store_errors
from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.domain.errors import IdempotencyConflict, StoreUnavailable
from faceid_fn.observability import logger, metrics

M = TypeVar("M", bound=BaseModel)

# A redact deletes the stored answer of its session's start, whose key (a hash of the caller's
# Idempotency-Key, or of the uploaded object's version) the ledger does not know: each first run of a start
# also writes this pointer from the session's BizToken to its record, with the same expiry.
POINTER_PREFIX = "session#"
_first_run = threading.local()  # what the wrapped function returned when it really ran (not a replay)


def _replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Called by Powertools when a stored answer is returned instead of running again."""
    metrics.add_metric(name="IdempotentReplay", unit="Count", value=1)
    logger.info("stored answer replayed", extra={"idempotency_record": idempotent_data.idempotency_key})
    return response


class Idempotency:
    """Wraps a function so that calls with the same key run once; built once per container."""

    def __init__(self, table: str | None, ttl_s: int) -> None:
        self.table = table
        self.ttl_s = ttl_s
        self._configs: list[IdempotencyConfig] = []
        self._wrapped: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._client: LazyClient[Any] = LazyClient(_dynamodb_client)  # the pointers' reads and deletes

    @property
    def enabled(self) -> bool:
        return self.table is not None

    def once(
        self,
        function: Callable[..., M],
        *,
        model: type[M],
        key_path: str,
        payload_path: str = "",
    ) -> Callable[..., M]:
        """`function(request=...)` run once per `request[key_path]`; same key + other payload -> conflict.
        Built once per function and container (each has its persistence layer and DynamoDB client)."""
        if self.table is None:
            return function
        if function not in self._wrapped:
            self._wrapped[function] = self._wrap(
                function, table=self.table, model=model, key_path=key_path, payload_path=payload_path
            )
        return self._wrapped[function]

    def _wrap(
        self, function: Callable[..., M], *, table: str, model: type[M], key_path: str, payload_path: str
    ) -> Callable[..., M]:
        config = IdempotencyConfig(
            event_key_jmespath=key_path,
            payload_validation_jmespath=payload_path,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self.ttl_s,
            response_hook=_replayed,
        )
        self._configs.append(config)
        # One persistence layer per function: a layer keeps the configuration of its first caller.
        store = DynamoDBPersistenceLayer(table_name=table, boto_config=bounded_config())

        @functools.wraps(function)  # the same module and name: Powertools names its records after them
        def first_run(*, request: dict[str, Any]) -> M:
            result = function(request=request)
            _first_run.result = result
            return result

        wrapped = idempotent_function(
            first_run,
            data_keyword_argument="request",
            persistence_store=store,
            config=config,
            output_serializer=PydanticSerializer(model=model),
        )

        def run(*, request: dict[str, Any]) -> M:
            _first_run.result = None
            try:
                result: M = wrapped(request=request)
            except IdempotencyValidationError:
                raise IdempotencyConflict(
                    "IdempotencyConflict", "This Idempotency-Key was already used with a different request"
                ) from None
            except IdempotencyAlreadyInProgressError:
                raise IdempotencyConflict(
                    "IdempotencyInProgress", "A request with this key is still in progress", retry_after=True
                ) from None
            except IdempotencyPersistenceLayerError:
                raise StoreUnavailable("StoreUnavailable", "The idempotency store is unavailable") from None
            if _first_run.result is result:
                self._point_to(store, table, request, result)
            return result

        return run

    def register(self, context: LambdaContext) -> None:
        """Let Powertools see the invocation's remaining time (in-progress records expire with it)."""
        for config in self._configs:
            config.register_lambda_context(context)

    def _point_to(self, store: DynamoDBPersistenceLayer, table: str, request: dict[str, Any], result: Any) -> None:
        """The pointer from a session just started to its stored answer. Never fails the start: without it a
        redact cannot delete that answer, which then goes with its TTL (IDEMPOTENCY_TTL_S)."""
        token = getattr(result, "BizToken", None)
        if not isinstance(token, str):
            return
        try:
            record = store._get_hashed_idempotency_key(request)  # the id Powertools stored the answer under
            if record:
                store.client.put_item(
                    TableName=table,
                    Item={
                        "id": {"S": POINTER_PREFIX + token},
                        "record": {"S": record},
                        "expiration": {"N": str(int(time.time()) + self.ttl_s)},
                    },
                )
        except Exception as exc:
            logger.warning(
                "stored answer not indexed by its session", extra={"biz_token": token, "error": type(exc).__name__}
            )

    def forget_session(self, biz_token: str) -> None:
        """Delete the stored answer of a session's start (and its pointer), if there is one: a retry of that
        start then starts a new session. StoreUnavailable when DynamoDB fails."""
        if self.table is None:
            return
        client, key = self._client.get(), {"id": {"S": POINTER_PREFIX + biz_token}}
        try:
            pointer = client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            if pointer:
                client.delete_item(TableName=self.table, Key={"id": pointer["record"]})
                client.delete_item(TableName=self.table, Key=key)
        except store_errors() as exc:
            logger.warning("idempotency store unavailable", extra={"error": error_code(exc), "biz_token": biz_token})
            raise StoreUnavailable("StoreUnavailable", "The idempotency store is unavailable") from None


def _dynamodb_client() -> Any:
    import boto3

    return boto3.client("dynamodb", config=bounded_config())
