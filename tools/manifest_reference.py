"""docs/reference/manifest.md, generated from the pydantic models of the manifest.

The models' JSON Schema (the one editors use) gives every field's type, constraints, default and
description; the models' source gives the cross-field rules (the messages their model validators
raise), which JSON Schema cannot express. Sections follow the document from the root, in the
order fields are first reached, and each says at which paths it appears.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, PlainValidator, WrapValidator

from controller.manifests import models
from controller.manifests.models import API_VERSION, EndpointManifest
from tools.markdown import cell, prose

ROOT = "EndpointManifest"
# Enums longer than this are summarised (ProductionVariantInstanceType has hundreds of values).
MAX_LISTED_ENUM = 12
SOURCE = "controller/manifests/models.py"

Schema = dict[str, Any]


def _ref_name(node: Schema) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _unwrap_optional(node: Schema) -> tuple[Schema, bool]:
    """`X | None` appears as anyOf [X, null]: return X and whether null was allowed."""
    options = node.get("anyOf")
    if not options:
        return node, False
    rest = [o for o in options if o.get("type") != "null"]
    if len(rest) == 1:
        merged = {**node, **rest[0]}
        merged.pop("anyOf")
        return merged, len(rest) < len(options)
    return node, len(rest) < len(options)


def _anchor(name: str) -> str:
    return name.lower()


def type_of(node: Schema) -> str:
    """A short human type: links to object sections, list/map/enum spelled out."""
    node, _ = _unwrap_optional(node)
    if (ref := _ref_name(node)) is not None:
        return f"[{ref}](#{_anchor(ref)})"
    for union in ("oneOf", "anyOf"):
        if union in node:
            return " or ".join(type_of(option) for option in node[union])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type")
    if kind == "array":
        return f"list of {type_of(node.get('items', {}))}"
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            return f"map of string to {type_of(values)}"
        patterns = node.get("patternProperties", {})
        if patterns:
            return f"map of string to {type_of(next(iter(patterns.values())))}"
        return "object"
    if "enum" in node and not kind:
        return "string" if all(isinstance(v, str) for v in node["enum"]) else "enum"
    return str(kind or "any")


def constraints_of(node: Schema) -> list[str]:
    """Every JSON Schema limit on the value, in words."""
    node, _ = _unwrap_optional(node)
    words = {
        "minLength": "at least {} characters",
        "maxLength": "at most {} characters",
        "minimum": ">= {}",
        "exclusiveMinimum": "> {}",
        "maximum": "<= {}",
        "exclusiveMaximum": "< {}",
        "multipleOf": "multiple of {}",
        "minItems": "at least {} items",
        "maxItems": "at most {} items",
        "minProperties": "at least {} entries",
        "maxProperties": "at most {} entries",
    }
    found = [text.format(node[key]) for key, text in words.items() if key in node]
    if "pattern" in node:
        found.append(f"pattern `{node['pattern']}`")
    for key_pattern, value in node.get("patternProperties", {}).items():
        found.append(f"keys match `{key_pattern}`")
        found += [f"values {c}" for c in constraints_of(value)]
    if "maxLength" in node.get("propertyNames", {}):
        found.append(f"keys at most {node['propertyNames']['maxLength']} characters")
    if "enum" in node:
        found.append(_enum_words(node["enum"]))
    if node.get("items"):
        found += [f"each item {c}" for c in constraints_of(node["items"])]
    return found


def _enum_words(values: list[Any]) -> str:
    shown = ", ".join(f"`{v}`" for v in values[:MAX_LISTED_ENUM])
    if len(values) <= MAX_LISTED_ENUM:
        return f"one of {shown}"
    return f"one of {len(values)} values ({shown}, ...; full list in schemas/endpoint.schema.json)"


def _default_of(node: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in node or node["default"] is None:
        return "optional"
    return f"default `{json.dumps(node['default'])}`"


def _children(node: Schema) -> Iterator[tuple[str, str]]:
    """(object name, path suffix) for each object type a property leads to."""
    node, _ = _unwrap_optional(node)
    if (ref := _ref_name(node)) is not None:
        yield ref, ""
    for union in ("oneOf", "anyOf"):
        for option in node.get(union, []):
            yield from _children(option)
    if node.get("type") == "array" and "items" in node:
        for name, suffix in _children(node["items"]):
            yield name, "[]" + suffix
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        for name, suffix in _children(values):
            yield name, ".<key>" + suffix


def walk(schema: Schema) -> dict[str, list[str]]:
    """Object name -> the manifest paths where it appears, in first-reached order."""
    defs = schema.get("$defs", {})
    paths: dict[str, list[str]] = {ROOT: ["(document root)"]}
    queue = [(ROOT, schema, "")]
    while queue:
        _, node, prefix = queue.pop(0)
        for field, prop in node.get("properties", {}).items():
            for child, suffix in _children(prop):
                path = f"{prefix}{field}{suffix}"
                if child not in paths:
                    paths[child] = []
                    queue.append((child, defs[child], path + "."))
                paths[child].append(f"`{path}`")
    return paths


def _message(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "…" for v in node.values]
        return "".join(str(p) for p in parts)
    return None


def _raised(tree: ast.AST) -> list[str]:
    """Messages of the exceptions raised in a piece of source (f-string holes shown as …)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            text = _message(node.exc.args[0])
            if text:
                found.append(text)
    return found


