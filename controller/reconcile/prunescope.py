"""Where prune looks and what it may delete: the regions scanned, the owned endpoints found
there, and the guards' verdict on the removed ones.

Kept apart from planning because it is state across loads (every region a snapshot has named
since start stays scanned, so an endpoint whose manifest was the last one in its region is still
found) and because every key of one snapshot shares one decision.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import structlog

from controller.aws.clients import Clients
from controller.core import livestate
from controller.core.prune import pruning
from controller.core.snapshots import Snapshot, split_key
from controller.errors import AccountMismatch, AwsError
from controller.manifests.projects import policy as projects
from controller.reconcile.observing import Observer

if TYPE_CHECKING:
    from controller.reconcile.planning import PlanOptions

log = structlog.get_logger(__name__)


class PruneScope:
    """Thread-safe: the service's workers ask for the same decision at once."""

    def __init__(self, clients: Clients, observer: Observer, options: PlanOptions) -> None:
        self.clients = clients
        self.observer = observer
        self.options = options
        self._lock = threading.Lock()
        self._regions: set[str] = set()
        self._present: frozenset[str] = frozenset()  # the newest snapshot's keys
        self._decision: tuple[Snapshot, pruning.PruneDecision] | None = None

    def remember(self, snapshot: Snapshot) -> None:
        """Called on every load: its regions (and the repo config's prune regions) are scanned for
        prune from now on; its keys tell which location names an endpoint two locations share."""
        with self._lock:
            self._regions |= snapshot.regions() | set(snapshot.config.prune.regions)
            self._present = frozenset(snapshot.keys())

    def forget_decision(self) -> None:
        with self._lock:
            self._decision = None

    def scanned_regions(self, default_region: str) -> list[str]:
        """The locations (regions, targets) a prune pass looks in (reported, so one left out is
        visible). Targets removed from the manifests are left out: their endpoints are never
        pruned, since the controller no longer deploys there."""
        with self._lock:
            scan = self._regions | set(self.options.prune_regions)
        if default_region:  # "": every endpoint names its target or region; none is implied
            scan.add(default_region)
        removed = scan & self.clients.removed_targets()
        if removed:
            log.warning(
                "targets removed from the manifests; their endpoints are left alone",
                targets=sorted(removed),
            )
        return sorted(scan - removed)

    def owned(
        self,
        regions: set[str],
        default_region: str,
        only: Callable[[str], bool] | None = None,
    ) -> list[pruning.OwnedEndpoint]:
        """`only`: list just the locations it accepts (a sharded `run` replica's own shards)."""
        with self._lock:
            present = self._present
        return self._owned(regions, default_region, present, only)[0]

    def locations(self, regions: set[str], default_region: str) -> set[str]:
        """Every location `owned` lists: the given regions and the scanned ones."""
        return (set(regions) - self.clients.removed_targets()) | set(
            self.scanned_regions(default_region)
        )

    def _owned(
        self,
        regions: set[str],
        default_region: str,
        present: Iterable[str],
        only: Callable[[str], bool] | None = None,
    ) -> tuple[list[pruning.OwnedEndpoint], dict[str, str]]:
        """The owned endpoints of the scanned locations, each once per place (account,
        region) however many locations name it, and the locations that could not be listed (a
        target whose credentials act in another account: its index would be the wrong
        account's, so nothing there is ours to prune). `present`: the manifests' keys."""
        scan = self.locations(regions, default_region)
        if only is not None:
            scan = {location for location in scan if only(location)}
        found: list[tuple[str, livestate.Owned]] = []
        unreadable: dict[str, str] = {}
        for location in sorted(scan):
            try:
                items = self.observer.inventory(location).resources.values()
            except AccountMismatch as e:
                log.error("prune skips a target in the wrong account", error=str(e))
                unreadable[location] = str(e)
                continue
            found += [(location, item) for item in items]
        owned = pruning.owned_endpoints(found)
        if self._places_may_repeat(owned):
            owned = pruning.one_per_place(owned, present, self._places())
        return owned, unreadable

    def _places_may_repeat(self, owned: list[pruning.OwnedEndpoint]) -> bool:
        """Two scanned locations in one region, one of them a target: they may be one place
        (only then is the ambient account asked for, so a plain fleet makes no extra call)."""
        locations = {split_key(o.key)[0] for o in owned}
        regions = [self._region(location) for location in locations]
        targets = any(self.clients.target(location) for location in locations)
        return targets and len(set(regions)) < len(regions)

    def _region(self, location: str) -> str:
        target = self.clients.target(location)
        return target.region if target is not None else location

    def _places(self) -> Callable[[str], tuple[str, str]]:
        """(account, region) each location deploys to; a region's account is the ambient one.
        When that cannot be learnt, accounts are left out: one region counts as one place, which
        may keep an endpoint too many, never delete one too many."""
        try:
            ambient: str | None = self.clients.ambient_account()
        except AwsError:
            ambient = None

        def place(location: str) -> tuple[str, str]:
            target = self.clients.target(location)
            account = target.account_id if target is not None else ambient or ""
            return (account if ambient is not None else ""), self._region(location)

        return place

    def decision(self, snapshot: Snapshot, default_region: str) -> pruning.PruneDecision:
        """The removed endpoints of this scope and the guards' verdict on them."""
        with self._lock:
            if self._decision is not None and self._decision[0] is snapshot:
                return self._decision[1]
        owned, unreadable = self._owned(snapshot.regions(), default_region, snapshot.keys())
        decision = pruning.decide(
            self.options.scope,
            owned,
            snapshot.keys(),
            complete=snapshot.ok,
            guards=self.options.guards,
        )
        decision = dataclasses.replace(decision, unreadable=unreadable)
        sources = {o.key: o.source for o in owned if o.key in decision.removed}
        decision = pruning.hold(decision, projects.prune_holds(snapshot.config, sources))
        with self._lock:
            self._decision = (snapshot, decision)
        return decision
