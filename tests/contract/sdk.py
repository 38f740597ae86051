"""The official SDK's FaceID models (tests/contract/faceid_models.json, from tools/sdk_extract.py) and
checks of values and of our pydantic models against them."""

from __future__ import annotations

import json
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

EXTRACT = Path(__file__).with_name("faceid_models.json")
SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float)}


@cache
def document() -> dict[str, Any]:
    return dict(json.loads(EXTRACT.read_text()))


def part_of(action: str) -> dict[str, Any]:
    """The extract's part (current release or the frozen 3.1.49 one) that defines `action`."""
    for part in ("current", "legacy"):
        if action in document()[part]["actions"]:
            return dict(document()[part])
    raise KeyError(f"{action} is not in the SDK extract")


def actions() -> list[str]:
    return [a for part in ("current", "legacy") for a in document()[part]["actions"]]


def model(action: str, kind: str) -> tuple[str, dict[str, Any]]:
    """(model name, its models) for the request or response of `action`."""
    part = part_of(action)
    return part["actions"][action][kind], part["models"]


def value_problems(value: Any, type_name: str, models: dict[str, Any], path: str) -> list[str]:
    """Where `value` (decoded JSON; None is allowed anywhere) does not have the SDK type `type_name`."""
    if value is None:
        return []
    if type_name.startswith("list of "):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, the SDK has {type_name}"]
        inner = type_name.removeprefix("list of ")
        return [p for i, item in enumerate(value) for p in value_problems(item, inner, models, f"{path}[{i}]")]
    if type_name in SCALARS:
        ok = isinstance(value, SCALARS[type_name]) and (type_name == "bool" or not isinstance(value, bool))
        return [] if ok else [f"{path}: {type(value).__name__} {value!r:.40}, the SDK has {type_name}"]
    if not isinstance(value, dict):
        return [f"{path}: {type(value).__name__}, the SDK has the model {type_name}"]
    return object_problems(value, type_name, models, path)


def object_problems(value: dict[str, Any], model_name: str, models: dict[str, Any], path: str) -> list[str]:
    """Fields of `value` that the SDK model does not have (exact name and casing), or of another type."""
    fields = models[model_name]
    problems = [f"{path}.{name}: not a field of {model_name}" for name in value if name not in fields]
    for name, item in value.items():
        if name in fields:
            problems += value_problems(item, fields[name]["type"], models, f"{path}.{name}")
    return problems


def missing_fields(value: dict[str, Any], model_name: str, models: dict[str, Any], path: str) -> list[str]:
    """Fields of the SDK model absent from `value` (an answer carries every field, null allowed),
    recursively through nested models and lists of models."""
    fields = models[model_name]
    problems = [f"{path}.{name}: missing (the SDK's {model_name} has it)" for name in fields if name not in value]
    for name, spec in fields.items():
        item = value.get(name)
        inner = spec["type"].removeprefix("list of ")
        if inner not in models or item is None:
            continue
        for i, element in enumerate(item if isinstance(item, list) else [item]):
            if isinstance(element, dict):
                problems += missing_fields(element, inner, models, f"{path}.{name}[{i}]")
    return problems


def annotation_type(annotation: Any) -> str:
    """Our pydantic annotation in the extract's terms: `int | None` -> int, `list[X]` -> list of X."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return annotation_type(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if len(args) != 1:
            return " | ".join(annotation_type(a) for a in args)
        return annotation_type(args[0])
    if origin is list:
        return "list of " + annotation_type(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    if annotation in (str, int, bool, float):
        return str(annotation.__name__)
    if origin is typing.Literal:
        kinds = {type(a).__name__ for a in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 else repr(annotation)
    if origin is dict:
        return "dict"  # an object whose fields we pass on unchecked
    return repr(annotation)


def pydantic_problems(
    ours: type[BaseModel],
    model_name: str,
    models: dict[str, Any],
    *,
    own_fields: frozenset[str] = frozenset(),
    loose: list[str] | None = None,
) -> tuple[list[str], int]:
    """Fields of our model absent from the SDK model or typed differently (nested models recursively);
    returns (problems, number of fields checked). Fields typed as a plain dict where the SDK has a
    model are listed in `loose`."""
    loose = [] if loose is None else loose
    problems: list[str] = []
    checked = 0
    fields = models[model_name]
    for name, info in ours.model_fields.items():
        if name in own_fields:
            continue
        checked += 1
        if name not in fields:
            problems.append(f"{ours.__name__}.{name}: not a field of the SDK's {model_name}")
            continue
        sdk_type = fields[name]["type"]
        our_type = annotation_type(info.annotation)
        inner_ours = typing.get_args(info.annotation)
        nested = _nested_model(info.annotation)
        if nested is not None:
            sdk_inner = sdk_type.removeprefix("list of ")
            if sdk_type.startswith("list of ") != our_type.startswith("list of "):
                problems.append(f"{ours.__name__}.{name}: {our_type}, the SDK has {sdk_type}")
            elif sdk_inner not in models:
                problems.append(f"{ours.__name__}.{name}: a model, the SDK has {sdk_type}")
            else:
                sub, n = pydantic_problems(nested, sdk_inner, models, loose=loose)
                problems += sub
                checked += n
        elif our_type == "dict" and sdk_type in models:
            loose.append(f"{ours.__name__}.{name}")  # a model of the SDK kept as a plain object: names unchecked
        elif our_type != sdk_type and not (our_type == "float" and sdk_type == "int"):
            problems.append(f"{ours.__name__}.{name}: {our_type} ({inner_ours}), the SDK has {sdk_type}")
    return problems, checked


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None
