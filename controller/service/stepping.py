"""One reconcile step for one endpoint key, as a worker runs it.

gate (leader? suspended? deploy window open?) -> reconcile(apply=...) -> record status, metrics
and a log line -> schedule the next look from the Outcome: REQUEUE after its delay, TRANSIENT
after a jittered backoff, TERMINAL not until new input, a closed window when it next opens.
Every log line inside carries the endpoint, revision and action (apply or plan).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic

import structlog

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.service import tracing
from controller.service.backoff import Backoff
from controller.service.checkbacks import CheckBacks
from controller.service.locationqueues import LocationQueues
from controller.service.metrics import Metrics
from controller.service.ports import Reconciler, Snapshot, SnapshotT
from controller.service.status.events import Event
from controller.service.status.statuses import (
    EndpointStatus,
    Hold,
    ServiceState,
    SyncState,
    Weighted,
    location_of,
    update_status,
)
from controller.service.windows import WindowPolicy

if TYPE_CHECKING:
    from controller.service.runner import RunnerConfig

log = structlog.get_logger(__name__)


class Stepper(Generic[SnapshotT]):
    """Runs reconcile steps; owned by the Runner, shares its state, queue and metrics."""

    def __init__(
        self,
        reconciler: Reconciler[SnapshotT],
        state: ServiceState[SnapshotT],
        queue: LocationQueues,
        *,
        config: RunnerConfig,
        backoff: Backoff,
        windows: WindowPolicy,
        metrics: Metrics,
        leader_check: Callable[[], bool],
        owns: Callable[[str], bool],
        clock: Callable[[], float],
        now: Callable[[], datetime],
        notify: Callable[[Event], None] | None = None,
    ) -> None:
        self._notify = notify  # must not block: the notifier only enqueues
        self._reconciler = reconciler
        self._state = state
        self._queue = queue
        self._config = config
        self._backoff = backoff
        self._windows = windows
        self._metrics = metrics
        self._leader_check = leader_check
        self._owns = owns  # with shards: the key's shard lease is ours and valid
        self._clock = clock
        self._now = now
        self._checkbacks = CheckBacks()

    def process(self, key: str) -> Outcome | None:
        """Reconcile `key` once against the current snapshot and schedule its next look.

        None when there was nothing to do (no snapshot yet, or not the leader).
        """
        with self._state.lock:
            snap, present, leading = (
                self._state.snapshot,
                key in self._state.keys,
                self._state.leading,
            )
            name, labels = self._state.identities.get(key, (key, {}))
        try:
            if snap is None or not leading or not self._owns(key):
                return None  # standbys stay idle until they lead; another shard's key is theirs
            hold = self._hold(snap, key, name, labels, present)
            action = "apply" if hold.kind is None else "plan"
            with structlog.contextvars.bound_contextvars(
                endpoint=name, revision=snap.revision, action=action
            ):
                started = self._clock()
                with tracing.reconcile_span(name, key, snap.revision, action) as span:
                    outcome = self._call(snap, key, name, apply=hold.kind is None)
                    tracing.record_outcome(span, outcome)
                self._record(key, name, snap, outcome, hold, self._clock() - started)
                self._schedule(key, snap, outcome, hold, labels)
            return outcome
        finally:
            with self._state.lock:
                if self._state.initial is not None:
                    self._state.initial.discard(key)

    def _hold(
        self, snap: Snapshot, key: str, name: str, labels: Mapping[str, str], present: bool
    ) -> Hold:
        if not self._state.leading or not self._leader_check() or not self._owns(key):
            return Hold("leader", "not the leader")
        if self._state.suspended:
            return Hold("suspended", "suspended: POST /resume to apply again")
        if present and snap.suspended(key):
            return Hold("suspended", "suspended: spec.suspend is true")
        gate = self._windows.gate(name, key, labels, self._now())
        return Hold() if gate.open else Hold("window", gate.reason)

    def _call(self, snap: SnapshotT, key: str, name: str, *, apply: bool) -> Outcome:
        try:
            return self._reconciler.reconcile(snap, key, apply=apply)
        except Exception as e:  # a bug for one endpoint must not stop the others: back off
            log.exception("reconcile raised")
            return Outcome(
                name, OutcomeKind.TRANSIENT, f"{type(e).__name__}: {e}", reason="ReconcileError"
            )

    def _schedule(
        self, key: str, snap: Snapshot, outcome: Outcome, hold: Hold, labels: Mapping[str, str]
    ) -> None:
        """Decide when to look at `key` again; TERMINAL waits for new input."""
        kind = outcome.kind
        with self._state.lock:
            if kind is OutcomeKind.TERMINAL:
                self._state.terminal[key] = (snap.fingerprint(key), snap.revision)
            else:
                self._state.terminal.pop(key, None)
        if kind is not OutcomeKind.REQUEUE:
            self._checkbacks.forget(key)
        if kind is OutcomeKind.TRANSIENT:
            self._queue.add_after(key, self._backoff.next_delay(key))
            return
        self._backoff.reset(key)
        if kind is OutcomeKind.REQUEUE:
            after = outcome.requeue_after or self._config.default_requeue
            requested = min(self._config.max_requeue, max(1.0, after))
            self._queue.add_after(key, self._checkbacks.delay(key, requested, outcome.mutated))
        else:
            # Settled or stuck: a check-back left over from an earlier REQUEUE would only cost
            # a DescribeEndpoint.
            self._queue.cancel(key)
        pending = outcome.plan is None or outcome.plan.has_changes
        if hold.kind == "window" and kind is not OutcomeKind.TERMINAL and pending:
            self._queue.add_after(key, self._window_delay(outcome.endpoint or key, key, labels))

    def _window_delay(self, name: str, key: str, labels: Mapping[str, str]) -> float:
        now = self._now()
        cap = self._config.window_recheck
        opens = self._windows.next_open(name, key, labels, now, horizon=timedelta(seconds=cap))
        if opens is None:
            return cap
        return min(cap, max(1.0, (opens - now).total_seconds() + 1.0))

    def _record(
        self, key: str, name: str, snap: Snapshot, outcome: Outcome, hold: Hold, seconds: float
    ) -> None:
        kind = outcome.kind
        failed = kind in (OutcomeKind.TRANSIENT, OutcomeKind.TERMINAL)
        self._log(outcome, hold, seconds)
        entry, events, gone = self._update(key, name, snap, outcome, hold)
        self._metrics.observe_reconcile(kind.value, outcome.reason, seconds, failed, entry.location)
        if gone:  # workers never hold one key at once: its component series are theirs alone
            self._metrics.forget(key)
        elif outcome.plan is not None:
            self._metrics.set_components(key, entry.location, entry.name, outcome.plan.components)
        with self._state.lock:  # in order: an older count never overwrites a newer one
            states = [(s.location, s.sync.value) for s in self._state.statuses.values()]
            self._metrics.set_states(states)
        for event in events:
            if self._notify is not None:
                self._notify(event)
        if snap.ok and all(s in (SyncState.SYNCED, SyncState.SUSPENDED) for _, s in states):
            self._metrics.last_success.set(time.time())

    def _update(
        self, key: str, name: str, snap: Snapshot, outcome: Outcome, hold: Hold
    ) -> tuple[EndpointStatus, list[Event], bool]:
        """Refresh the key's status; also whether it is gone (pruned, or nothing to report)."""
        with self._state.lock:
            self._state.aws_ok = outcome.kind is not OutcomeKind.TRANSIENT
            entry = self._state.statuses.get(key) or EndpointStatus.at(
                key, name, location_of(snap, key)
            )
            weights = snap.weights(key) if isinstance(snap, Weighted) else None
            events = update_status(
                entry,
                outcome,
                hold,
                snap.revision,
                self._now(),
                weights,
                snap.fingerprint(key),
                several_locations=self._state.several_locations(),
            )
            removed = key not in self._state.keys and outcome.kind is OutcomeKind.CONVERGED
            # Safety hook: a delete held back by a prune guard stays listed until it is resolved.
            kept = outcome.plan is not None and (outcome.plan.has_changes or outcome.plan.held)
            gone = removed and not kept
            if gone:
                self._state.statuses.pop(key, None)  # pruned, or nothing left to report
            else:
                self._state.statuses[key] = entry
        return entry, events, gone

    def _log(self, outcome: Outcome, hold: Hold, seconds: float) -> None:
        fields = {
            "outcome": outcome.kind.value,
            "reason": outcome.reason,
            "message": outcome.message,
            "mutated": outcome.mutated,
            "held": hold.reason,
            "seconds": round(seconds, 3),
        }
        if outcome.kind is OutcomeKind.TERMINAL:
            log.error("reconcile failed", **fields)
        elif outcome.kind is OutcomeKind.TRANSIENT:
            log.warning("reconcile will retry", **fields)
        elif outcome.mutated:
            log.info("reconciled", **fields)
        else:
            log.debug("reconciled", **fields)
