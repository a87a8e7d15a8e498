"""What a change of the repository config changes, in a reviewer's words.

`.sagemaker-gitops.yaml` decides what every team may deploy (projects, `targets.paths`) and how
plans and prunes behave, so a pull request that edits it is called out at the top of its plan as
high risk, whatever the endpoints do. Pure: the two versions of the file (as parsed YAML, None
when absent) in, one line per change out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summarize(old: Any, new: Any) -> list[str]:
    """One line per changed key; projects by name (added, removed, which keys changed)."""
    before = old if isinstance(old, Mapping) else {}
    after = new if isinstance(new, Mapping) else {}
    if old is None and new is not None:
        return ["the repository config is added", *_keys(before, after)]
    if new is None:
        return ["the repository config is removed: every restriction it held is lifted"]
    return _keys(before, after)


def _keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if key == "projects":
            lines += _projects(before.get(key), after.get(key))
        elif key not in before:
            lines.append(f"{key}: added")
        elif key not in after:
            lines.append(f"{key}: removed")
        else:
            lines.append(f"{key}: {', '.join(_changed(before[key], after[key])) or 'changed'}")
    return lines


def _projects(before: Any, after: Any) -> list[str]:
    old, new = _by_name(before), _by_name(after)
    if before and not after:
        return ["projects: removed (every manifest may now deploy anything, anywhere)"]
    lines = [f"project {name}: added" for name in sorted(set(new) - set(old))]
    lines += [f"project {name}: removed" for name in sorted(set(old) - set(new))]
    for name in sorted(set(old) & set(new)):
        changed = _changed(old[name], new[name])
        if changed:
            lines.append(f"project {name}: {', '.join(changed)} changed")
    return lines or ["projects: changed"]


def _by_name(projects: Any) -> dict[str, Any]:
    items = projects if isinstance(projects, list) else []
    return {str(p.get("name")): p for p in items if isinstance(p, Mapping)}


def _changed(before: Any, after: Any) -> list[str]:
    """The keys that differ between two mappings (sorted); [] for anything else."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
