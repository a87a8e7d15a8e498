"""Loading the manifests in `run` and choosing what to enqueue: the service's input step.

A fetch syncs the git source; a reload loads the tree (only the files the watcher named, when it
could name them) and enqueues the endpoints whose manifest fingerprint changed, the failed ones
to retry on a new revision, every endpoint on a resync, and removed ones only when the snapshot
is complete (a broken file is never read as a removed endpoint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic

import structlog

from controller.service.backoff import Backoff
from controller.service.inputs.triggers import Triggers
from controller.service.locationqueues import LocationQueues
from controller.service.metrics import Metrics
from controller.service.ports import Ownership, Reconciler, Snapshot, SnapshotT, Source
from controller.service.status.statuses import ServiceState

log = structlog.get_logger(__name__)

GIT_BACKOFF_KEY = "\0git"  # the git source backs off in the same Backoff as endpoints


class Reloader(Generic[SnapshotT]):
    """Fetches, loads and selects; the Runner's control loop calls it, tests may too."""

    def __init__(
        self,
        reconciler: Reconciler[SnapshotT],
        state: ServiceState[SnapshotT],
        queue: LocationQueues,
        triggers: Triggers,
        *,
        backoff: Backoff,
        metrics: Metrics,
        stopping: threading.Event,
        poll_interval: float,
        source: Source | None = None,
        revision_of: Callable[[Path], str | None] | None = None,
        ownership: Ownership,
    ) -> None:
        self._reconciler = reconciler
        self._ownership = ownership  # with shards: enqueue only what this replica holds
        self._state = state
        self._queue = queue
        self._triggers = triggers
        self._backoff = backoff
        self._metrics = metrics
        self._stopping = stopping
        self._poll_interval = poll_interval
        self._source = source
        # Directory mode: the revision of the tree (git HEAD when it is a checkout), if known.
        self._revision_of = revision_of
        self.scanner: threading.Thread | None = None  # a resync's owned-endpoint listing

    def fetch(self) -> bool:
        """Sync the git source; True when there is a revision to load that was not loaded."""
        assert self._source is not None
        try:
            checkout = self._source.sync()
        except Exception as e:  # GitError and friends: keep serving the last good revision
            delay = min(self._poll_interval, self._backoff.next_delay(GIT_BACKOFF_KEY))
            self._triggers.poll_in(delay)
            log.warning("git sync failed", error=str(e), retry_in=round(delay, 1))
            with self._state.lock:
                self._state.problems["fetch"] = f"git sync failed: {e}"
            return False
        self._backoff.reset(GIT_BACKOFF_KEY)
        self._triggers.poll_later()
        with self._state.lock:
            self._state.problems.pop("fetch", None)  # the remote is back: say so at once
            first = self._state.snapshot is None
            self._state.root, self._state.revision = checkout.root, checkout.revision
        return checkout.changed or first

    def reload(
        self, *, full: bool, changed: frozenset[str] | None = None, scan_aside: bool = False
    ) -> set[str]:
        """Load the manifests now and enqueue what changed (everything when `full`).

        `changed`: the only files (root-relative) that may differ from the last load, as the
        watcher saw them; None reads the whole tree. `scan_aside`: a resync lists the owned
        endpoints (to find removed manifests) on a thread of its own, which enqueues what it
        finds, so an edit arriving meanwhile is loaded at once instead of after a sweep of the
        whole account (a second at 1,000 endpoints); the control loop asks for it.
        """
        with self._state.lock:
            root, revision = self._state.root, self._state.revision
        if root is None:
            return set()
        if self._source is None and self._revision_of is not None:
            revision = self._revision_of(root)
        try:
            snap = self._reconciler.load(root, revision, changed=changed)
        except Exception as e:  # unreadable tree: keep the last snapshot, report, retry later
            log.error("loading manifests failed", revision=revision, error=str(e))
            self._triggers.forget_changed()  # the files named here were not taken in
            with self._state.lock:
                self._state.problems["load"] = f"loading manifests failed: {e}"
            return set()
        keys = frozenset(snap.keys())
        self._ownership.note_manifests(keys)
        with self._state.lock:
            old, leading = self._state.snapshot, self._state.leading
            self._state.snapshot, self._state.keys = snap, keys
            self._state.problems.pop("load", None)
            for key in keys:
                self._state.identities[key] = (snap.name(key), dict(snap.labels(key)))
        self._publish(snap)
        if not leading:
            return set()
        if full or old is None:
            # Fresh registry listings and owned index on resyncs only: an edit to one manifest
            # must cost that endpoint's calls, not a sweep of the whole account. The caches are
            # write-through for our own changes and short-lived (index TTL) for everything else.
            self._reconciler.begin_pass()
        selected = {k for k in self._select(old, snap, keys, full, scan_aside) if self._owns(k)}
        with self._state.lock:
            if self._state.initial is None:
                self._state.initial = set(selected)
        edited = edited_keys(old, snap, keys)
        for key in sorted(selected):
            # Edits go ahead of the resync sweep: a changed manifest never waits for the fleet.
            self._queue.add(key, urgent=key in edited)
        log.info(
            "manifests loaded",
            revision=snap.revision,
            endpoints=len(keys),
            ok=snap.ok,
            enqueued=len(selected),
            full=full,
        )
        return selected

    def _publish(self, snap: Snapshot) -> None:
        self._metrics.set_revision(snap.revision)
        self._metrics.manifest_errors.set(len(snap.diagnostics))
        for diagnostic in snap.diagnostics:
            log.warning("manifest problem", revision=snap.revision, problem=str(diagnostic))

    def _select(
        self, old: SnapshotT | None, new: SnapshotT, keys: frozenset[str], full: bool, aside: bool
    ) -> set[str]:
        """Keys to enqueue for a new snapshot; removals only when the snapshot is complete."""
        changed = edited_keys(old, new, keys)
        with self._state.lock:
            for key in changed:  # new input: a fresh start for failed and backing-off keys
                self._state.terminal.pop(key, None)
                self._backoff.reset(key)
            retry = {
                k
                for k, (_, rev) in self._state.terminal.items()
                if k in keys and rev != new.revision
            }
        selected = changed | retry
        if full:  # drift and registry changes; keys in backoff keep their own schedule
            selected |= {k for k in keys if not self._backing_off(k)}
        if new.ok:  # never read a broken file as a removed endpoint
            selected |= self._removed(old, keys, full, aside)
        return selected

    def _backing_off(self, key: str) -> bool:
        return self._backoff.failures(key) > 0 and self._queue.scheduled(key) is not None

    def _removed(
        self, old: SnapshotT | None, keys: frozenset[str], full: bool, aside: bool
    ) -> set[str]:
        gone = set(old.keys()) - keys if old is not None else set()
        if aside and (full or old is None):  # the first load too: no location waits for it
            self._scan_aside(first=old is None)
        elif full or old is None or not old.ok:
            # Ask AWS only when the last complete view is unknown; edits diff snapshots instead.
            try:
                gone |= self._owned() - keys
            except Exception as e:
                log.warning("listing owned endpoints failed", error=str(e))
        return gone

    def _owned(self) -> set[str]:
        """Owned endpoints' keys, to find removed manifests. Every location the scan covers is
        a shard, even with no manifest left; a sharded replica lists only its own shards."""
        self._ownership.note_scan(self._reconciler.removal_locations())
        return self._reconciler.owned_keys(self._ownership.scan_filter())

    def _owns(self, key: str) -> bool:
        return self._ownership.owns(key)

    def _scan_aside(self, first: bool = False) -> None:
        """List owned endpoints on a thread; enqueue those the newest snapshot lacks.

        On the first load too: the listing reads every location's index, and a throttled
        target's must not hold back another's endpoints. What it finds then joins the initial
        sync, unless that is already done (prune work after ready, not a readiness flap)."""
        if self.scanner is not None and self.scanner.is_alive():
            return  # the running scan compares with the newest snapshot when it ends

        def scan() -> None:
            try:
                owned = self._owned()
            except Exception as e:
                log.warning("listing owned endpoints failed", error=str(e))
                return
            with self._state.lock:
                snap = self._state.snapshot
                if snap is None or not snap.ok or self._stopping.is_set():
                    return  # never read a broken file as a removed endpoint
                gone = {k for k in owned - set(snap.keys()) if self._owns(k)}
                if first and self._state.initial:
                    self._state.initial |= gone
            for key in sorted(gone):
                self._queue.add(key)

        self.scanner = threading.Thread(target=scan, name="removal-scan", daemon=True)
        self.scanner.start()


def edited_keys(old: Snapshot | None, new: Snapshot, keys: frozenset[str]) -> set[str]:
    """Keys whose manifest is new or changed since the last snapshot (all, on the first)."""
    if old is None:
        return set(keys)
    return {k for k in keys if old.fingerprint(k) != new.fingerprint(k)}
