"""Which of an inference component's Models GC may delete: its rollback history, like endpoints'.

A component is updated in place, so every model version bump leaves the previous Model behind.
Each component keeps, as an endpoint does (`history`), its live Model plus the last `keep`
Models that were live on it, newest first in the component's `sagemaker-gitops/history` tag
(written in the AddTags that precedes each UpdateInferenceComponent that switches Models).
Components whose tags predate the history keep the newest other Models for the slots instead.

A component removed from the manifest (deleted with --prune) needs no rollback history: its
Models go with it. Models of a component that exists neither live nor in the manifest (deleted
earlier, or by an apply interrupted before its Models went) are collected too.

Guards, the same as the endpoints': only Models tagged for this component (owned), never while
the component is not InService (an update in flight may still roll back), never a Model any live
or desired component names, never one younger than `min_age` or of unknown age.

Pure: the reconciler passes tags, names and the time in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.core import tagging
from controller.core.endpoint.history import parse


@dataclass(frozen=True)
class ComponentModels:
    """Everything GC decides from, for one component's Models."""

    status: str | None  # the component's InferenceComponentStatus; None: not live
    live_model: str  # the Model its live Specification names ("" when not live)
    tags: Mapping[str, str]  # the component's tags (empty when not live)
    desired: bool  # the manifest still has this component
    models: Sequence[str]  # owned Models tagged as made for this component
    in_use: frozenset[str]  # lower-cased Models any live or desired component names
    keep: int  # earlier Models kept for rollback, besides the live one
    now: float  # epoch seconds
    min_age: float


def garbage(gc: ComponentModels, created: Callable[[str], float | None]) -> tuple[str, ...]:
    """The component's Models that may be deleted now, sorted."""
    if gc.status is not None and gc.status != "InService":
        return ()  # in flight (or Failed): an update may still roll back to any of them
    if gc.status is None and gc.desired:
        return ()  # about to be created: its Models are being made
    kept = set(gc.in_use)
    if gc.status is not None and gc.desired:
        kept |= _history(gc, created)
    return tuple(
        m for m in sorted(gc.models) if m.lower() not in kept and not _young(created(m), gc)
    )


def _history(gc: ComponentModels, created: Callable[[str], float | None]) -> set[str]:
    """The last `keep` Models that were live, from the tag; for a component whose tags predate
    the history, the newest `keep` other Models instead."""
    live = gc.live_model.lower()
    value = gc.tags.get(tagging.HISTORY)
    if value is not None:
        owned = {m.lower() for m in gc.models}
        recent = [n.lower() for n in parse(value)]
        return set([n for n in recent if n in owned and n != live][: gc.keep])
    others = [m for m in gc.models if m.lower() not in gc.in_use]
    others.sort(key=lambda m: (created(m) or 0.0, m), reverse=True)
    return {m.lower() for m in others[: gc.keep]}


def _young(created: float | None, gc: ComponentModels) -> bool:
    """Unknown age counts as young: never delete what we cannot date."""
    return created is None or gc.now - created < gc.min_age
