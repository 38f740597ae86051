"""Request parameter checks as the API makes them: names and JSON types (UnknownParameter,
InvalidParameter, MissingParameter) and the documented values of the intl Config (InvalidParameterValue)."""

from __future__ import annotations

import json
from typing import Any

from local.emulator.catalog import CONFIG_CHOICES, CONFIG_RANGES, LIVENESS_ACTIONS, OCR_WARNING_CODES
from local.emulator.state import ApiError


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return value


def _is_type(value: object, kind: type) -> bool:
    """JSON type check as the API does it: a bool is not an int, an int is a valid float."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_params(
    params: dict[str, Any], fields: dict[str, type], required: tuple[str, ...], *, prefix: str = ""
) -> None:
    """Names and JSON types of one request object; a null field counts as absent."""
    for name, value in params.items():
        if name not in fields:
            raise ApiError("UnknownParameter", f"The parameter `{prefix}{name}` is not recognized.")
        if value is not None and not _is_type(value, fields[name]):
            raise ApiError("InvalidParameter", f"The type of parameter `{prefix}{name}` is invalid.")
    for name in required:
        if params.get(name) is None:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{prefix}{name}`.")


def check_config_values(config: dict[str, Any]) -> None:
    """WebVerificationConfigIntl values against their documented lists and ranges."""

    def invalid(name: str) -> ApiError:
        return ApiError("InvalidParameterValue", f"The value of parameter `Config.{name}` is invalid.")

    for name, choices in CONFIG_CHOICES.items():
        if config.get(name) is not None and config[name] not in choices:
            raise invalid(name)
    for name, (low, high) in CONFIG_RANGES.items():
        if config.get(name) is not None and not low <= config[name] <= high:
            raise invalid(name)
    actions = config.get("ActionList")
    if actions is not None:
        chosen = actions.split(",")
        if not 1 <= len(chosen) <= 2 or any(a not in LIVENESS_ACTIONS for a in chosen):
            raise invalid("ActionList")
        if config.get("SecurityLevel") not in (2, 4):  # documented: only with action liveness
            raise invalid("ActionList")
    codes = config.get("SelectedWarningCodes")
    if codes and any(c.strip() not in OCR_WARNING_CODES for c in codes.split(",")):
        raise invalid("SelectedWarningCodes")
