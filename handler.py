"""Lambda entry points of the API function (`handler`) and of the COS uploads function (`cos_uploads`, what
the COS forwarder may invoke): observability decorators and dispatch, nothing else."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn import container
from faceid_fn.entrypoints import snapstart
from faceid_fn.entrypoints.dispatch import dispatch, dispatch_cos_uploads
from faceid_fn.observability import api_request_id, logger, metrics, tracer

container.check_configuration()  # a bad environment stops the container here, with one clear line
snapstart.register()  # with SnapStart on, the runtime calls these hooks around the snapshot


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(api_request_id(event))
    return dispatch(event, context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def cos_uploads(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch_cos_uploads(event, context)
