"""Exactly-once session starts with Powertools Idempotency on DynamoDB (off without a table): a retried
`Idempotency-Key` with the same body, or an upload delivered twice, gets the stored answer."""

from __future__ import annotations

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

from faceid_fn.adapters.aws.client_config import bounded_config
from faceid_fn.domain.errors import IdempotencyConflict, StoreUnavailable
from faceid_fn.observability import logger, metrics

M = TypeVar("M", bound=BaseModel)


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
        wrapped = idempotent_function(
            function,
            data_keyword_argument="request",
            persistence_store=store,
            config=config,
            output_serializer=PydanticSerializer(model=model),
        )

        def run(*, request: dict[str, Any]) -> M:
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
            return result

        return run

    def register(self, context: LambdaContext) -> None:
        """Let Powertools see the invocation's remaining time (in-progress records expire with it)."""
        for config in self._configs:
            config.register_lambda_context(context)
