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

from controller.core.plan.outcomes import Outcome
from controller.core.plan.plans import EndpointPlan
from controller.service.backoff import Backoff
from controller.service.companions import Companions
from controller.service.inputs.reloading import Reloader
from controller.service.inputs.triggers import Triggers
from controller.service.inputs.watching import Watcher
from controller.service.leadership import Leadership
from controller.service.locationqueues import LocationPools, LocationQueues, queue_of
from controller.service.metrics import Metrics
from controller.service.notifications.delivery import Notifier
from controller.service.ports import (
    ElectorFactory,
    Reconciler,
    ShardElectorFactory,
    SnapshotT,
    Source,
)
from controller.service.status.reporting import Reporter
from controller.service.status.statuses import ServiceState
from controller.service.stepping import Stepper
from controller.service.web.server import HttpServer
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
    control_token: bytes | None = None  # POST /suspend and /resume need it as a bearer token
    default_requeue: float = 15.0  # REQUEUE without requeue_after
    max_requeue: float = 600.0
    window_recheck: float = 3600.0  # longest wait for a deploy window before looking again
    stall_after: float = 600.0  # /healthz fails when the control loop is stuck this long
    watch_quiet: float = 0.2
    watch_max_delay: float = 2.0
    watch_settle: float = 0.05  # a burst whose every written file was closed ends this early


