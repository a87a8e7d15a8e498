"""JSON Schemas for editors, for templates and for endpoints that extend one.

A template, and an endpoint with `spec.extends`, hold partial specs: the schema checks every
field's name and type but requires nothing beyond the name of a named item, since the rest
comes from the chain (`validate` checks the rendered endpoint). The partial definitions are
the endpoint's own, copied under a ``Partial`` prefix with their required lists dropped, so the
two schemas cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

from controller.manifests.templating.model import TemplateMetadata

PREFIX = "Partial"
KEEP_REQUIRED = {"Variant": ["name"], "InferenceComponent": ["name"]}
"""Items of named lists are matched by name, so their name is required even in a partial."""
EXTENDS = {
    "type": "string",
    "description": "The EndpointTemplate this builds on; its fields are merged in, these win.",
}


def partial_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``$defs`` of an endpoint schema as ``Partial*`` definitions requiring nothing."""
    found: dict[str, Any] = {}
    for name, definition in schema["$defs"].items():
        copied = _retarget(copy.deepcopy(definition))
        copied.pop("required", None)
        if name in KEEP_REQUIRED:
            copied["required"] = KEEP_REQUIRED[name]
        found[PREFIX + name] = copied
    spec = found[PREFIX + "EndpointSpec"]
    spec["properties"] = {"extends": EXTENDS, **spec["properties"]}
    return found


def with_extends(schema: dict[str, Any]) -> dict[str, Any]:
    """An endpoint schema whose `spec` is partial when it has `extends`, complete otherwise."""
    schema = copy.deepcopy(schema)
    schema["$defs"].update(partial_defs(schema))
    spec = schema["properties"]["spec"]
    schema["properties"]["spec"] = {
        "description": spec.get("description", ""),
        "if": {"type": "object", "required": ["extends"]},
        "then": {"$ref": f"#/$defs/{PREFIX}EndpointSpec"},
        "else": {"$ref": spec["$ref"]},
    }
    return schema


def template_schema(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The schema of a `kind: EndpointTemplate` document, from the endpoint schema."""
    defs = partial_defs(endpoint)
    metadata = TemplateMetadata.model_json_schema(by_alias=True)
    defs["TemplateMetadata"] = metadata
    properties = copy.deepcopy(endpoint["properties"])
    properties["kind"] = {"const": "EndpointTemplate", "description": "Always EndpointTemplate."}
    properties["metadata"] = {"$ref": "#/$defs/TemplateMetadata", "description": "Name and labels."}
    properties["spec"] = {
        "$ref": f"#/$defs/{PREFIX}EndpointSpec",
        "description": "A partial endpoint spec, merged into every endpoint that extends it.",
    }
    return {
        "$defs": dict(sorted(defs.items())),
        "additionalProperties": False,
        "description": "One endpoint template document (never deployed by itself).",
        "properties": properties,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "title": "TemplateManifest",
        "type": "object",
    }


def set_schema(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The schema of a `kind: EndpointSet` document: the set's own fields from its models, its
    template's and entries' specs partial endpoint specs."""
    from controller.manifests.templating.sets import EndpointSetManifest

    schema: dict[str, Any] = EndpointSetManifest.model_json_schema(by_alias=True)
    defs = {**schema.pop("$defs"), **partial_defs(endpoint)}
    for name in ("SetTemplate", "SetEntry"):
        spec = defs[name]["properties"]["spec"]
        defs[name]["properties"]["spec"] = {
            "$ref": f"#/$defs/{PREFIX}EndpointSpec",
            "description": spec.get("description", ""),
        }
    return {"$defs": dict(sorted(defs.items())), **schema}


def _retarget(node: Any) -> Any:
    """`node` with every ``#/$defs/X`` reference pointing at ``#/$defs/PartialX``, and unions
    made plain ``anyOf`` (a partial matches several branches of a discriminated union)."""
    if isinstance(node, list):
        return [_retarget(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = "#/$defs/" + PREFIX + value.removeprefix("#/$defs/")
        elif key == "discriminator":
            continue
        elif key == "oneOf":
            out["anyOf"] = _retarget(value)
        else:
            out[key] = _retarget(value)
    return out
