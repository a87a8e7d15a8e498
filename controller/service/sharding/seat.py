"""The runner's side of sharding: which keys this replica may act on, and what it learns.

The runner asks `owns(key)` before it enqueues and again right before each reconcile; the
elector asks `universe()` (every location the replica has seen, in the manifests or among the
owned endpoints a resync listed, so a target whose manifests are all gone is still a shard and
its endpoints are pruned by whoever holds it) and `busy(shard)`. `changed` runs when the held
set moves: a newly held shard is resynced at once, so a takeover reconciles what the dead
replica left without waiting for the periodic resync.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import structlog

from controller.service.locationqueues import LocationQueues, queue_of
from controller.service.metrics import Metrics
from controller.service.ports import ShardElector, ShardHooks

log = structlog.get_logger(__name__)


class ShardSeat:
    """Connects a `ShardElector` to the runner's queue, state flag, metrics and triggers."""

    def __init__(
        self,
        queue: LocationQueues,
        metrics: Metrics,
        *,
        set_leading: Callable[[bool], None],
        resync: Callable[[], None],
        forget: Callable[[frozenset[str]], None],
    ) -> None:
        self._queue = queue
        self._metrics = metrics
        self._set_leading = set_leading
        self._resync = resync
        self._forget = forget
        self._held: frozenset[str] = frozenset()
        self._from_manifests: frozenset[str] = frozenset()
        self._from_scan: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self.owner: ShardElector | None = None  # the elector, attached once built

    def hooks(self) -> ShardHooks:
        return ShardHooks(universe=self.universe, busy=self.busy, changed=self.changed)

    def owns(self, key: str) -> bool:
        return self.owns_shard(queue_of(key))

    def owns_shard(self, shard: str) -> bool:
        return self.owner is not None and self.owner.owns(shard)

    def note_manifests(self, keys: Iterable[str]) -> None:
        found = frozenset(queue_of(k) for k in keys)
        with self._lock:
            self._from_manifests = found

    def note_scan(self, locations: Iterable[str]) -> None:
        found = frozenset(locations)
        with self._lock:
            self._from_scan = found

    def scan_filter(self) -> Callable[[str], bool]:
        """A replica lists only its own shards' endpoints for removed manifests."""
        return self.owns_shard

    def universe(self) -> frozenset[str]:
        """The shards as of the last load and the last removal scan: a target dropped from the
        manifests (and so from the scan's scope) stops being a shard, its lease handed back."""
        with self._lock:
            return self._from_manifests | self._from_scan

    def busy(self, shard: str) -> bool:
        return any(queue_of(k) == shard for k in self._queue.in_progress())

    def changed(self, held: frozenset[str], acquired: frozenset[str]) -> None:
        self._set_leading(bool(held))  # the leader metric and /readyz's standby answer
        self._metrics.shards_held.set(len(held))
        with self._lock:
            lost, self._held = self._held - held, held
        if lost:  # their new holder reports them now: ours would only go stale
            log.info("shards.lost", shards=sorted(lost))
            self._forget(lost)
        if acquired:
            log.info("shards.acquired", shards=sorted(acquired))
            self._resync()


class Everything:
    """Unsharded: one replica (or the single lease holder) owns every key."""

    def owns(self, key: str) -> bool:
        return True

    def note_manifests(self, keys: Iterable[str]) -> None:
        return None

    def note_scan(self, locations: Iterable[str]) -> None:
        return None

    def scan_filter(self) -> None:
        return None
