"""Rendering every endpoint that extends a template, and reporting problems where they were
written.

`render` takes the layers of one load (templates and extending endpoints, from any files) and
returns each endpoint validated as an `EndpointManifest`, or its problems. A problem is reported
at the file and line of the layer that wrote the offending value, with its path there: in an
endpoint's own file it names the chain the endpoint went through; in a template it names every
endpoint it affects, once. A `RenderCache` keeps renders whose layers did not change, so the
`run` service renders again only what an edit touched (and an unchanged endpoint keeps its
identity, hence its fingerprint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from controller.errors import Diagnostic
from controller.manifests import rules
from controller.manifests.loaded import LoadedManifest
from controller.manifests.messages import describe, render_path, strip_tags
from controller.manifests.models import EndpointManifest
from controller.manifests.templating import chains
from controller.manifests.templating.layers import Layer, Rendering
from controller.manifests.templating.merging import Loc, merge

MAX_PROBLEMS_PER_ENDPOINT = 100
"""As loading's per-file cap: a rendered endpoint that is nothing but errors shows this many."""


@dataclass(frozen=True)
class Problem:
    """Something wrong at `loc` of `layer` (its own path, as written)."""

    layer: Layer
    loc: Loc
    message: str
    via: str = ""
    """The template chain of the endpoint the problem was found in (``churn -> base``)."""


@dataclass(frozen=True, eq=False)
class Rendered:
    """One endpoint's render: the manifest when it validated, else its problems."""

    rendering: Rendering
    loaded: LoadedManifest | None
    """The endpoint, when it validated; the same object for as long as its layers are
    unchanged (the service reuses its fingerprint)."""
    problems: tuple[Problem, ...] = ()


@dataclass
class RenderCache:
    """Renders by the identity of their layers (the parse cache hands unchanged documents over
    as the same objects); entries not used by the latest load are dropped."""

    _items: dict[tuple[int, ...], tuple[tuple[Layer, ...], Rendered]] = field(default_factory=dict)
    renders: int = 0
    """Endpoints rendered so far (tests count them)."""

    def get(self, chain: tuple[Layer, ...]) -> Rendered:
        key = tuple(id(layer) for layer in chain)
        hit = self._items.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], chain, strict=True)):
            return hit[1]
        self.renders += 1
        rendered = render_chain(chain)
        self._items[key] = (chain, rendered)
        return rendered

    def keep_only(self, chains_used: Sequence[tuple[Layer, ...]]) -> None:
        used = {tuple(id(layer) for layer in chain) for chain in chains_used}
        self._items = {k: v for k, v in self._items.items() if k in used}


def render(
    layers: Sequence[Layer], cache: RenderCache | None = None
) -> tuple[list[Rendered], list[Diagnostic]]:
    """Every extending endpoint of `layers` rendered, plus every problem as a diagnostic."""
    cache = cache or RenderCache()
    templates = [layer for layer in layers if layer.kind == "template"]
    by_name, twice = chains.index(templates)
    diagnostics = _defined_twice(twice)
    affected: dict[tuple[int, Loc, str], tuple[Problem, list[str]]] = {}
    for template in [layer for layer in layers if layer.kind != "endpoint"]:
        _, broken = chains.resolve(template, by_name, twice)
        if broken is not None:
            _note(affected, Problem(broken.layer, chains.EXTENDS, broken.message), None)
    rendered: list[Rendered] = []
    used: list[tuple[Layer, ...]] = []
    for layer in layers:
        if layer.kind != "endpoint":
            continue
        chain, broken = chains.resolve(layer, by_name, twice)
        if broken is not None:
            _note(affected, Problem(broken.layer, chains.EXTENDS, broken.message), layer.label)
            continue
        used.append(chain)
        result = cache.get(chain)
        for problem in result.problems:
            _note(affected, problem, layer.label)
        rendered.append(result)
    cache.keep_only(used)
    diagnostics.extend(_diagnostic(p, names) for p, names in affected.values())
    return rendered, diagnostics


def render_chain(chain: tuple[Layer, ...]) -> Rendered:
    """One endpoint through its templates (base first, the endpoint last), validated."""
    data = chain[0].part
    problems: list[Problem] = []
    via = " -> ".join(layer.name for layer in reversed(chain[:-1]))
    for layer in chain[1:]:
        data, found = merge(data, layer.part)
        problems.extend(Problem(layer, p.loc, p.message, via) for p in found)
    rendering = Rendering(chain, data)
    if problems:
        return Rendered(rendering, None, tuple(problems))
    try:
        manifest = EndpointManifest.model_validate(data)
    except ValidationError as e:
        for error in e.errors()[:MAX_PROBLEMS_PER_ENDPOINT]:
            raw = tuple(error["loc"])
            layer, loc = rendering.origin(strip_tags(raw))
            problems.append(Problem(layer, loc, describe(error, raw), via))
        return Rendered(rendering, None, tuple(problems))
    for loc, message in rules.problems(manifest.spec):
        layer, own = rendering.origin(loc)
        problems.append(Problem(layer, own, message, via))
    if problems:
        return Rendered(rendering, None, tuple(problems))
    layer = rendering.endpoint
    document = layer.document
    loaded = LoadedManifest(
        manifest,
        layer.source,
        document.line,
        document.index,
        layer.shown,
        layer.line(("metadata", "name")),
        rendering,
    )
    return Rendered(rendering, loaded)


def _note(
    affected: dict[tuple[int, Loc, str], tuple[Problem, list[str]]],
    problem: Problem,
    endpoint: str | None,
) -> None:
    key = (id(problem.layer), problem.loc, problem.message)
    names = affected.setdefault(key, (problem, []))[1]
    if endpoint is not None and endpoint not in names:
        names.append(endpoint)


def _diagnostic(problem: Problem, endpoints: list[str]) -> Diagnostic:
    layer = problem.layer
    message = problem.message
    if layer.kind != "endpoint":
        used = f"; affects endpoint(s) {', '.join(endpoints)}" if endpoints else ""
        what = "template" if layer.kind == "template" else "endpoint set"
        message = f"{message} (in {what} {layer.name}{used})"
    elif problem.via:
        message = f"{message} (endpoint {layer.label} renders through {problem.via})"
    path = render_path(layer.written(problem.loc))
    return Diagnostic(layer.shown, layer.line(problem.loc), path, message)


def _defined_twice(twice: dict[str, list[Layer]]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name, layers in twice.items():
        for layer in layers:
            others = ", ".join(
                f"{o.shown}:{o.line(('metadata', 'name'))}" for o in layers if o is not layer
            )
            message = f"template {name!r} is also defined at {others}"
            found.append(
                Diagnostic(layer.shown, layer.line(("metadata", "name")), "metadata.name", message)
            )
    return found
