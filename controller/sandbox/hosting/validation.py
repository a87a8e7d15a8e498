"""SageMaker's own input validation, driven by the botocore service model.

botocore checks types and minimums on the client, but SageMaker itself also enforces patterns,
maximum lengths, ranges and enums, and moto checks almost none of them. Reading the constraints
from `botocore/data/sagemaker/*/service-2.json` (the project's source of truth for limits) keeps
the sandbox in step with the real API without a hand-written copy that would drift. Messages
follow AWS's wording: `1 validation error detected: Value 'x' at 'endpointName' failed to
satisfy constraint: Member must satisfy regular expression pattern: ...`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.session
from botocore.model import (
    ListShape,
    MapShape,
    OperationNotFoundError,
    ServiceModel,
    Shape,
    StructureShape,
)

from controller.sandbox.errors import validation_error

_NUMERIC = frozenset({"integer", "long", "float", "double"})


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    """The botocore model of a service, loaded once per process."""
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """Java-style patterns AWS uses; one Python cannot compile is skipped rather than guessed."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def shape_limits(shape_name: str) -> dict[str, Any]:
    """The raw constraints (`min`, `max`, `pattern`, `enum`) of a named shape in the model."""
    shape = service_model().shape_for(shape_name)
    return {k: v for k, v in shape.metadata.items() if k in {"min", "max", "pattern", "enum"}}


def validate_input(operation: str, params: dict[str, Any], service: str = "sagemaker") -> None:
    """Raise a ValidationException listing every constraint the input breaks, as AWS does."""
    try:
        shape = service_model(service).operation_model(operation).input_shape
    except OperationNotFoundError:
        return
    if shape is None:
        return
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation_error(f"{count} validation {noun} detected: " + "; ".join(problems))


def _member_path(path: str, name: str) -> str:
    camel = name[:1].lower() + name[1:]
    return f"{path}.{camel}" if path else camel


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if value is None:
        return
    if isinstance(shape, StructureShape):
        _check_structure(shape, value, path, problems)
    elif isinstance(shape, ListShape):
        _check_list(shape, value, path, problems)
    elif isinstance(shape, MapShape):
        _check_map(shape, value, path, problems)
    elif shape.type_name == "string":
        _check_string(shape, value, path, problems)
    elif shape.type_name in _NUMERIC:
        _check_number(shape, value, path, problems)


def _check_structure(shape: StructureShape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for name in shape.required_members:
        if value.get(name) is None:
            where = _member_path(path, name)
            problems.append(
                f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
            )
    for name, member in shape.members.items():
        if name in value:
            _check(member, value[name], _member_path(path, name), problems)


def _check_list(shape: ListShape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, list):
        return
    _check_length(shape, len(value), value, path, problems)
    for index, item in enumerate(value, start=1):
        _check(shape.member, item, f"{path}.{index}.member", problems)


def _check_map(shape: MapShape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        return
    _check_length(shape, len(value), value, path, problems)
    for key, item in value.items():
        _check(shape.key, key, f"{path}.key", problems)
        _check(shape.value, item, f"{path}.{key}", problems)


def _check_string(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        return
    meta = shape.metadata
    _check_length(shape, len(value), value, path, problems)
    enum = meta.get("enum")
    if enum and value not in enum:
        problems.append(
            _fail(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        )
    pattern = meta.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and compiled.fullmatch(value) is None:
        problems.append(
            _fail(value, path, f"Member must satisfy regular expression pattern: {pattern}")
        )


def _check_number(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    meta = shape.metadata
    if "min" in meta and value < meta["min"]:
        problems.append(
            _fail(value, path, f"Member must have value greater than or equal to {meta['min']}")
        )
    if "max" in meta and value > meta["max"]:
        problems.append(
            _fail(value, path, f"Member must have value less than or equal to {meta['max']}")
        )


def _check_length(shape: Shape, length: int, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    if "min" in meta and length < meta["min"]:
        problems.append(
            _fail(value, path, f"Member must have length greater than or equal to {meta['min']}")
        )
    if "max" in meta and length > meta["max"]:
        problems.append(
            _fail(value, path, f"Member must have length less than or equal to {meta['max']}")
        )


def _fail(value: Any, path: str, constraint: str) -> str:
    return f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"
