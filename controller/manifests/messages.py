"""Pydantic validation errors as messages a manifest author understands.

Used for manifests (`loading`), the repo config (`repoconfig`) and policy files: each error
becomes a field path such as ``spec.variants[0].instanceType`` and a sentence, with a
"did you mean" hint for unknown fields taken from the model the error points into.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from controller.errors import Diagnostic
from controller.manifests import yamlpos
from controller.manifests.models import EndpointManifest

_TAGS = ("RegistryModel", "ImageModel")
"""Discriminator tags pydantic puts in locs; they are class names, not anything the user wrote."""
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SCALARS = (str, int, float, bool, type(None))


def diagnostic(
    error: Any, document: yamlpos.Document, shown: str, root: type[BaseModel] | None = None
) -> Diagnostic:
    """One pydantic error on `document` (of model `root`) as a `file:line: path: message`."""
    raw_loc = tuple(error["loc"])
    loc = strip_tags(raw_loc)
    line = yamlpos.line_of(document.node, loc)
    return Diagnostic(shown, line, render_path(loc), describe(error, raw_loc, root))


def strip_tags(loc: tuple[Any, ...]) -> yamlpos.Loc:
    """`loc` without the ModelSource discriminator tags, which only ever follow ``model``."""
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        if part in _TAGS and index > 0 and loc[index - 1] == "model":
            continue
        kept.append(part)
    return tuple(kept)


def render_path(loc: yamlpos.Loc) -> str:
    """``spec.variants[0].instanceType``; keys that are not plain words in ``["..."]``."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def describe(error: Any, raw_loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> str:
    """A readable message for one pydantic error (`raw_loc` still has its tags).

    `root` is the model validated (for "did you mean" hints); the endpoint manifest by default.
    """
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        message = "required field is missing"
    elif kind == "extra_forbidden":
        message = _unknown_field(raw_loc, root)
    elif kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error") or error["msg"])
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected', '?')} (got {_show(value)})"
    elif kind == "string_pattern_mismatch":
        message = f"{_show(value)} does not match the pattern {ctx.get('pattern')}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping (key: value), got {_show(value)}"
    elif kind == "list_type":
        message = f"expected a list, got {_show(value)}"
    elif kind == "string_type" and isinstance(value, int | float | bool):
        message = f"expected a string, got {_show(value)} (quote it in YAML)"
    else:
        message = str(error["msg"])
        if isinstance(value, _SCALARS):
            message += f" (got {_show(value)})"
    return f"key {message}" if raw_loc and raw_loc[-1] == "[key]" else message


def _show(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)  # single quotes, like pydantic's own lists of allowed values
    elif isinstance(value, _SCALARS):
        text = json.dumps(value, default=str)
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, dict):
        return "a mapping"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_field(raw_loc: tuple[Any, ...], root: type[BaseModel] | None) -> str:
    model = _model_at(raw_loc[:-1], root)
    if model is None:
        return "unknown field"
    allowed = [info.alias or name for name, info in model.model_fields.items()]
    hint = difflib.get_close_matches(str(raw_loc[-1]), allowed, n=1)
    guess = f", did you mean {hint[0]}?" if hint else ""
    return f"unknown field{guess} (allowed: {', '.join(allowed)})"


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] | None) -> type[BaseModel] | None:
    """The pydantic model a (tagged) loc points into, found by following field annotations."""
    current: list[Any] = [root or EndpointManifest]
    for part in loc:
        current = [child for annotation in current for child in _step(annotation, part)]
    models = [t for a in current for t in _flatten(a) if _is_model(t)]
    return models[0] if models else None


def _step(annotation: Any, part: Any) -> Iterator[Any]:
    for option in _flatten(annotation):
        if _is_model(option):
            if part == option.__name__:
                yield option  # a discriminator tag selects this branch of the union
            for name, info in option.model_fields.items():
                if part in (name, info.alias):
                    yield info.annotation
        elif get_origin(option) is list and isinstance(part, int):
            yield get_args(option)[0]
        elif get_origin(option) is dict:
            yield get_args(option)[1]


def _flatten(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _flatten(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _flatten(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
