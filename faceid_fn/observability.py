"""The one Logger, Tracer and Metrics of the function (Powertools), shared by every module.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set in serverless.yml), with the defaults below for tests and scripts.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

from faceid_fn.redaction import RedactingFormatter

SERVICE = "faceid-fn"
NAMESPACE = "FaceidFn"

logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
# Records go out through the redacting formatter only: none reach the root logger's handlers
# (the Lambda runtime's, or anyone's), which would print them unredacted.
logging.getLogger(logger.name).propagate = False
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
