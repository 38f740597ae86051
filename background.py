"""Lambda entry points of the two functions EventBridge invokes: observability decorators and dispatch.

`background.sweep` (the schedule) and `background.deliver` (the completion rule) ship in the same
artifact as handler.py but run as functions of their own, each with its own role (serverless.yml). Unlike
handler.py, importing this module reads no credentials: the delivery function never calls FaceID and its
role cannot read the Tencent credentials; the sweep reads them on its first FaceID call.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn.entrypoints.dispatch import dispatch_delivery, dispatch_sweep
from faceid_fn.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch_sweep(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def deliver(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch_delivery(event, context)
