"""What rendering works on: layers (a template or an extending endpoint, as written) and the
record of one rendered endpoint (which layers, merged how), kept for errors and `promote`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from controller.manifests import yamlpos
from controller.manifests.templating import origins
from controller.manifests.templating.merging import Loc

TEMPLATE_KIND = "EndpointTemplate"


@dataclass(frozen=True, eq=False)
class Layer:
    """One document taking part in rendering: a template, or an endpoint with `spec.extends`."""

    kind: Literal["template", "set", "endpoint"]
    """An EndpointTemplate, an EndpointSet's own template (known only to its entries), or an
    endpoint (written with `spec.extends`, or an entry of a set)."""
    name: str
    """metadata.name: the template's name, or the endpoint's."""
    extends: str | None
    """The template named by `spec.extends` (None for a template at the base of a chain)."""
    document: yamlpos.Document
    shown: str
    """The file as shown to a user."""
    source: str
    """The file relative to the manifest root (posix)."""
    part: Any = field(repr=False)
    """What this layer contributes to the merge: for a template its labels and spec (never its
    name, never `extends`); for an endpoint the whole document without `spec.extends`."""
    parent: Layer | None = None
    """The layer `extends` leads to when it is not found by name (an EndpointSet's entries
    extend the set's own template)."""
    places: tuple[tuple[Loc, Loc], ...] = ()
    """Where the part's paths are written in the document, when elsewhere than at the same
    path: (prefix in the part, prefix in the document), the longest matching prefix first."""

    def written(self, loc: Loc) -> Loc:
        """The path in the document where the part's `loc` is written."""
        for prefix, place in self.places:
            if loc[: len(prefix)] == prefix:
                return (*place, *loc[len(prefix) :])
        return loc

    def line(self, loc: Loc) -> int:
        return yamlpos.line_of(self.document.node, self.written(loc))

    @property
    def label(self) -> str:
        """How messages name an endpoint layer: one name may be deployed to several places
        (``churn in prod-us-east-1``)."""
        spec = self.part.get("spec") if isinstance(self.part, dict) else None
        where = None
        if isinstance(spec, dict):
            where = spec.get("target") or spec.get("region")
        return f"{self.name} in {where}" if isinstance(where, str) else self.name


@dataclass(frozen=True, eq=False)
class Rendering:
    """How one endpoint was rendered: its layers, base template first, the endpoint last."""

    layers: tuple[Layer, ...]
    data: Any = field(repr=False)
    """The merged document, as validated."""

    @property
    def endpoint(self) -> Layer:
        return self.layers[-1]

    @property
    def templates(self) -> tuple[str, ...]:
        """The template chain, nearest first (``churn-prod -> churn -> base``)."""
        return tuple(layer.name for layer in reversed(self.layers[:-1]))

    @property
    def files(self) -> tuple[str, ...]:
        """Root-relative files the endpoint was rendered from, its own first."""
        seen: dict[str, None] = {}
        for layer in reversed(self.layers):
            seen.setdefault(layer.source, None)
        return tuple(seen)

    def origin(self, loc: Loc) -> tuple[Layer, Loc]:
        """The layer that wrote the value at `loc` of the rendered document, and its path there."""
        index, own = origins.origin([layer.part for layer in self.layers], self.data, loc)
        return self.layers[index], own
