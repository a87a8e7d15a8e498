"""Confirmed removal for `run --prune`: a manifest must stay gone for a grace period.

A sync that is not atomic (rsync, a config-management agent, a person moving files) can empty the
watched directory for a moment. Deleting on the first snapshot that lacks a manifest would delete
production endpoints that are back a second later. This wrapper around the service's reconciler
turns the first attempt to delete a removed endpoint into a report (REQUEUE after the grace), and
deletes only when, after the grace, a fresh read of the tree still lacks the manifest; any
snapshot in between that has it again resets the clock (`pruning.AbsenceTracker`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic

import structlog

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.prune.pruning import AbsenceTracker
from controller.service.ports import Reconciler, SnapshotT

log = structlog.get_logger(__name__)


class ConfirmedRemoval(Generic[SnapshotT]):
    """A `ports.Reconciler` that delays every prune until the absence is confirmed."""

    def __init__(
        self,
        inner: Reconciler[SnapshotT],
        grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._tracker = AbsenceTracker(grace)
        self._clock = clock
        self._lock = threading.Lock()
        self._source: tuple[Path, str | None] | None = None

    def load(
        self, root: Path, revision: str | None, *, changed: frozenset[str] | None = None
    ) -> SnapshotT:
        snapshot = self._inner.load(root, revision, changed=changed)
        with self._lock:
            self._tracker.present(snapshot.keys())
            self._source = (root, revision)
        return snapshot

    def begin_pass(self) -> None:
        self._inner.begin_pass()

    def owned_keys(self, only: Callable[[str], bool] | None = None) -> set[str]:
        return self._inner.owned_keys(only)

    def removal_locations(self) -> set[str]:
        return self._inner.removal_locations()

    def pending(self) -> dict[str, float]:
        """Removed keys waiting for their grace: key -> when their absence was first seen."""
        with self._lock:
            return self._tracker.pending()

    def reconcile(self, snapshot: SnapshotT, key: str, *, apply: bool) -> Outcome:
        if not apply or snapshot.fingerprint(key) is not None:
            return self._inner.reconcile(snapshot, key, apply=apply)
        report = self._inner.reconcile(snapshot, key, apply=False)
        if report.plan is None or not report.plan.has_changes:
            return report  # nothing to delete (no --prune, another scope, held back by a guard)
        with self._lock:
            wait = self._tracker.absent(key, self._clock())
        if wait > 0:
            return self._waiting(report, wait)
        fresh = self._reread()
        if fresh is None or not fresh.ok or fresh.fingerprint(key) is not None:
            return report  # back again, or the tree cannot be read completely: delete nothing
        log.warning("manifest absence confirmed after the grace period; pruning", key=key)
        return self._inner.reconcile(fresh, key, apply=True)

    def _waiting(self, report: Outcome, wait: float) -> Outcome:
        return Outcome(
            report.endpoint,
            OutcomeKind.REQUEUE,
            f"manifest removed; deleted only if still absent in {wait:.0f}s (--prune-grace)",
            requeue_after=wait,
            plan=report.plan,
            reason="PruneGrace",
        )

    def _reread(self) -> SnapshotT | None:
        """The tree as it is now: a confirmation must not trust a snapshot from before the grace."""
        with self._lock:
            source = self._source
        if source is None:
            return None
        try:
            return self.load(*source)
        except Exception as e:  # unreadable now: not a confirmation
            log.warning("re-reading manifests to confirm a removal failed", error=str(e))
            return None
