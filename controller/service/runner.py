"""The `run` service: a level-triggered loop that keeps the account following the manifests.

A control thread turns triggers (file watch, git poll, webhook, periodic resync, leadership) into
snapshot loads and enqueues only the endpoints whose manifest fingerprint changed, plus removed
ones when the snapshot is complete, plus every endpoint on a periodic resync (drift, registry).
Worker threads reconcile one endpoint at a time each and never wait for AWS: the Outcome says when
to look again (REQUEUE), to back off (TRANSIENT), or to wait for new input (TERMINAL).
`commands/run.py` builds one from the CLI flags; tests build one around a fake reconciler and may
drive it step by step (`reload`, `queue`, `process`) without starting any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic

import structlog

from controller.core.outcomes import Outcome
from controller.core.plans import EndpointPlan
from controller.service.backoff import Backoff
from controller.service.httpserver import HttpServer
from controller.service.locationqueues import LocationPools, LocationQueues
from controller.service.metrics import Metrics
from controller.service.notifications.delivery import Notifier
from controller.service.ports import (
    Elector,
    ElectorFactory,
    Reconciler,
    Snapshot,
    SnapshotT,
    Source,
)
from controller.service.statuses import ServiceState
from controller.service.stepping import Stepper
from controller.service.watching import Change, Watcher
from controller.service.windows import WindowPolicy

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunnerConfig:
    """How the service behaves; `commands/run.py` fills it from flags."""

    manifests: Path | None = None  # local directory mode (watched); else a Source is given
    resync_interval: float = 300.0
    poll_interval: float = 60.0  # git source only
    concurrency: int = 8
    shutdown_timeout: float = 30.0
    http_host: str = "127.0.0.1"
    http_port: int | None = 8080  # None: no HTTP server (0: any free port)
    webhook_secret: bytes | None = None
    default_requeue: float = 15.0  # REQUEUE without requeue_after
    max_requeue: float = 600.0
    window_recheck: float = 3600.0  # longest wait for a deploy window before looking again
    stall_after: float = 600.0  # /healthz fails when the control loop is stuck this long
    watch_quiet: float = 0.2
    watch_max_delay: float = 2.0
    watch_settle: float = 0.05  # a burst whose every written file was closed ends this early


class Runner(Generic[SnapshotT]):
    """Owns the queue, workers, control loop, watcher, HTTP server and leader elector."""

    def __init__(
        self,
        reconciler: Reconciler[SnapshotT],
        config: RunnerConfig,
        *,
        source: Source | None = None,
        windows: WindowPolicy | None = None,
        elector_factory: ElectorFactory | None = None,
        leader_check: Callable[[], bool] | None = None,
        metrics: Metrics | None = None,
        backoff: Backoff | None = None,
        revision_of: Callable[[Path], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifier: Notifier | None = None,
        render_plan: Callable[[EndpointPlan], str] | None = None,
    ) -> None:
        if (source is None) == (config.manifests is None):
            raise ValueError("give exactly one of config.manifests and source")
        self.config = config
        self.metrics = metrics or Metrics()
        self._reconciler = reconciler
        self._source = source
        # Directory mode: the revision of the tree (git HEAD when it is a checkout), if known.
        self._revision_of = revision_of
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._notifier = notifier
        # The status page's plan text; service cannot import rendering (a sibling layer).
        self._render_plan = render_plan
        self._state: ServiceState[SnapshotT] = ServiceState(
            root=config.manifests, leading=elector_factory is None
        )
        # A queue and a pool per location: a throttled target never holds another's workers.
        self.queue = LocationQueues(clock, observer=self.metrics)
        self._stepper = Stepper(
            reconciler,
            self._state,
            self.queue,
            config=config,
            backoff=self._backoff,
            windows=windows or WindowPolicy(),
            metrics=self.metrics,
            leader_check=leader_check or _always,
            clock=clock,
            now=now,
            notify=notifier.submit if notifier is not None else None,
        )
        self._pool = LocationPools(self.queue, self.process, config.concurrency, reserved=1)
        self._wake = threading.Condition()
        self._requests: set[str] = set()
        # Directory mode: files the watcher saw change since the last load; None: walk the tree.
        self._changed: set[str] | None = None
        self._stopping = threading.Event()
        self._heartbeat = time.monotonic()
        self._next_resync = clock() + config.resync_interval
        self._next_poll = clock() + config.poll_interval
        self._scanner: threading.Thread | None = None  # a resync's owned-endpoint listing
        self._taken: frozenset[str] | None = None  # `_changed` as the current reload took it
        self._thread = threading.Thread(target=self._loop, name="control-loop", daemon=True)
        self._watcher: Watcher | None = None
        self._http: HttpServer | None = None
        self._elector: Elector | None = None
        if elector_factory is not None:  # built now, campaigns from start()
            self._elector = elector_factory(self._started_leading, self._stopped_leading)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind HTTP, start workers, the watcher, the control loop and leader election."""
        self.metrics.track_queue(self.queue.__len__)
        self.metrics.held_back_deletes.set_function(lambda: float(len(self.held_back())))
        self.metrics.leader.set(1 if self._state.leading else 0)
        if self.config.http_port is not None:
            self._http = HttpServer(
                self,
                host=self.config.http_host,
                port=self.config.http_port,
                webhook_secret=self.config.webhook_secret,
            )
            self._http.start()
        if self._notifier is not None:
            self._notifier.start()
        self._pool.start()
        if self.config.manifests is not None:
            self._watcher = Watcher(
                self.config.manifests,
                self._watched,
                quiet=self.config.watch_quiet,
                max_delay=self.config.watch_max_delay,
                settle=self.config.watch_settle,
            )
            self._watcher.start()
        self._request("fetch" if self._source is not None else "reload")
        self._thread.start()
        if self._elector is not None:
            self._elector.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking work, let in-flight reconciles finish within the bound, release the lease.

        True when every in-flight reconcile finished in time.
        """
        bound = self.config.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._watcher is not None:
            self._watcher.stop()
        clean = self._pool.stop(max(0.0, deadline - time.monotonic()))
        if self._elector is not None:
            self._release_lease(clean, deadline)
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._http is not None:
            self._http.stop()
        if self._notifier is not None:
            self._notifier.stop(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        log.info("stopped", clean=clean, in_flight=sorted(self.queue.in_progress()))
        return clean

    def _release_lease(self, clean: bool, deadline: float) -> None:
        """Hand over leadership only once no apply is in flight, so two leaders never overlap."""
        assert self._elector is not None
        if clean:
            self._elector.stop(timeout=max(0.5, deadline - time.monotonic()))
            return
        # A call still in flight may yet reach SageMaker: let the lease run out instead of
        # releasing it, which gives that call the lease duration to land before a successor acts.
        self._stopped_leading()
        log.warning("lease left to expire: reconciles were still in flight at shutdown")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready()[0]:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    @property
    def http_port(self) -> int | None:
        return self._http.port if self._http is not None else None

    # -- control loop --------------------------------------------------------------------------

    def _request(self, what: str) -> None:
        with self._wake:
            if what == "reload":  # not the watcher's (a webhook, the first load): walk all
                self._changed = None
            self._requests.add(what)
            self._wake.notify_all()

    def _watched(self, change: Change) -> None:
        """The watcher's burst: reload, reading only the files it names when it can name them."""
        with self._wake:
            if change.everything:
                self._changed = None
            elif self._changed is not None:
                self._changed |= change.paths
            self._requests.add("reload")
            self._wake.notify_all()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            requests = self._next_requests()
            if self._stopping.is_set():
                return
            try:
                self._handle(requests)
            except Exception:  # the loop must outlive any one bad trigger
                log.exception("control loop step failed", requests=sorted(requests))

    def _next_requests(self) -> set[str]:
        """Block until a trigger or a timer is due; the loop beats at least once a second."""
        with self._wake:
            while not self._stopping.is_set():
                self._heartbeat = time.monotonic()
                self._requests |= self._due_timers()
                if self._requests:
                    break
                self._wake.wait(1.0)
            requests, self._requests = self._requests, set()
            if "reload" in requests:
                changed, self._changed = self._changed, set()
                self._taken = None if changed is None else frozenset(changed)
            return requests

    def _due_timers(self) -> set[str]:
        now, due = self._clock(), set()
        if now >= self._next_resync:
            self._next_resync = now + self.config.resync_interval
            due.add("resync")
        if self._source is not None and now >= self._next_poll:
            due.add("fetch")
        return due

    def _handle(self, requests: set[str]) -> None:
        if "fetch" in requests and self._fetch():
            requests.add("reload")
        if "resync" in requests or "reload" in requests:
            full = "resync" in requests
            changed = None if full or "fetch" in requests else self._taken
            self.reload(full=full, changed=changed, scan_aside=True)

    def _fetch(self) -> bool:
        """Sync the git source; True when there is a revision to load that was not loaded."""
        assert self._source is not None
        try:
            checkout = self._source.sync()
        except Exception as e:  # GitError and friends: keep serving the last good revision
            delay = min(self.config.poll_interval, self._backoff.next_delay("\0git"))
            self._next_poll = self._clock() + delay
            log.warning("git sync failed", error=str(e), retry_in=round(delay, 1))
            with self._state.lock:
                self._state.problem = f"git sync failed: {e}"
            return False
        self._backoff.reset("\0git")
        self._next_poll = self._clock() + self.config.poll_interval
        with self._state.lock:
            first = self._state.snapshot is None
            self._state.root, self._state.revision = checkout.root, checkout.revision
        return checkout.changed or first

    # -- loading and enqueueing ----------------------------------------------------------------

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
            with self._wake:  # the files named here were not taken in: walk next time
                self._changed = None
            with self._state.lock:
                self._state.problem = f"loading manifests failed: {e}"
            return set()
        keys = frozenset(snap.keys())
        with self._state.lock:
            old, leading = self._state.snapshot, self._state.leading
            self._state.snapshot, self._state.keys, self._state.problem = snap, keys, None
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
        selected = self._select(old, snap, keys, full, scan_aside)
        with self._state.lock:
            if self._state.initial is None:
                self._state.initial = set(selected)
        edited = _edited(old, snap, keys)
        for key in sorted(selected):
            # Edits go ahead of the resync sweep: a changed manifest never waits for the fleet.
            self.queue.add(key, urgent=key in edited)
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
        self.metrics.set_revision(snap.revision)
        self.metrics.manifest_errors.set(len(snap.diagnostics))
        for diagnostic in snap.diagnostics:
            log.warning("manifest problem", revision=snap.revision, problem=str(diagnostic))

    def _select(
        self, old: SnapshotT | None, new: SnapshotT, keys: frozenset[str], full: bool, aside: bool
    ) -> set[str]:
        """Keys to enqueue for a new snapshot; removals only when the snapshot is complete."""
        changed = _edited(old, new, keys)
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
        return self._backoff.failures(key) > 0 and self.queue.scheduled(key) is not None

    def _removed(
        self, old: SnapshotT | None, keys: frozenset[str], full: bool, aside: bool
    ) -> set[str]:
        gone = set(old.keys()) - keys if old is not None else set()
        if aside and (full or old is None):  # the first load too: no location waits for it
            self._scan_aside(first=old is None)
        elif full or old is None or not old.ok:
            # Ask AWS only when the last complete view is unknown; edits diff snapshots instead.
            try:
                gone |= self._reconciler.owned_keys() - keys
            except Exception as e:
                log.warning("listing owned endpoints failed", error=str(e))
        return gone

    def _scan_aside(self, first: bool = False) -> None:
        """List owned endpoints on a thread; enqueue those the newest snapshot lacks.

        On the first load too: the listing reads every location's index, and a throttled
        target's must not hold back another's endpoints. What it finds then joins the initial
        sync, unless that is already done (prune work after ready, not a readiness flap)."""
        if self._scanner is not None and self._scanner.is_alive():
            return  # the running scan compares with the newest snapshot when it ends

        def scan() -> None:
            try:
                owned = self._reconciler.owned_keys()
            except Exception as e:
                log.warning("listing owned endpoints failed", error=str(e))
                return
            with self._state.lock:
                snap = self._state.snapshot
                if snap is None or not snap.ok or self._stopping.is_set():
                    return  # never read a broken file as a removed endpoint
                gone = owned - set(snap.keys())
                if first and self._state.initial:
                    self._state.initial |= gone
            for key in sorted(gone):
                self.queue.add(key)

        self._scanner = threading.Thread(target=scan, name="removal-scan", daemon=True)
        self._scanner.start()

    def process(self, key: str) -> Outcome | None:
        """Reconcile `key` once and schedule its next look; workers call this, tests too."""
        return self._stepper.process(key)

    # -- leadership (called on the elector's threads: must return quickly) ---------------------

    def _started_leading(self) -> None:
        with self._state.lock:
            self._state.leading = True
        self.metrics.leader.set(1)
        log.info("started leading")
        self._request("resync")

    def _stopped_leading(self) -> None:
        with self._state.lock:
            self._state.leading = False
        self.metrics.leader.set(0)
        log.info("stopped leading: no further changes are applied")

    # -- httpserver.Control --------------------------------------------------------------------

    def alive(self) -> bool:
        if not self._thread.is_alive() or not self._pool.alive():
            return False
        return time.monotonic() - self._heartbeat < self.config.stall_after

    def ready(self) -> tuple[bool, str]:
        with self._state.lock:
            s = self._state
            if s.snapshot is None:
                return False, s.problem or "manifests not loaded yet"
            if not s.leading:
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
                "queue": {"ready": len(self.queue), "pending": self.queue.pending()},
                "endpoints": [e.as_json() for e in endpoints],
                "held_back_deletes": self.held_back(),
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

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def suspend(self) -> None:
        with self._state.lock:
            self._state.suspended = True
        self.metrics.suspended.set(1)
        log.info("suspended: changes are reported, not applied")

    def resume(self) -> None:
        with self._state.lock:
            self._state.suspended = False
        self.metrics.suspended.set(0)
        log.info("resumed")
        self._request("resync")

    def trigger_fetch(self) -> None:
        self._request("fetch" if self._source is not None else "reload")


def _always() -> bool:
    return True


def _edited(old: Snapshot | None, new: Snapshot, keys: frozenset[str]) -> set[str]:
    """Keys whose manifest is new or changed since the last snapshot (all, on the first)."""
    if old is None:
        return set(keys)
    return {k for k in keys if old.fingerprint(k) != new.fingerprint(k)}
