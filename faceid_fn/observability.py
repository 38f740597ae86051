"""The one Logger, Tracer and Metrics of the function (Powertools), shared by every module. Tracing
patches `requests` at init and botocore on the first AWS client; off, the Tracer does nothing."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from faceid_fn.redaction import RedactingFormatter

SERVICE = "faceid-fn"
NAMESPACE = "FaceidFn"


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class _NoTracing(BaseProvider):
    """The provider of a disabled Tracer: every call does nothing."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Any) -> None: ...
    def patch_all(self) -> None: ...


def _tracing_off() -> bool:
    return os.getenv("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on")


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
# Records go out through the redacting formatter only: none reach the root logger's handlers
# (the Lambda runtime's, or anyone's), which would print them unredacted.
logging.getLogger(logger.name).propagate = False
# Patched at init: only what is imported at init anyway.
PATCHED_AT_INIT = ("requests",)
tracer = (
    Tracer(service=SERVICE, provider=_NoTracing(), disabled=True)
    if _tracing_off()
    else Tracer(service=SERVICE, patch_modules=PATCHED_AT_INIT)
)
_aws_clients_traced = False


def trace_aws_clients() -> None:
    """Patch botocore for X-Ray (once), when the function first builds an AWS client."""
    global _aws_clients_traced
    if not _aws_clients_traced:
        _aws_clients_traced = True
        tracer.patch(["botocore"])


metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def api_request_id(event: Any) -> Any:
    """The correlation id of an API Gateway or Function URL event, `requestContext.requestId` (None for
    other events): what Powertools' `correlation_paths.API_GATEWAY_HTTP` names, read without a JMESPath
    query on every request."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context.get("requestId") if isinstance(context, dict) else None