def _validators(annotation: Any) -> Iterator[Callable[..., Any]]:
    """Functional validators attached anywhere in a field's annotation (Annotated, unions)."""
    for arg in get_args(annotation):
        if isinstance(arg, AfterValidator | BeforeValidator | PlainValidator | WrapValidator):
            yield arg.func
        else:
            yield from _validators(arg)


def rules() -> dict[str, list[str]]:
    """Model name -> Markdown lines for the rules its validators enforce beyond JSON Schema, as
    their error messages: model validators (cross-field rules) and validators on fields."""
    tree = ast.parse(inspect.getsource(models))
    found: dict[str, list[str]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            if any("model_validator" in ast.unparse(d) for d in fn.decorator_list):
                found.setdefault(cls.name, []).extend(map(prose, _raised(fn)))
    for model in _models():
        for name, field in model.model_fields.items():
            funcs = [*_validators(field.annotation)]
            funcs += [m.func for m in field.metadata if isinstance(m, AfterValidator)]
            for func in dict.fromkeys(funcs):
                messages = _raised(ast.parse(textwrap.dedent(inspect.getsource(func))))
                alias = field.alias or name
                found.setdefault(model.__name__, []).extend(
                    f"`{alias}`: {prose(m)}" for m in messages
                )
    return found


def _models() -> list[type[BaseModel]]:
    """The pydantic models defined in the models module, in source order."""
    return [
        value
        for value in vars(models).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == models.__name__
    ]


def section(name: str, node: Schema, where: list[str], checks: list[str]) -> list[str]:
    lines = [f"## {name}", ""]
    if node.get("description"):
        lines += [prose(node["description"]), ""]
    lines += [f"Appears at: {', '.join(where)}.", ""]
    lines += ["| field | type | required / default | constraints | description |"]
    lines += ["|---|---|---|---|---|"]
    required = set(node.get("required", []))
    for field, prop in node.get("properties", {}).items():
        cells = [
            f"`{field}`",
            type_of(prop),
            _default_of(prop, field in required),
            "; ".join(constraints_of(prop)) or "-",
            prose(prop.get("description", "")),
        ]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    if checks:
        lines += ["", "Rules beyond the types and limits above (their error messages):", ""]
        lines += [f"- {check}" for check in checks]
    return [*lines, ""]


def render() -> str:
    schema: Schema = EndpointManifest.model_json_schema(by_alias=True)
    defs = {ROOT: schema, **schema.get("$defs", {})}
    paths, checks = walk(schema), rules()
    lines = [
        "# Manifest reference",
        "",
        f"<!-- Generated by `make docs` from {SOURCE}; do not edit by hand. -->",
        "",
        f"Every field of an endpoint manifest (`apiVersion: {API_VERSION}`, `kind: Endpoint`), "
        f"generated from the pydantic models in `{SOURCE}`. Unknown fields are errors. "
        "Names, patterns and ranges follow the botocore SageMaker service model. Editors can "
        "check manifests as you type with `schemas/endpoint.schema.json` (same models); "
        "`sagemaker-gitops validate` checks everything below offline. Concepts: "
        "[concepts.md](../concepts.md).",
        "",
        "Objects: " + ", ".join(f"[{n}](#{_anchor(n)})" for n in paths) + ".",
        "",
    ]
    unreached = [n for n in defs if n not in paths]
    for name in [*paths, *unreached]:
        lines += section(name, defs[name], paths.get(name, ["(not reached)"]), checks.get(name, []))
    lines += _template_sections()
    return "\n".join(lines).rstrip() + "\n"


def _template_sections() -> list[str]:
    """`kind: EndpointTemplate` and `spec.extends` (docs/environments.md has the merge rules)."""
    from controller.manifests.templating.model import TemplateManifest

    schema: Schema = TemplateManifest.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    lines = [
        "## EndpointTemplate",
        "",
        "`kind: EndpointTemplate` documents hold a partial endpoint spec that endpoints (and "
        "other templates) build on with `spec.extends: <template name>`: every field of "
        "[EndpointSpec](#endpointspec) may appear and none is required, since the chain and "
        "the extending endpoint fill in the rest. Templates are never deployed. The rendered "
        "endpoint is checked against everything above, and each error names the file and line "
        "the value was written at. Merge rules: [environments.md](../environments.md). Editors: "
        "`schemas/endpoint-template.schema.json`.",
        "",
    ]
    lines += section("TemplateManifest", schema, ["(document root)"], [])[2:]
    for name, node in defs.items():
        lines += section(name, node, [f"`{name.removeprefix('Template').lower()}`"], [])
    return lines + _set_sections()


def _set_sections() -> list[str]:
    """`kind: EndpointSet`: one endpoint per entry (docs/environments.md)."""
    from controller.manifests.templating.sets import EndpointSetManifest

    schema: Schema = EndpointSetManifest.model_json_schema(by_alias=True)
    paths = walk(schema)
    lines = [
        "## EndpointSet",
        "",
        "`kind: EndpointSet` documents stamp one endpoint per entry of `spec.entries`, named by "
        "the `spec.name` pattern (`{target}`, `{region}`) or the entry's `name`: "
        "`spec.template` is merged first (it may `extends` an EndpointTemplate), then the "
        "entry's place, labels and `spec`, with the rules of "
        "[environments.md](../environments.md). Each generated endpoint is an ordinary "
        "endpoint in plans and status. Editors: `schemas/endpoint-set.schema.json`.",
        "",
    ]
    lines += section("EndpointSetManifest", schema, ["(document root)"], [])[2:]
    for name, node in schema.get("$defs", {}).items():
        lines += section(name, node, paths.get(name, ["(not reached)"]), [])
    return lines
