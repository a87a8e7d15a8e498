"""Which owned endpoints a prune may delete: scope, guards and the circuit breaker.

Pure: the reconciler reads the owned-resource index (every resource tagged with this controller's
id) and the loaded manifests, and this module decides, so the rules can be tested exhaustively.

- **Scope.** An endpoint counts as removed only when its `sagemaker-gitops/scope` tag equals the
  current run's scope (one manifest tree under one controller id) and no manifest names it.
  Endpoints of other scopes are not listed at all; endpoints whose tags predate scopes (no scope
  tag) are never pruned and reported once, so their owner can adopt them into a scope.
- **Guards.** An incomplete view (a manifest failed to load) deletes nothing. An empty manifest
  set deletes nothing unless `allow_empty`. A pass that would delete more endpoints than
  `max_deletes`, or more than `max_delete_percent` of the scope's live endpoints, deletes none
  of them (a circuit breaker, not a partial prune: which five of three hundred would be arbitrary).
  Everything refused is *held back* with its reason, for plans, `status` and metrics.
- **Leftovers** (Models/EndpointConfigs of an endpoint already gone, e.g. after a crash
  between deletes) are not endpoint deletes: the breaker does not count them, so recovery is never
  blocked; the empty and incomplete guards still hold them.
- **Confirmed absence** (the service): `AbsenceTracker` lets an endpoint be deleted only when its
  manifest is still absent after a grace period, so a non-atomic sync never deletes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from controller.core import tagging
from controller.core.endpoint.health import health_of
from controller.core.livestate import LiveEndpoint, Owned
from controller.core.plan.plans import EndpointPlan, Status
from controller.core.snapshots import split_key

NAMES_SHOWN = 5  # a report names at most this many endpoints, then gives the count


@dataclass(frozen=True)
class PruneGuards:
    """The deletion guards: `--allow-empty`, `--max-deletes`, `--max-delete-percent`."""

    allow_empty: bool = False
    max_deletes: int = 5
    max_delete_percent: float = 100.0  # 100: no percentage limit
    # False when the run reads one file of its scope's tree (`-m dir/one.yaml`): its neighbours
    # share the scope but are not read, so no endpoint counts as removed (none listed either).
    whole_tree: bool = True


@dataclass(frozen=True)
class OwnedEndpoint:
    """One endpoint key the controller owns resources for, as the owned index shows it."""

    key: str  # region/name
    scope: str | None  # None: no resource of the key carries a scope tag (tags predate scopes)
    live: bool  # the endpoint itself exists (else only its Models/EndpointConfigs are left)
    source: str | None = None  # the manifest file it was deployed from (its source tag)


@dataclass(frozen=True)
class PruneDecision:
    """What a prune pass may delete, what it holds back and why, and what it leaves unscoped."""

    scope: str | None
    removed: tuple[str, ...] = ()  # in scope, no manifest: the candidates, sorted
    held: Mapping[str, str] = field(default_factory=dict)  # candidate key -> why it is kept
    unscoped: tuple[str, ...] = ()  # owned, no manifest, no scope tag: never pruned
    scope_size: int = 0  # live endpoints of this scope (the breaker's percentage base)
    partial: bool = False  # one file of the tree was read: nothing counts as removed
    # location -> why its owned endpoints could not be listed (a target whose credentials act
    # in another account): nothing there is pruned, and the plan says so as an error
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def allowed(self, key: str) -> bool:
        return key in self.removed and key not in self.held

    @property
    def deletable(self) -> tuple[str, ...]:
        return tuple(k for k in self.removed if k not in self.held)


def owned_endpoints(items: Iterable[tuple[str, Owned]]) -> list[OwnedEndpoint]:
    """Group (region, owned resource) pairs by endpoint key.

    The endpoint's own scope tag wins; a key whose endpoint is gone takes the scope of its
    leftovers. Keys are `region/name` with the name as the manifest spells it (the endpoint tag).
    """
    scopes: dict[str, str | None] = {}
    live: dict[str, bool] = {}
    sources: dict[str, str] = {}
    for region, item in items:
        name = item.endpoint or (item.name if item.kind == "endpoint" else "")
        if not name:
            continue
        key = f"{region}/{name}"
        scope = item.tags.get(tagging.SCOPE) or None
        if item.tags.get(tagging.SOURCE) and (item.kind == "endpoint" or key not in sources):
            sources[key] = item.tags[tagging.SOURCE]
        if item.kind == "endpoint":
            live[key] = True
            scopes[key] = scope or scopes.get(key)
        else:
            live.setdefault(key, False)
            if scopes.get(key) is None:
                scopes[key] = scope
    return [OwnedEndpoint(k, scopes.get(k), live[k], sources.get(k)) for k in sorted(live)]


def one_per_place(
    owned: list[OwnedEndpoint],
    present: Iterable[str],
    place_of: Callable[[str], tuple[str, str]],
) -> list[OwnedEndpoint]:
    """Owned endpoints seen once per place (account, region), however many locations name it.

    Two locations can be one place: two Targets with the same accountId and region, or a Target
    for the ambient credentials' own account beside region-only manifests. Each location's
    index then lists the other's endpoints under its own name, where no manifest names them:
    read as removed, `--prune` would delete a live endpoint whose manifest is right there. An
    endpoint a manifest names at any location of its place is therefore not removed at the
    others, and one no manifest names is a candidate once, under the first location.
    """
    keys = set(present)
    named = {(place_of(split_key(k)[0]), split_key(k)[1].lower()) for k in keys}
    kept: list[OwnedEndpoint] = []
    seen: set[tuple[tuple[str, str], str]] = set()
    for o in sorted(owned, key=lambda o: o.key):
        location, name = split_key(o.key)
        where = (place_of(location), name.lower())
        if o.key not in keys and (where in named or where in seen):
            continue
        seen.add(where)
        kept.append(o)
    return kept


def hold(decision: PruneDecision, reasons: Mapping[str, str]) -> PruneDecision:
    """`decision` with the removed keys of `reasons` held back too (a guard's reason stays)."""
    extra = {k: r for k, r in reasons.items() if k in decision.removed and k not in decision.held}
    if not extra:
        return decision
    return dataclasses.replace(decision, held={**decision.held, **extra})


def decide(
    scope: str | None,
    owned: Iterable[OwnedEndpoint],
    manifest_keys: Iterable[str],
    *,
    complete: bool,
    guards: PruneGuards,
) -> PruneDecision:
    """Which owned endpoints of `scope` are removed, and which of those are held back.

    A None scope (a library caller that sets none) is the world before scopes: it matches the
    endpoints without a scope tag, as every endpoint was then.
    """
    wanted = {k.lower() for k in manifest_keys}
    owned = list(owned)
    mine = [o for o in owned if o.scope == scope]
    if not guards.whole_tree:  # the neighbours were not read: none of them is removed
        return PruneDecision(scope, scope_size=sum(1 for o in mine if o.live), partial=True)
    removed = [o for o in mine if o.key.lower() not in wanted]
    unscoped = tuple(
        o.key for o in owned if scope and o.scope is None and o.key.lower() not in wanted
    )
    size = sum(1 for o in mine if o.live)
    why = _refusal(removed, size, complete=complete, empty=not wanted, guards=guards)
    held: dict[str, str] = {}
    if why is not None:
        reason, everything = why
        held = {o.key: reason for o in removed if everything or o.live}
    return PruneDecision(scope, tuple(o.key for o in removed), held, unscoped, size)


def _refusal(
    removed: list[OwnedEndpoint], size: int, *, complete: bool, empty: bool, guards: PruneGuards
) -> tuple[str, bool] | None:
    """(why nothing is deleted, whether leftovers are held too); None when the pass may go."""
    if not removed:
        return None
    if not complete:
        return "some manifests failed to load, so no manifest counts as removed", True
    if empty and not guards.allow_empty:
        return "the manifest set is empty; pass --allow-empty to delete every endpoint", True
    endpoints = sum(1 for o in removed if o.live)
    if endpoints > guards.max_deletes:
        return (
            f"circuit breaker: {endpoints} endpoint deletes exceed --max-deletes "
            f"{guards.max_deletes}",
            False,
        )
    if size and endpoints * 100 > guards.max_delete_percent * size:
        return (
            f"circuit breaker: {endpoints} of {size} endpoints ({endpoints * 100 // size}%) "
            f"exceed --max-delete-percent {guards.max_delete_percent:g}",
            False,
        )
    return None


def held_plan(name: str, region: str, endpoint: LiveEndpoint | None, why: str) -> EndpointPlan:
    """A removed endpoint whose delete a guard held back: nothing is done, the reason is shown."""
    return EndpointPlan(
        name=name,
        manifest=None,
        region=region,
        status=Status.UNCHANGED,
        health=health_of(endpoint.status if endpoint else None),
        warnings=(f"manifest removed; delete held back: {why}",),
        held=why,
    )


def notes(decision: PruneDecision) -> list[str]:
    """One line per fact a user must know about this pass's prune, never one per endpoint."""
    lines: list[str] = []
    if decision.partial:
        lines.append(
            "-m names one file, a part of its scope's manifest tree: no endpoint counts as "
            "removed, nothing is pruned (prune with -m on the tree's folder)"
        )
    for location, why in sorted(decision.unreadable.items()):
        lines.append(f"prune cannot list the owned endpoints of {location}: {why}")
    if decision.held:
        reasons = sorted(set(decision.held.values()))
        lines.append(
            f"prune held back {len(decision.held)} delete(s) "
            f"({few(sorted(decision.held))}): {'; '.join(reasons)}"
        )
    if decision.unscoped:
        lines.append(
            f"{len(decision.unscoped)} owned endpoint(s) without a manifest carry no "
            f"{tagging.SCOPE} tag and are never pruned ({few(decision.unscoped)}); re-apply "
            "them from their manifest to adopt them into a scope, or delete them by hand"
        )
    return lines


def few(names: Iterable[str], shown: int = NAMES_SHOWN) -> str:
    """`a, b, c and 12 more`: a report stays one line however many names there are."""
    listed = list(names)
    head = ", ".join(listed[:shown])
    return head if len(listed) <= shown else f"{head} and {len(listed) - shown} more"


class AbsenceTracker:
    """Confirmed removal: a key may be pruned only once it has been absent for `grace` seconds.

    `absent` is asked each time a pass wants to delete the key; the first ask starts the clock.
    `present` (every new snapshot's keys) stops it, so a manifest that disappears and comes back
    within the grace (a non-atomic sync) never reaches a delete. The caller supplies the time.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._since: dict[str, float] = {}

    def present(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._since.pop(key, None)

    def absent(self, key: str, now: float) -> float:
        """Seconds still to wait before `key` may be deleted (0: its absence is confirmed)."""
        since = self._since.setdefault(key, now)
        return max(0.0, since + self.grace - now)

    def pending(self) -> dict[str, float]:
        return dict(self._since)
