"""What `run` says about itself over HTTP: readiness, `/status`, held-back deletes, plan texts,
and the suspend switch.

Read from the shared ServiceState under its lock by the HTTP threads; kept apart from the Runner
(which owns threads and the loop) so that what the service reports can grow (projects, stages,
shards) without growing the class that runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic

import structlog

from controller.core.plan.plans import EndpointPlan
from controller.service.locationqueues import LocationQueues
from controller.service.metrics import Metrics
from controller.service.ports import SnapshotT
from controller.service.status.statuses import ServiceState

log = structlog.get_logger(__name__)


class Reporter(Generic[SnapshotT]):
    """The readable side of the service, and the suspend/resume switch."""

    def __init__(
        self,
        state: ServiceState[SnapshotT],
        queue: LocationQueues,
        metrics: Metrics,
        *,
        on_resume: Callable[[], None],
        render_plan: Callable[[EndpointPlan], str] | None = None,
        shards: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._state = state
        self._queue = queue
        self._metrics = metrics
        self._on_resume = on_resume  # a resume resyncs: what was held may now be applied
        # The status page's plan text; service cannot import rendering (a sibling layer).
        self._render_plan = render_plan
        self.shards = shards  # with `run --shard-by`: this replica's shards and every holder

    def ready(self) -> tuple[bool, str]:
        with self._state.lock:
            s = self._state
            if s.snapshot is None:
                return False, s.problem or "manifests not loaded yet"
            if not s.leading:
                if self.shards is not None:
                    return True, "standby: this replica holds no shard"
                return True, "standby: another replica leads"
            if s.initial is None or s.initial:
                return False, f"initial sync: {len(s.initial or ())} endpoints to go"
            if s.aws_ok is False:
                return False, "the last reconcile could not reach AWS"
            return True, "ok"

    def status(self) -> dict[str, Any]:
        with self._state.lock:
            s = self._state
            snap = s.snapshot
            endpoints = sorted(s.statuses.values(), key=lambda e: (e.name, e.key))
            return {
                "revision": snap.revision if snap else s.revision,
                "leader": s.leading,
                "suspended_all": s.suspended,
                "ready": self.ready()[0],
                "problem": s.problem,
                "diagnostics": [str(d) for d in snap.diagnostics] if snap else [],
                "queue": {"ready": len(self._queue), "pending": self._queue.pending()},
                "endpoints": [e.as_json() for e in endpoints],
                "held_back_deletes": self.held_back(),
                **({"shards": self.shards()} if self.shards is not None else {}),
            }

    def held_back(self) -> list[dict[str, str]]:
        """Removed endpoints a prune guard keeps (reason HeldBack), with the guard's reason."""
        with self._state.lock:
            statuses = list(self._state.statuses.values())
        return [
            {"endpoint": e.name, "key": e.key, "reason": e.message}
            for e in sorted(statuses, key=lambda e: e.key)
            if e.reason == "HeldBack"
        ]

    def plan_text(self, key: str) -> str | None:
        """The last plan of `key` as `plan` prints it (the status page's detail view)."""
        with self._state.lock:
            entry = self._state.statuses.get(key)
            plan = entry.plan if entry is not None else None
        if plan is None or self._render_plan is None:
            return None
        return self._render_plan(plan)

    def suspend(self) -> None:
        with self._state.lock:
            self._state.suspended = True
        self._metrics.suspended.set(1)
        log.info("suspended: changes are reported, not applied")

    def resume(self) -> None:
        with self._state.lock:
            self._state.suspended = False
        self._metrics.suspended.set(0)
        log.info("resumed")
        self._on_resume()
