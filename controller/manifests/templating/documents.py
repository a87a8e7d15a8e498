"""Reading one YAML document as a rendering layer: a template, or an endpoint that extends one.

Called by `controller.manifests.loading` for each document before validation: a document that
is neither is validated as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from controller.errors import Diagnostic
from controller.manifests import yamlpos
from controller.manifests.messages import diagnostic
from controller.manifests.models import API_VERSION
from controller.manifests.templating import sets
from controller.manifests.templating.layers import TEMPLATE_KIND, Layer
from controller.manifests.templating.model import TEMPLATE_NAME_PATTERN, TemplateManifest


def is_layer(data: Any) -> bool:
    """True for a template, or an Endpoint with `spec.extends` (of ours or of no apiVersion)."""
    if not isinstance(data, dict) or data.get("apiVersion", API_VERSION) != API_VERSION:
        return False
    if data.get("kind") in (TEMPLATE_KIND, sets.SET_KIND):
        return True
    spec = data.get("spec")
    return data.get("kind") == "Endpoint" and isinstance(spec, dict) and "extends" in spec


def read(
    document: yamlpos.Document, shown: str, source: str
) -> tuple[list[Layer], list[Diagnostic]]:
    """The layers of a document `is_layer` accepted (an EndpointSet makes several), or the
    problems that keep it out."""
    data: dict[str, Any] = document.data
    if data.get("kind") == sets.SET_KIND:
        return sets.read(document, shown, source)
    layer, problems = _read_one(document, shown, source)
    return ([layer] if layer is not None else []), problems


def _read_one(
    document: yamlpos.Document, shown: str, source: str
) -> tuple[Layer | None, list[Diagnostic]]:
    data: dict[str, Any] = document.data
    if data.get("kind") == TEMPLATE_KIND:
        return _template(document, shown, source)
    spec: dict[str, Any] = data["spec"]
    extends = spec["extends"]
    if not isinstance(extends, str):
        line = yamlpos.line_of(document.node, ("spec", "extends"))
        message = (
            f"must be the name of an EndpointTemplate (a string matching {TEMPLATE_NAME_PATTERN})"
        )
        return None, [Diagnostic(shown, line, "spec.extends", message)]
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    part = {**data, "spec": {k: v for k, v in spec.items() if k != "extends"}}
    layer = Layer(
        "endpoint",
        name if isinstance(name, str) else "(unnamed)",
        extends,
        document,
        shown,
        source,
        part,
    )
    return layer, []


def _template(
    document: yamlpos.Document, shown: str, source: str
) -> tuple[Layer | None, list[Diagnostic]]:
    try:
        template = TemplateManifest.model_validate(document.data)
    except ValidationError as e:
        return None, [diagnostic(error, document, shown, TemplateManifest) for error in e.errors()]
    spec: dict[str, Any] = document.data["spec"]
    part = template.part(spec)
    name = template.metadata.name
    return Layer("template", name, template.spec.extends, document, shown, source, part), []
