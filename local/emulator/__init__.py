"""A local FaceID (Tencent Cloud API 3.0) for tests and the local stack, on loopback only; request and
response fields are exactly those of the official SDK models (tests/contract keeps it to them).

    python -m local.emulator --port 9000
"""

from local.emulator.api import FaceIdEmulator
from local.emulator.catalog import (
    DEFAULT_RULE_IDS,
    INTL_CONFIG_FIELDS,
    INTL_MAX_BASE64,
    LOCAL_SECRET_ID,
    LOCAL_SECRET_KEY,
    OUTCOMES,
    REGION_FAILURES,
    RESULT_RETENTION_S,
    THROTTLING_CODES,
)
from local.emulator.ocr import PERSONAL_DATA
from local.emulator.server import EmulatorServer, main, start_in_thread
from local.emulator.state import Answer, ApiError, Fault, RegionFailure, Upload, WebSession

__all__ = [
    "DEFAULT_RULE_IDS",
    "INTL_CONFIG_FIELDS",
    "INTL_MAX_BASE64",
    "LOCAL_SECRET_ID",
    "LOCAL_SECRET_KEY",
    "OUTCOMES",
    "PERSONAL_DATA",
    "REGION_FAILURES",
    "RESULT_RETENTION_S",
    "THROTTLING_CODES",
    "Answer",
    "ApiError",
    "EmulatorServer",
    "FaceIdEmulator",
    "Fault",
    "RegionFailure",
    "Upload",
    "WebSession",
    "main",
    "start_in_thread",
]
