"""`kind: EndpointSet`: one endpoint per entry of a list, as ApplicationSet's list generator.

The "same endpoint in twelve regions" case: a set holds an endpoint body (`spec.template`, which
may itself extend an `EndpointTemplate`), a name pattern (`spec.name`, with `{target}` or
`{region}`), and entries, each a place to deploy (`target` or `region`) with optional labels and
spec values of its own. Each entry becomes an ordinary rendered endpoint: addressable in plans
and status by its name as if written by hand, its errors reported at the entry's or the
template's line.

Expansion makes two kinds of layers from one document: the set's template (a template known
only to its entries) and one endpoint layer per entry, whose paths are mapped back to where the
entry writes them (`Layer.places`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from controller.errors import Diagnostic
from controller.manifests import yamlpos
from controller.manifests.base import Strict
from controller.manifests.messages import diagnostic, render_path
from controller.manifests.models import REGION_PATTERN, TARGET_NAME_PATTERN
from controller.manifests.templating.layers import Layer
from controller.manifests.templating.merging import Loc
from controller.manifests.templating.model import TEMPLATE_NAME_PATTERN

SET_KIND = "EndpointSet"
MAX_ENTRIES = 200
"""Entries per set: a set is for "the same endpoint in every region", not a fleet in one file."""
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PLACES = ("target", "region")


class SetMetadata(Strict):
    """Identity of the set."""

    name: str = Field(pattern=TEMPLATE_NAME_PATTERN)
    """Names the set in messages; never an endpoint's name."""


class SetEntry(Strict):
    """One endpoint to stamp: where it goes, and what is its own."""

    target: str | None = Field(default=None, pattern=TARGET_NAME_PATTERN)
    """A `kind: Target` to deploy to."""
    region: str | None = Field(default=None, pattern=REGION_PATTERN)
    """Or an AWS region (the default account)."""
    name: str | None = None
    """The endpoint's name, instead of the set's pattern."""
    labels: dict[str, str] = {}
    """Labels of this endpoint alone (merged over the template's)."""
    spec: dict[str, Any] = {}
    """Spec values of this endpoint alone, merged over the template's (same rules as an
    endpoint extending a template)."""

    @model_validator(mode="after")
    def _one_place(self) -> SetEntry:
        if (self.target is None) == (self.region is None):
            raise ValueError("set exactly one of target or region")
        return self


class SetTemplate(Strict):
    """The endpoint every entry starts from: labels and a (partial) spec."""

    metadata: dict[Literal["labels"], dict[str, str]] = {}
    """Only `labels`: names come from the set."""
    spec: dict[str, Any]
    """An endpoint spec; may `extends` an EndpointTemplate."""


class SetSpec(Strict):
    """The pattern, the template and the entries."""

    name: str = Field(min_length=1)
    """Endpoint name pattern, with `{target}` or `{region}` (e.g. `churn-{region}`)."""
    template: SetTemplate
    """What every generated endpoint has."""
    entries: list[SetEntry] = Field(min_length=1, max_length=MAX_ENTRIES)
    """One endpoint per entry."""


class EndpointSetManifest(Strict):
    """One endpoint set document: one endpoint per entry."""

    api_version: Literal["sagemaker-gitops/v1"]
    """Always sagemaker-gitops/v1."""
    kind: Literal["EndpointSet"]
    """Always EndpointSet."""
    metadata: SetMetadata
    """The set's name."""
    spec: SetSpec
    """Pattern, template and entries."""


def read(
    document: yamlpos.Document, shown: str, source: str
) -> tuple[list[Layer], list[Diagnostic]]:
    """The set's template layer and one endpoint layer per entry, or the problems."""
    try:
        endpoint_set = EndpointSetManifest.model_validate(document.data)
    except ValidationError as e:
        return [], [diagnostic(error, document, shown, EndpointSetManifest) for error in e.errors()]
    spec = endpoint_set.spec
    raw_template: dict[str, Any] = document.data["spec"]["template"]
    body = {k: v for k, v in raw_template["spec"].items() if k != "extends"}
    labels = spec.template.metadata.get("labels", {})
    part = {**({"metadata": {"labels": dict(labels)}} if labels else {}), "spec": body}
    extends = raw_template["spec"].get("extends")
    if extends is not None and not isinstance(extends, str):
        line = yamlpos.line_of(document.node, ("spec", "template", "spec", "extends"))
        message = "must be the name of an EndpointTemplate"
        return [], [Diagnostic(shown, line, "spec.template.spec.extends", message)]
    name = endpoint_set.metadata.name
    template = Layer(
        "set",
        name,
        extends,
        document,
        shown,
        source,
        part,
        places=(((), ("spec", "template")),),
    )
    layers, problems = [template], []
    raw_entries: list[dict[str, Any]] = document.data["spec"]["entries"]
    for index, entry in enumerate(spec.entries):
        at: Loc = ("spec", "entries", index)
        try:
            generated = _name(spec.name, entry)
        except _Unnamed as e:
            where = at if e.at_entry else ("spec", "name")
            line = yamlpos.line_of(document.node, where)
            problems.append(Diagnostic(shown, line, render_path(where), str(e)))
            continue
        layers.append(_entry(template, raw_entries[index], entry, generated, at))
    return layers, problems


def _entry(template: Layer, raw: dict[str, Any], entry: SetEntry, name: str, at: Loc) -> Layer:
    place = "target" if entry.target is not None else "region"
    metadata: dict[str, Any] = {"name": name}
    if entry.labels:
        metadata["labels"] = dict(entry.labels)
    part = {
        "apiVersion": template.document.data["apiVersion"],
        "kind": "Endpoint",
        "metadata": metadata,
        "spec": {place: raw[place], **raw.get("spec", {})},
    }
    name_at: Loc = (*at, "name") if entry.name is not None else ("spec", "name")
    places: tuple[tuple[Loc, Loc], ...] = (
        (("spec", place), (*at, place)),
        (("metadata", "name"), name_at),
        (("metadata", "labels"), (*at, "labels")),
        (("spec",), (*at, "spec")),
        (("metadata",), at),
    )
    return Layer(
        "endpoint",
        name,
        template.name,
        template.document,
        template.shown,
        template.source,
        part,
        parent=template,
        places=places,
    )


class _Unnamed(ValueError):
    """The pattern cannot name an entry: its fault (`at_entry`) or the pattern's."""

    def __init__(self, message: str, *, at_entry: bool) -> None:
        super().__init__(message)
        self.at_entry = at_entry


def _name(pattern: str, entry: SetEntry) -> str:
    """The entry's endpoint name: its own, or the pattern filled in."""
    if entry.name is not None:
        return entry.name
    values = {"target": entry.target, "region": entry.region}
    for key in _PLACEHOLDER.findall(pattern):
        if key not in _PLACES:
            message = f"unknown placeholder {{{key}}} (use {{target}} or {{region}})"
            raise _Unnamed(message, at_entry=False)
        if values[key] is None:
            message = (
                f"the name pattern {pattern!r} uses {{{key}}}, which this entry does not set "
                "(give it a name, or set the pattern's place)"
            )
            raise _Unnamed(message, at_entry=True)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] or "", pattern)
