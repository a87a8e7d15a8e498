"""Which templates an endpoint goes through: following `spec.extends` from layer to layer.

Chains may be as long as there are templates; a name nobody defines, a name defined twice and
a cycle are problems of the layer whose `extends` leads there.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.manifests.templating.layers import Layer

EXTENDS: tuple[str, ...] = ("spec", "extends")


@dataclass(frozen=True)
class ChainProblem:
    """A broken `extends` in `layer` (reported at its `spec.extends`)."""

    layer: Layer
    message: str


def index(templates: Sequence[Layer]) -> tuple[dict[str, Layer], dict[str, list[Layer]]]:
    """Templates by name, and the names defined more than once (usable by nobody)."""
    by_name: dict[str, list[Layer]] = {}
    for template in templates:
        by_name.setdefault(template.name, []).append(template)
    usable = {name: found[0] for name, found in by_name.items() if len(found) == 1}
    twice = {name: found for name, found in by_name.items() if len(found) > 1}
    return usable, twice


def resolve(
    layer: Layer, templates: Mapping[str, Layer], twice: Mapping[str, object]
) -> tuple[tuple[Layer, ...], ChainProblem | None]:
    """`layer`'s chain, base template first and `layer` last; or the problem that breaks it.

    Bounded: each step visits a new template or stops at a cycle.
    """
    chain = [layer]
    current = layer
    while current.extends is not None:
        name = current.extends
        found = current.parent
        if found is None and name in twice:
            return (), ChainProblem(current, f"template {name!r} is defined more than once")
        found = found or templates.get(name)
        if found is None:
            return (), ChainProblem(current, _unknown(name, templates))
        if found in chain:
            return (), ChainProblem(current, _cycle(chain[chain.index(found) :]))
        chain.append(found)
        current = found
    return tuple(reversed(chain)), None


def _cycle(members: Sequence[Layer]) -> str:
    """The same sentence whichever member a walk entered the cycle by."""
    names = [layer.name for layer in members]
    first = names.index(min(names))
    ring = names[first:] + names[:first]
    return f"templates extend each other in a cycle: {' -> '.join([*ring, ring[0]])}"


def _unknown(name: str, templates: Mapping[str, Layer]) -> str:
    known = sorted(templates)
    hint = difflib.get_close_matches(name, known, n=1)
    guess = f"; did you mean {hint[0]}?" if hint else ""
    return f"unknown template {name!r}{guess} (templates: {', '.join(known) or 'none defined'})"
