"""Where a rendered value was written: the layer (template or endpoint) and the path in it.

Computed only when a rendered endpoint has a problem, so rendering itself carries no position
bookkeeping. The value at a path comes from the most derived layer that writes it; a layer that
replaces a whole value (a scalar, a plain list) hides everything below it in earlier layers.
Items of named lists are followed by name, since their index differs from layer to layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from controller.manifests.templating.merging import NAMED_LISTS, Loc

_KEY_MARKER = "[key]"  # pydantic's marker for an error on a mapping key itself


def origin(parts: Sequence[Any], merged: Any, loc: Loc) -> tuple[int, Loc]:
    """(index in `parts`, path in that part) of the value `loc` points at in `merged`.

    `parts` are the layers' contributions, base first. When no layer writes the whole path (a
    missing field), the layer that comes deepest wins, the most derived on a tie: that is where
    the field would be added.
    """
    marker = loc[-1:] == (_KEY_MARKER,)
    wanted = loc[:-1] if marker else loc
    best_index, best_depth, best_loc = len(parts) - 1, -1, wanted[:0]
    for index in reversed(range(len(parts))):
        depth, layer_loc, replacing = _resolve(parts[index], merged, wanted)
        if depth > best_depth:
            best_index, best_depth, best_loc = index, depth, layer_loc
        if depth == len(wanted) or replacing:
            break
    # What no layer has (a missing field) keeps its name: the path says what to add.
    own = (*best_loc, *wanted[max(best_depth, 0) :])
    return best_index, (*own, _KEY_MARKER) if marker else own


def _resolve(layer: Any, merged: Any, loc: Loc) -> tuple[int, Loc, bool]:
    """How far `layer` follows `loc` (depth, its own path), and whether it replaces the whole
    value where it stops (then earlier layers cannot have written anything below)."""
    value, whole = layer, merged
    out: list[str | int] = []
    parent: str | int | None = None
    for depth, part in enumerate(loc):
        step = _step(value, whole, part, parent)
        if step is None:
            return depth, tuple(out), _replaces(value, parent) and depth > 0
        own, value, whole = step
        out.append(own)
        parent = part
    return len(loc), tuple(out), True


def _step(
    value: Any, whole: Any, part: str | int, parent: str | int | None
) -> tuple[str | int, Any, Any] | None:
    if isinstance(part, str):
        if isinstance(value, dict) and part in value:
            return part, value[part], whole.get(part) if isinstance(whole, dict) else None
        return None
    if not isinstance(value, list) or not isinstance(whole, list) or part >= len(whole):
        return None
    key = NAMED_LISTS.get(parent) if isinstance(parent, str) else None
    name = whole[part].get(key) if key and isinstance(whole[part], dict) else None
    if key is None or name is None:
        return (part, value[part], whole[part]) if part < len(value) else None
    for index, item in enumerate(value):
        if isinstance(item, dict) and item.get(key) == name:
            return index, item, whole[part]
    return None


def _replaces(value: Any, parent: str | int | None) -> bool:
    if isinstance(value, dict):
        return False
    key = NAMED_LISTS.get(parent) if isinstance(parent, str) else None
    return not (key is not None and isinstance(value, list))
