"""Holds the shard leases this replica should hold, and only those, renewing them as it goes.

Every `renew_every` seconds one pass: write our membership heartbeat, Scan the lease table (live
members and shard holders), assign every known shard over the live members (`assignment`: sticky,
bounded rendezvous hashing), take or renew the lease of each shard assigned to us, and hand back
those no longer assigned. The first pass only announces us: replicas started together then see
each other before anyone takes a shard, instead of the first taking all and handing most back.

Why two replicas never act on one shard: acting needs the shard's lease, and `owns()` is true
only while that lease is held and valid by our own clock (the `Lease` safety argument, per
shard). Hashing only decides who *tries*; a replica that disagrees on the members for a pass
loses the conditional write.

Handover on a scale-up: a shard assigned elsewhere stops being owned at once (`owns()` turns
false, so no new reconcile starts), but its lease is renewed until the reconcile already in
flight for it ends (`busy`), then released: the newcomer takes it on its next pass, and no call
of ours can land after the newcomer starts. A replica that dies (SIGKILL) releases nothing: its
membership and leases expire within a lease duration and the survivors take its shards on
their next pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from controller.service.lease import Lease, LeaseError
from controller.service.ports import ShardHooks
from controller.service.sharding.assignment import assign, share
from controller.service.sharding.roster import Roster, TableView

log = structlog.get_logger(__name__)


class ShardElector:
    """The shard leases of one replica; `owns` is thread-safe and cheap."""

    def __init__(
        self,
        dynamodb_client: Any,
        table: str,
        hooks: ShardHooks,
        *,
        name: str = "sagemaker-gitops",
        replica: str,
        duration: float = 15.0,
        renew_every: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = dynamodb_client
        self.table = table
        self.replica = replica
        self.duration = duration
        self.renew_every = renew_every if renew_every is not None else duration / 3
        if not 0 < self.renew_every < duration * 0.8:
            raise ValueError("renew_every must be positive and shorter than 4/5 of duration")
        self.roster = Roster(
            dynamodb_client, table, name=name, replica=replica, duration=duration, clock=clock
        )
        self._hooks = hooks
        self._clock = clock
        self._leases: dict[str, Lease] = {}
        self._draining: set[str] = set()
        self._held: frozenset[str] = frozenset()
        self._view = TableView()
        self._announced = False
        self._lock = threading.Lock()  # guards _leases, _draining, _held, _view
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the runner asks -----------------------------------------------------------------

    def owns(self, shard: str) -> bool:
        """Held, valid by our clock, and not being handed over: a reconcile may start."""
        with self._lock:
            return self._acting(shard)

    def view(self) -> dict[str, Any]:
        """For /status: who we are, what we hold, and who holds what as of the last pass."""
        with self._lock:
            view, held = self._view, self._held
        return {
            "replica": self.replica,
            "held": sorted(held),
            "members": sorted(view.members | {self.replica}),
            "holders": dict(sorted(view.holders.items())),
        }

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("ShardElector already started")
        self._thread = threading.Thread(target=self._loop, name="shard-leases", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None, *, release: bool = True) -> None:
        """Stop acting on every shard, end the pass loop, and leave the roster.

        `release`: hand the leases back at once (nothing in flight); False lets them expire, so
        a call still in flight has the lease duration to land before another replica acts.
        """
        self._stopping.set()
        with self._lock:
            self._draining |= set(self._leases)
        self._publish()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.duration)
        with self._lock:
            leases, self._leases = list(self._leases.values()), {}
        if release:
            for lease in leases:
                lease.release()
        try:
            self.roster.leave()
        except LeaseError as e:
            log.warning("shards.leave_failed", error=str(e))  # our member item simply expires

    # -- the pass ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_pass()
            except Exception:  # the loop must outlive one bad pass; leases lapse on their own
                log.exception("shards.pass_failed")
            self._stopping.wait(self.renew_every)

    def run_pass(self) -> None:
        """One heartbeat, one read, the acquisitions and hand-backs it calls for (tests drive
        this directly with a fake clock)."""
        try:
            self.roster.heartbeat()
        except LeaseError as e:
            log.warning("shards.heartbeat_failed", error=str(e))
        try:
            view: TableView | None = self.roster.read()
        except LeaseError as e:
            log.warning("shards.read_failed", error=str(e))
            view = None
        if view is None:
            self._renew_held()  # members unknown: keep what we hold, take nothing new
        else:
            with self._lock:
                self._view = view
            if self._announced:
                members = view.members | {self.replica}
                mine = share(assign(self._hooks.universe(), members, view.holders), self.replica)
                self._take(mine, view)
                self._hand_back(mine)
            self._announced = True  # the first pass only announces us: others see us first
        self._publish()

    def _take(self, mine: frozenset[str], view: TableView) -> None:
        for shard in sorted(mine):
            if self._stopping.is_set():
                return
            holder = view.holders.get(shard)
            if holder not in (None, self.replica) and shard not in self._leases:
                continue  # still held by its last owner: taken once it is handed back
            lease = self._lease(shard)
            try:
                ok = lease.try_acquire()
            except LeaseError as e:
                log.warning("shards.acquire_failed", shard=shard, error=str(e))
                continue
            with self._lock:
                if ok:
                    self._draining.discard(shard)
                elif not lease.is_leader():
                    self._leases.pop(shard, None)  # another replica won it

    def _hand_back(self, mine: frozenset[str]) -> None:
        with self._lock:
            leaving = [s for s in self._leases if s not in mine]
            self._draining.update(leaving)
        for shard in leaving:
            lease = self._leases.get(shard)
            if lease is None:
                continue  # stop() took the leases meanwhile
            if self._hooks.busy(shard):
                self._renew(shard, lease)  # keep it until the reconcile in flight ends
                continue
            lease.release()
            with self._lock:
                self._leases.pop(shard, None)
                self._draining.discard(shard)
            log.info("shards.handed_back", shard=shard, replica=self.replica)

    def _renew_held(self) -> None:
        for shard, lease in list(self._leases.items()):
            self._renew(shard, lease)

    def _renew(self, shard: str, lease: Lease) -> None:
        try:
            if not lease.renew():
                with self._lock:
                    self._leases.pop(shard, None)
        except LeaseError as e:
            log.warning("shards.renew_failed", shard=shard, error=str(e))

    def _lease(self, shard: str) -> Lease:
        with self._lock:
            lease = self._leases.get(shard)
            if lease is None:
                lease = Lease(
                    self.client,
                    self.table,
                    name=self.roster.shard_item(shard),
                    holder=self.replica,
                    duration=self.duration,
                    clock=self._clock,
                )
                self._leases[shard] = lease
            return lease

    def _acting(self, shard: str) -> bool:
        """Held, valid by our clock, not being handed over, not stopping; call with _lock."""
        lease = self._leases.get(shard)
        if lease is None or shard in self._draining or self._stopping.is_set():
            return False
        return lease.is_leader()

    def _publish(self) -> None:
        """Tell the runner when the set of shards we may act on changed."""
        with self._lock:
            held = frozenset(s for s in self._leases if self._acting(s))
            before, self._held = self._held, held
        if held != before:
            log.info("shards.held", replica=self.replica, held=sorted(held))
            try:
                self._hooks.changed(held, held - before)
            except Exception:
                log.exception("shards.callback_failed")
