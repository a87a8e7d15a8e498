"""Find the inference components' Models GC may delete, from the owned index and live components.

Called by `observing` for an InService endpoint that hosts components. The choice is
`core.component_history.garbage`; this module only groups the endpoint's owned Models by the
component they were made for (their `sagemaker-gitops/component` tag) and describes a Model
(for its age) only when a component has more Models than its history keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.core import tagging
from controller.core.component import history as component_history
from controller.core.component.model import DesiredComponent, LiveComponent
from controller.core.endpoint import history
from controller.core.livestate import Owned
from controller.core.plan.plans import ResourceType


@dataclass(frozen=True)
class ComponentGarbage:
    """Models superseded beyond a component's history (or left by a component that is gone),
    and the Models of each owned component removed from the manifest, to go with it."""

    superseded: tuple[tuple[ResourceType, str], ...] = ()
    removed: Mapping[str, tuple[str, ...]] | None = None
    # Component name -> its history tag without the Models GC deletes (only when it changes).
    histories: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GcSettings:
    controller_id: str
    keep: int
    now: float
    min_age: float


def component_garbage(
    live: Sequence[LiveComponent],
    tags: Mapping[str, Mapping[str, str]],
    desired: Sequence[DesiredComponent],
    owned_models: Sequence[Owned],
    settings: GcSettings,
    created: Callable[[str], float | None],
) -> ComponentGarbage:
    """`tags`: lower-cased live component name -> its tags; `owned_models`: the endpoint's."""
    by_component: dict[str, list[str]] = {}
    for model in owned_models:
        component = model.tags.get(tagging.COMPONENT, "").lower()
        if component:
            by_component.setdefault(component, []).append(model.name)
    live_by = {c.name.lower(): c for c in live}
    wanted = {c.name.lower() for c in desired}
    desired_models = {c.model.name.lower() for c in desired}
    superseded: list[tuple[ResourceType, str]] = []
    removed: dict[str, tuple[str, ...]] = {}
    histories: dict[str, str] = {}
    for name, models in sorted(by_component.items()):
        have = live_by.get(name)
        if have is not None and not tagging.owned_by(tags.get(name), settings.controller_id):
            continue  # a component of that name we do not own: leave everything alone
        keeps_history = have is not None and name in wanted
        if keeps_history and len(models) <= settings.keep + 1:
            continue  # nothing beyond the history: skip the describes
        others = {c.model_name.lower() for c in live if c.name.lower() != name and c.model_name}
        own = {have.model_name.lower()} if keeps_history and have is not None else set()
        gc = component_history.ComponentModels(
            status=have.status if have is not None else None,
            live_model=have.model_name if have is not None else "",
            tags=tags.get(name, {}) if have is not None else {},
            desired=name in wanted,
            models=models,
            in_use=frozenset(others | desired_models | own),
            keep=settings.keep,
            now=settings.now,
            min_age=settings.min_age,
        )
        doomed = component_history.garbage(gc, created)
        if not doomed:
            continue
        if have is not None and name not in wanted:
            removed[name] = doomed
            continue
        superseded.extend((ResourceType.MODEL, m) for m in doomed)
        value = gc.tags.get(tagging.HISTORY)
        if have is not None and value is not None and history.pruned(value, doomed) != value:
            histories[have.name] = history.pruned(value, doomed)
    return ComponentGarbage(tuple(superseded), removed, histories)