class Runner(Generic[SnapshotT]):
    """Owns the threads of `run`: workers, control loop, watcher, HTTP server, leader elector.

    The jobs are split: `triggers` says when the loop wakes and which files changed,
    `reloading` fetches, loads and chooses what to enqueue, `stepping` reconciles one key,
    `reporting` answers what the HTTP server asks. This class wires them and runs the loop.
    """

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
        shard_factory: ShardElectorFactory | None = None,
    ) -> None:
        if (source is None) == (config.manifests is None):
            raise ValueError("give exactly one of config.manifests and source")
        self.config = config
        self.metrics = metrics or Metrics()
        self._source = source
        backoff = backoff or Backoff()
        self._notifier = notifier
        # A queue and a pool per location: a throttled target never holds another's workers.
        self.queue = LocationQueues(clock, observer=self.metrics)
        self.leadership = Leadership(
            self.queue,
            self.metrics,
            set_leading=self._set_leading,
            resync=lambda: self._triggers.request("resync"),
            forget=self._forget_shards,
            elector_factory=elector_factory,
            shard_factory=shard_factory,
        )
        ownership = self.leadership.ownership
        self._state: ServiceState[SnapshotT] = ServiceState(
            root=config.manifests, leading=self.leadership.alone
        )
        self._stopping = threading.Event()
        self._triggers = Triggers(
            clock,
            resync_interval=config.resync_interval,
            poll_interval=config.poll_interval,
            polling=source is not None,
        )
        self._reloader = Reloader(
            reconciler,
            self._state,
            self.queue,
            self._triggers,
            backoff=backoff,
            metrics=self.metrics,
            stopping=self._stopping,
            poll_interval=config.poll_interval,
            source=source,
            revision_of=revision_of,
            ownership=ownership,
        )
        self._reporter = Reporter(
            self._state,
            self.queue,
            self.metrics,
            on_resume=lambda: self._triggers.request("resync"),
            render_plan=render_plan,
            shards=self.leadership.shard_view,
        )
        self._stepper = Stepper(
            reconciler,
            self._state,
            self.queue,
            config=config,
            backoff=backoff,
            windows=windows or WindowPolicy(),
            metrics=self.metrics,
            leader_check=leader_check or _always,
            owns=ownership.owns,
            clock=clock,
            now=now,
            notify=notifier.submit if notifier is not None else None,
        )
        self._pool = LocationPools(self.queue, self.process, config.concurrency, reserved=1)
        self._thread = threading.Thread(target=self._loop, name="control-loop", daemon=True)
        self._watcher: Watcher | None = None
        self._http: HttpServer | None = None
        self.companions = Companions()  # `run --promote`: they read `state`

    @property
    def state(self) -> ServiceState[SnapshotT]:
        return self._state

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
                control_token=self.config.control_token,
                observe_refused=self.metrics.observe_http_refused,
            )
            self._http.start()
        if self._notifier is not None:
            self._notifier.start()
        self._pool.start()
        if self.config.manifests is not None:
            self._watcher = Watcher(
                self.config.manifests,
                self._triggers.watched,
                quiet=self.config.watch_quiet,
                max_delay=self.config.watch_max_delay,
                settle=self.config.watch_settle,
            )
            self._watcher.start()
        self._triggers.request("fetch" if self._source is not None else "reload")
        self._thread.start()
        self.leadership.start()
        self.companions.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking work, let in-flight reconciles finish within the bound, release the lease.

        True when every in-flight reconcile finished in time.
        """
        bound = self.config.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound
        self._stopping.set()
        self._triggers.wake()
        self.companions.stop(max(0.1, min(5.0, deadline - time.monotonic())))
        if self._watcher is not None:
            self._watcher.stop()
        clean = self._pool.stop(max(0.0, deadline - time.monotonic()))
        self.leadership.stop(clean, deadline)
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._http is not None:
            self._http.stop()
        if self._notifier is not None:
            self._notifier.stop(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        log.info("stopped", clean=clean, in_flight=sorted(self.queue.in_progress()))
        return clean

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

    def _loop(self) -> None:
        while not self._stopping.is_set():
            requests = self._triggers.next_batch(self._stopping)
            if self._stopping.is_set():
                return
            try:
                self._handle(requests)
            except Exception:  # the loop must outlive any one bad trigger
                log.exception("control loop step failed", requests=sorted(requests))

    def _handle(self, requests: set[str]) -> None:
        if "fetch" in requests and self._reloader.fetch():
            requests.add("reload")
        if "resync" in requests or "reload" in requests:
            full = "resync" in requests
            changed = None if full or "fetch" in requests else self._triggers.taken
            self.reload(full=full, changed=changed, scan_aside=True)

    def reload(
        self, *, full: bool, changed: frozenset[str] | None = None, scan_aside: bool = False
    ) -> set[str]:
        """Load the manifests now and enqueue what changed (see `Reloader.reload`)."""
        return self._reloader.reload(full=full, changed=changed, scan_aside=scan_aside)

    @property
    def _scanner(self) -> threading.Thread | None:
        """The resync's owned-endpoint listing thread, if one ran (tests wait for it)."""
        return self._reloader.scanner

    def process(self, key: str) -> Outcome | None:
        """Reconcile `key` once and schedule its next look; workers call this, tests too."""
        return self._stepper.process(key)

    def _forget_shards(self, shards: frozenset[str]) -> None:
        """Shards handed over or lapsed: their endpoints leave this replica's /status."""
        with self._state.lock:
            gone = [k for k in self._state.statuses if queue_of(k) in shards]
            for key in gone:
                del self._state.statuses[key]
        for key in gone:
            self.metrics.forget(key)

    def _set_leading(self, value: bool) -> None:
        """Leadership's callback (on an elector thread): a lease, or at least one shard, held."""
        with self._state.lock:
            self._state.leading = value

    # -- httpserver.Control --------------------------------------------------------------------

    def alive(self) -> bool:
        if not self._thread.is_alive() or not self._pool.alive():
            return False
        return time.monotonic() - self._triggers.heartbeat < self.config.stall_after

    def ready(self) -> tuple[bool, str]:
        return self._reporter.ready()

    def status(self) -> dict[str, Any]:
        return self.companions.status(self._reporter.status())

    def held_back(self) -> list[dict[str, str]]:
        return self._reporter.held_back()

    def plan_text(self, key: str) -> str | None:
        return self._reporter.plan_text(key)

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def suspend(self) -> None:
        self._reporter.suspend()

    def resume(self) -> None:
        self._reporter.resume()

    def trigger_fetch(self) -> None:
        self._triggers.request("fetch" if self._source is not None else "reload")


def _always() -> bool:
    return True
