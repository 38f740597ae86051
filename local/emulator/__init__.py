"""A local FaceID (Tencent Cloud API 3.0) for tests and the local stack. Loopback only."""

from local.emulator.actions import (
    INTL_CONFIG_FIELDS,
    INTL_MAX_BASE64,
    LOCAL_SECRET_ID,
    LOCAL_SECRET_KEY,
    PERSONAL_DATA,
    RESULT_RETENTION_S,
    EmulatorServer,
    FaceIdEmulator,
    Fault,
    main,
    start_in_thread,
)

__all__ = [
    "INTL_CONFIG_FIELDS",
    "INTL_MAX_BASE64",
    "LOCAL_SECRET_ID",
    "LOCAL_SECRET_KEY",
    "PERSONAL_DATA",
    "RESULT_RETENTION_S",
    "EmulatorServer",
    "FaceIdEmulator",
    "Fault",
    "main",
    "start_in_thread",
]
