"""Rollback history by deployment order, and which superseded configs/models GC may delete.

Where the history lives: a tag on the endpoint, `sagemaker-gitops/history`, holding the names of
the configs that were live before the current one, newest first (space-separated, at most
`MAX_HISTORY`). It is written in the same AddTags call that precedes each rollout's
UpdateEndpoint, with the config that is live at that moment, so it records what actually served
traffic, in the order it did. Why a tag on the endpoint rather than a "went live at" tag on each
config: one write per rollout on a resource we already retag, readable with the ListTags the
reconciler does anyway, and it cannot disagree with itself across configs. Creation time says
nothing about deployment order (deploying 1, 2, 5, 1, 6 re-uses config 1, created first).

Pure: the reconciler passes descriptions and the time in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from controller.core import tagging
from controller.core.endpoint.health import BUSY
from controller.core.livestate import LiveEndpoint
from controller.core.plan.plans import ResourceType

# SageMaker names are at most 63 characters and tag values at most 256: four names fit.
MAX_HISTORY = 4


def parse(value: str | None) -> list[str]:
    return [n for n in (value or "").split(" ") if n]


def pushed(value: str | None, previous_live: str) -> str:
    """The history tag after `previous_live` is replaced: it goes first, duplicates go."""
    names = [previous_live, *(n for n in parse(value) if n != previous_live)]
    return " ".join(names[:MAX_HISTORY])


def hand_edited(tags: Mapping[str, str] | None, live: LiveEndpoint) -> bool:
    """True when the live config is not the one the controller last deployed (a hand edit).

    The attempted-config tag names what we last sent UpdateEndpoint/CreateEndpoint. A differing
    live config is a failed rollout when SageMaker says so (FailureReason), in flight while the
    endpoint is busy, and otherwise someone changed the endpoint outside the controller.
    """
    attempted = (tags or {}).get(tagging.ATTEMPTED_CONFIG)
    if not attempted or live.status in BUSY or live.failure_reason:
        return False
    return attempted.lower() != live.config_name.lower()


@dataclass(frozen=True)
class ConfigInfo:
    """An owned EndpointConfig as DescribeEndpointConfig showed it."""

    name: str
    created: float | None  # epoch seconds; None when unknown
    models: tuple[str, ...] | None  # None: could not be described


@dataclass(frozen=True)
class GcInput:
    """Everything GC decides from, for one endpoint."""

    status: str  # the endpoint's EndpointStatus
    live: str  # its live config name (equal to the desired one when GC runs)
    configs: Sequence[ConfigInfo]  # every owned config of the endpoint, live one included
    models: Sequence[str]  # every owned model of the endpoint
    endpoint_tags: Mapping[str, str]
    keep: int  # earlier configs kept for rollback
    now: float  # epoch seconds
    min_age: float  # resources younger than this are never deleted (another apply's work)


def garbage(
    gc: GcInput, model_created: Callable[[str], float | None]
) -> tuple[tuple[ResourceType, str], ...]:
    """Owned configs beyond the live one and the last `keep` live ones, and models none uses.

    Never while the endpoint is not InService (a rollout in flight may still roll back), never
    the config another process is rolling out (the attempted-config tag), never anything younger
    than `min_age` (a concurrent apply may have just created it and not yet deployed it).
    """
    if gc.status != "InService":
        return ()
    by_name = {c.name.lower(): c for c in gc.configs}
    current = by_name.get(gc.live.lower())
    if current is None or current.models is None:
        return ()  # cannot tell which models the live config uses: delete nothing
    kept = _kept_configs(gc, by_name)
    doomed = [c for c in gc.configs if c.name.lower() not in kept]
    described = [c for c in gc.configs if c.name.lower() in kept]
    result = [(ResourceType.ENDPOINT_CONFIG, c.name) for c in doomed]
    if any(c.models is None for c in described):
        return tuple(result)  # a kept config's models are unknown: keep every model
    in_use = {m.lower() for c in described for m in c.models or ()}
    for model in sorted(gc.models):
        if model.lower() not in in_use and not _young(model_created(model), gc):
            result.append((ResourceType.MODEL, model))
    return tuple(result)


def _kept_configs(gc: GcInput, by_name: Mapping[str, ConfigInfo]) -> set[str]:
    live = gc.live.lower()
    history = [n.lower() for n in parse(gc.endpoint_tags.get(tagging.HISTORY))]
    recent = [n for n in history if n in by_name and n != live][: gc.keep]
    kept = {live, *recent}
    # An endpoint whose tags predate the history (no history tag at all): fill the slots with
    # the newest other configs, as before history was recorded. Never once the tag exists (the
    # controller writes it, empty, at CreateEndpoint): a config that never served (a rollout
    # that failed, a create that failed after it was committed) is not history.
    missing = gc.keep - len(recent)
    if missing > 0 and tagging.HISTORY not in gc.endpoint_tags:
        others = [c for c in by_name.values() if c.name.lower() not in kept]
        others.sort(key=lambda c: (c.created or 0.0, c.name), reverse=True)
        kept |= {c.name.lower() for c in others[:missing]}
    attempted = gc.endpoint_tags.get(tagging.ATTEMPTED_CONFIG, "").lower()
    kept |= {attempted} if attempted else set()
    kept |= {n for n, c in by_name.items() if _young(c.created, gc)}
    return kept


def _young(created: float | None, gc: GcInput) -> bool:
    """Unknown age counts as young: never delete what we cannot date."""
    return created is None or gc.now - created < gc.min_age


def pruned(value: str | None, deleted: Collection[str]) -> str:
    """The history tag without the configs GC deletes: it lists only configs that still exist."""
    gone = {n.lower() for n in deleted}
    return " ".join(n for n in parse(value) if n.lower() not in gone)


def within(configs: Sequence[str], live: str, tags: Mapping[str, str], keep: int) -> bool:
    """True when no owned config can be garbage (so GC need not describe any): each is the live
    one or in the last `keep` of the history; without a history tag, there are at most keep + 1.
    """
    if tagging.HISTORY not in tags:
        return len(configs) <= keep + 1
    recent = [n.lower() for n in parse(tags[tagging.HISTORY]) if n.lower() != live.lower()]
    kept = {live.lower(), *recent[:keep]}
    return all(c.lower() in kept for c in configs)
