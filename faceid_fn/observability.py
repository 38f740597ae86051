"""The one Logger, Tracer and Metrics of the function (Powertools), shared by every module.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set in serverless.yml), with the defaults below for tests and scripts.

Tracing: with POWERTOOLS_TRACE_DISABLED unset (deployed), Tracer uses the X-Ray SDK. When tracing is
off (local runs, tests, bench), the Tracer gets a do-nothing provider instead: Powertools' Tracer imports
the whole X-Ray SDK (and botocore with it) even when disabled, about 190 ms of every cold start.
"""

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
tracer = Tracer(service=SERVICE, provider=_NoTracing(), disabled=True) if _tracing_off() else Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
