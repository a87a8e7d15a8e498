"""The thread behind `run --promote`: every `interval`, a pass over every pipeline of the newest
snapshot, by the replica that leads.

Only the lease holder promotes: a replica that does not lead (or, with shards, does not hold the
shard of the pipeline's first endpoint) skips the pipeline. Two replicas that both believed
they led for a moment would still write one commit: the writer starts from the remote's head
and finds the change made. A snapshot that failed to load is never acted on: a broken manifest
must not look like a stage that pins nothing. One pipeline's failure (a throttled account, a
git error) is logged, counted and retried next pass; the other pipelines go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from controller.core.snapshots import Snapshot
from controller.errors import ControllerError
from controller.manifests.loaded import LoadedPipeline
from controller.manifests.pipelines.checks import stage_endpoints
from controller.service.metrics import Metrics
from controller.service.promoting.advancing import Advancer, StageEvent
from controller.service.status.events import Event, EventKind, StageRef
from controller.service.status.locations import DEFAULT_TARGET

log = structlog.get_logger(__name__)

_NOTIFIED = {
    "verified": EventKind.STAGE_VERIFIED,
    "failed": EventKind.STAGE_FAILED,
    "inconclusive": EventKind.STAGE_INCONCLUSIVE,
    "promoted": EventKind.PROMOTED,
    "rolledBack": EventKind.STAGE_ROLLED_BACK,
}
"""Stage events people hear about; `held` rides on StageFailed, `error` is logged and counted."""


class Promoter:
    """Runs `Advancer` passes on a timer; tests call `step()` directly."""

    name = "promotion"

    def __init__(
        self,
        advancer: Advancer,
        snapshot: Callable[[], Snapshot | None],
        *,
        interval: float,
        leading: Callable[[], bool],
        owns: Callable[[str], bool] = lambda key: True,
        metrics: Metrics | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        notify: Callable[[Event], None] | None = None,
    ) -> None:
        self._advancer = advancer
        self._snapshot = snapshot
        self.interval = interval
        self._leading = leading
        self._owns = owns
        self._metrics = metrics
        self._now = now
        self._notify = notify
        self._current: Snapshot | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="promoter", daemon=True)
        self._lock = threading.Lock()
        self._view: dict[str, Any] = {"state": "starting", "pipelines": []}

    def emit(self, event: StageEvent) -> None:
        """Advancer's events: counted, and handed to the notifier (which only enqueues)."""
        if self._metrics is not None:
            self._metrics.stage_events.labels(event.pipeline, event.stage, event.kind).inc()
        kind = _NOTIFIED.get(event.kind)
        if kind is None or self._notify is None:
            return
        targets = self._current.targets if self._current is not None else {}
        target = targets.get(event.location)
        self._notify(
            Event(
                kind=kind,
                key=f"{event.location}/{event.pipeline}/{event.stage}/v{event.version}",
                endpoint=f"{event.pipeline}/{event.stage}",
                region=target.region if target is not None else event.location,
                revision=event.revision,
                message=event.message,
                reason=event.kind,
                manifest=None,
                time=self._now().isoformat(timespec="seconds"),
                target=event.location if target is not None else DEFAULT_TARGET,
                several_locations=True,
                stage=StageRef(event.pipeline, event.stage, event.group, event.version),
            )
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.1, timeout))

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._view)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the thread must outlive any one bad pass
                log.exception("promotion pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def step(self) -> None:
        """One pass over every pipeline (when leading and the manifests loaded)."""
        snap = self._snapshot()
        if snap is None:
            self._set("waiting for the first load", [])
            return
        if not snap.ok:
            self._set("the manifests do not load: no promotion until they do", [])
            return
        if not self._leading():
            self._set("not leading: the lease holder promotes", [])
            return
        now = self._now()
        self._current = snap
        pipelines: list[dict[str, Any]] = []
        self._advancer.begin()
        for loaded in snap.pipelines:
            name = loaded.pipeline.metadata.name
            owner_key = _owner_key(loaded, snap)
            if owner_key is not None and not self._owns(owner_key):
                pipelines.append({"name": name, "state": "another replica drives it"})
                self._count(name, "skipped")
                continue
            try:
                views = self._advancer.advance(
                    loaded, snap.entries, snap.target_labels, now, snap.revision
                )
            except ControllerError as e:
                log.warning("promotion pass failed", pipeline=name, error=str(e))
                pipelines.append({"name": name, "state": f"error: {e}"})
                self._count(name, "error")
                continue
            self._count(name, "ok")
            for view in views:
                if view.versions and self._metrics is not None:
                    gauge = self._metrics.stage_version.labels(name, view.stage, view.group)
                    gauge.set(max(view.versions))
            pipelines.append({"name": name, "state": "ok", "stages": [v.as_json() for v in views]})
        self._advancer.end()
        self._set(f"passed at {now.isoformat(timespec='seconds')}", pipelines)

    def _count(self, pipeline: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.promotion_passes.labels(pipeline, result).inc()

    def _set(self, state: str, pipelines: list[dict[str, Any]]) -> None:
        with self._lock:
            self._view = {"state": state, "pipelines": pipelines}


def _owner_key(loaded: LoadedPipeline, snap: Snapshot) -> str | None:
    """The endpoint key whose shard decides which replica drives the pipeline: the first (by
    key) of the pipeline's first stage that has endpoints."""
    pipeline = loaded.pipeline
    manifests = list(snap.entries.values())
    key_of = {id(entry): key for key, entry in snap.entries.items()}
    for stage in pipeline.spec.stages:
        keys = sorted(key_of[id(e)] for e in stage_endpoints(pipeline, stage, manifests))
        if keys:
            return keys[0]
    return None
