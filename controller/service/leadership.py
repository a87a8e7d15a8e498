"""Who may act in `run`: every replica alone, the one lease holder, or each shard's holder.

Three modes, one interface for the runner. Without a lease table the replica leads (one process).
With `--lease-table`, one `Elector` decides: the holder leads the whole fleet and the others stand
by. With `--shard-by location`, a `ShardElector` holds one lease per target (or region) and the
replica acts on the keys of the shards it holds. The runner asks `ownership.owns(key)` before it
enqueues and before each reconcile, reads `leading` for readiness, and calls `start`/`stop`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from controller.service.locationqueues import LocationQueues
from controller.service.metrics import Metrics
from controller.service.ports import (
    Elector,
    ElectorFactory,
    Ownership,
    ShardElector,
    ShardElectorFactory,
)
from controller.service.sharding.seat import Everything, ShardSeat

log = structlog.get_logger(__name__)


class Leadership:
    """Builds the elector (if any) and keeps the runner's `leading` flag and metric in step."""

    def __init__(
        self,
        queue: LocationQueues,
        metrics: Metrics,
        *,
        set_leading: Callable[[bool], None],
        resync: Callable[[], None],
        forget: Callable[[frozenset[str]], None],
        elector_factory: ElectorFactory | None = None,
        shard_factory: ShardElectorFactory | None = None,
    ) -> None:
        if elector_factory is not None and shard_factory is not None:
            raise ValueError("give at most one of elector_factory and shard_factory")
        self._metrics = metrics
        self._set_leading = set_leading
        self._resync = resync
        self.ownership: Ownership = Everything()
        self.shard_view: Callable[[], dict[str, Any]] | None = None
        self._elector: Elector | None = None
        self._shards: ShardElector | None = None
        if elector_factory is not None:  # built now, campaigns from start()
            self._elector = elector_factory(self._started, self._stopped)
        if shard_factory is not None:
            seat = ShardSeat(
                queue, metrics, set_leading=self._leading, resync=resync, forget=forget
            )
            self._shards = seat.owner = shard_factory(seat.hooks())
            self.ownership, self.shard_view = seat, self._shards.view

    @property
    def alone(self) -> bool:
        """No election: this replica leads from the start."""
        return self._elector is None and self._shards is None

    def owns_shard(self, shard: str) -> bool:
        """With shards, this replica holds `shard`'s lease now (tests sample it)."""
        return self._shards is not None and self._shards.owns(shard)

    def start(self) -> None:
        if self._elector is not None:
            self._elector.start()
        if self._shards is not None:
            self._shards.start()

    def stop(self, clean: bool, deadline: float) -> None:
        """Hand over only once no apply is in flight, so two replicas never act on one key.

        With a call still in flight it may yet reach SageMaker: the leases are left to run out
        instead of released, which gives that call the lease duration to land before a
        successor acts.
        """
        left = max(0.5, deadline - time.monotonic())
        if self._shards is not None:
            self._shards.stop(timeout=left, release=clean)
        if self._elector is None:
            return
        if clean:
            self._elector.stop(timeout=left)
            return
        self._stopped()
        log.warning("lease left to expire: reconciles were still in flight at shutdown")

    # -- called on the elector's threads: must return quickly ----------------------------------

    def _started(self) -> None:
        self._leading(True)
        log.info("started leading")
        self._resync()

    def _stopped(self) -> None:
        self._leading(False)
        log.info("stopped leading: no further changes are applied")

    def _leading(self, value: bool) -> None:
        """One lease held, or (with shards) at least one shard held."""
        self._set_leading(value)
        self._metrics.leader.set(1 if value else 0)
