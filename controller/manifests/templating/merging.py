"""The merge rules of templates: JSON merge patch (RFC 7396) plus merge-by-name for named lists.

A template is the target, the document extending it the patch, as Kustomize's strategic merge
does for Kubernetes objects:

- mappings merge deeply, key by key;
- `null` removes a key (and is never left in the result);
- lists of named items (`NAMED_LISTS`) merge item by item on their name: an item whose name the
  template has is merged into it in place, a new one is appended;
- every other list, and every scalar, replaces the template's value.

Pure functions on plain YAML data; the inputs are never modified (parsed documents are cached
and shared between renders), untouched subtrees are shared with the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NAMED_LISTS: Mapping[str, str] = {
    "variants": "name",
    "shadowVariants": "name",
    "inferenceComponents": "name",
    "containers": "containerHostname",
}
"""List keys merged item by item, and the key naming an item. Pipeline containers are named by
their `containerHostname`; a containers list where any item has none is replaced whole."""

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class MergeProblem:
    """A patch that cannot be merged, at its location in the patch document."""

    loc: Loc
    message: str


def merge(target: Any, patch: Any, loc: Loc = ()) -> tuple[Any, list[MergeProblem]]:
    """`patch` applied to `target`, and the problems found (the result is then best effort)."""
    problems: list[MergeProblem] = []
    return _merge(target, patch, loc, problems), problems


def _merge(target: Any, patch: Any, loc: Loc, problems: list[MergeProblem]) -> Any:
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        return without_nulls(patch)
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif key in result and isinstance(key, str) and key in NAMED_LISTS:
            result[key] = _merge_list(result[key], value, NAMED_LISTS[key], (*loc, key), problems)
        elif key in result:
            result[key] = _merge(result[key], value, (*loc, key), problems)
        else:
            result[key] = without_nulls(value)
    return result


def named(items: Any, key: str) -> bool:
    """True when `items` is a list whose every item is a mapping with a string `key`."""
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get(key), str) for item in items
    )


def _merge_list(target: Any, patch: Any, key: str, loc: Loc, problems: list[MergeProblem]) -> Any:
    if not isinstance(patch, list) or not named(target, key):
        return without_nulls(patch)
    if not named(patch, key):
        if key != "name":  # containers without hostnames: a plain list, replaced
            return without_nulls(patch)
        index = next(i for i, item in enumerate(patch) if not _has_name(item, key))
        message = (
            f"an item of {loc[-1]} needs a {key}: the template's {loc[-1]} are merged by {key}"
        )
        problems.append(MergeProblem((*loc, index), message))
        return without_nulls(patch)
    names = [item[key] for item in patch]
    for index, name in enumerate(names):
        if names.index(name) != index:
            message = f"{key} {name!r} appears twice in {loc[-1]}; each is merged by {key}"
            problems.append(MergeProblem((*loc, index, key), message))
    by_name = {item[key]: item for item in patch}
    merged = [
        _merge(item, by_name[item[key]], (*loc, names.index(item[key])), problems)
        if item[key] in by_name
        else item
        for item in target
    ]
    present = {item[key] for item in target}
    added = [without_nulls(item) for item in patch if item[key] not in present]
    return merged + added


def _has_name(item: Any, key: str) -> bool:
    return isinstance(item, dict) and isinstance(item.get(key), str)


def without_nulls(value: Any) -> Any:
    """`value` with null mapping entries dropped at every mapping depth (RFC 7396: a patch's
    nulls only ever remove; they are never written into the result). Lists are values, kept
    as written."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value
