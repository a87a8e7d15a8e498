"""Prometheus metrics of the `run` service, on a registry of their own.

Names follow controller-runtime's, so the dashboards and alerts people already have for
Kubernetes controllers work here: `<prefix>_reconcile_total{result}`,
`<prefix>_reconcile_errors_total`, `<prefix>_reconcile_time_seconds` and client-go's
`workqueue_*` family (with `name="endpoints"`). AWS calls are counted after the controller's retries
with an outcome of success, throttled or error; the retries themselves by error code.

Everything counted per endpoint or per location carries `target` (the Target manifest's name, or
"default" without one) and `region` (the AWS region): the same endpoint name in two accounts or
regions stays two series, and dashboards split by account. Both are bounded by the manifests'
targets and regions; account IDs and role ARNs are never labels. Gauges of endpoints that are
gone lose their series (`forget`, `set_states`); counters keep theirs, as counters do.

A private CollectorRegistry (not prometheus-client's global one) lets tests build as many runners
as they like without "duplicated timeseries" errors, and keeps /metrics to what we define.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from controller.core.plan.plans import ComponentRow
from controller.service.status.locations import Location

PREFIX = "sagemaker_gitops"
CONTROLLER = "endpoint"  # controller-runtime's `controller` label
QUEUE = "endpoints"  # client-go's workqueue `name` label
# Labels naming where an endpoint lives (locations.Location); project is "" without projects.
LOCATION = ["target", "region", "project"]
CONTENT_TYPE = CONTENT_TYPE_LATEST
SYNC_STATES = ("Synced", "OutOfSync", "Progressing", "Failed", "Suspended", "Unknown")
# controller-runtime's `result` label values, by Outcome kind.
RESULTS = {
    "Converged": "success",
    "Requeue": "requeue_after",
    "Transient": "error",
    "Terminal": "error",
}
# Endpoints take minutes to change; reconcile steps are API round trips, seconds at most.
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Queue waits include requeue delays of minutes (client-go uses 1e-8 .. 10 s; ours are longer).
_QUEUE_BUCKETS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 300.0, 900.0)


class Metrics:
    """Every metric the service exports; one instance per runner."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._reconcile_metrics()
        self._queue_metrics()
        self._service_metrics()

    def _reconcile_metrics(self) -> None:
        r = self.registry
        self.reconciles = Counter(
            f"{PREFIX}_reconcile",
            "Reconciles by result (success, requeue_after, error) and location.",
            ["controller", "result", *LOCATION],
            registry=r,
        )
        self.reconcile_time = Histogram(
            f"{PREFIX}_reconcile_time_seconds",
            "Time one reconcile took.",
            ["controller"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            f"{PREFIX}_reconcile_errors",
            "Failed reconciles by kind (Transient, Terminal), reason and location.",
            ["controller", "kind", "reason", *LOCATION],
            registry=r,
        )
        self.api_calls = Counter(
            f"{PREFIX}_aws_api_calls",
            "AWS API calls (after the controller's retries) by service, operation and outcome "
            "(success, throttled, error).",
            ["service", "operation", "outcome"],
            registry=r,
        )
        self.api_retries = Counter(
            f"{PREFIX}_aws_api_retries",
            "AWS API attempts repeated by the controller's retry policy, by service, operation "
            "and error code (ThrottlingException, InternalFailure, ConnectionClosedError, ...).",
            ["service", "operation", "code"],
            registry=r,
        )

    def _queue_metrics(self) -> None:
        r = self.registry
        self.queue_depth = Gauge(
            "workqueue_depth", "Current depth of workqueue.", ["name"], registry=r
        )
        self.queue_adds = Counter(
            "workqueue_adds", "Total number of adds handled by workqueue.", ["name"], registry=r
        )
        self.queue_retries = Counter(
            "workqueue_retries",
            "Total number of retries (delayed adds) handled by workqueue.",
            ["name"],
            registry=r,
        )
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested.",
            ["name"],
            buckets=_QUEUE_BUCKETS,
            registry=r,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            ["name"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        # Export zeros from the start, as client-go does: a rate() over a series that appears
        # only at its first sample misses that sample.
        for metric in (self.queue_adds, self.queue_retries, self.queue_duration):
            metric.labels(QUEUE)
        self.work_duration.labels(QUEUE)
        self.reconcile_time.labels(CONTROLLER)

    def _service_metrics(self) -> None:
        r = self.registry
        self.endpoints = Gauge(
            f"{PREFIX}_endpoints",
            "Endpoints by sync state and location.",
            ["state", *LOCATION],
            registry=r,
        )
        self._locations: set[Location] = set()  # locations with endpoint samples
        self.last_success = Gauge(
            f"{PREFIX}_last_successful_sync_timestamp_seconds",
            "When every endpoint was last Synced or Suspended (Unix time).",
            registry=r,
        )
        self.revision = Info(f"{PREFIX}_revision", "The manifest revision in use.", registry=r)
        self.leader = Gauge(f"{PREFIX}_leader", "1 while this replica leads.", registry=r)
        self.shards_held = Gauge(
            f"{PREFIX}_shards_held",
            "Shards (targets or regions) this replica holds the lease of, with --shard-by.",
            registry=r,
        )
        self.suspended = Gauge(
            f"{PREFIX}_suspended", "1 while applying is suspended for all endpoints.", registry=r
        )
        self.held_back_deletes = Gauge(
            f"{PREFIX}_held_back_deletes",
            "Endpoints whose manifest is gone but whose delete a prune guard holds back.",
            registry=r,
        )
        self.manifest_errors = Gauge(
            f"{PREFIX}_manifest_diagnostics", "Problems in the last manifest load.", registry=r
        )
        self.component_copies = Gauge(
            f"{PREFIX}_inference_component_copies",
            "Copies of an inference component: desired (DesiredCopyCount) and current.",
            [*LOCATION, "endpoint", "component", "copies"],
            registry=r,
        )
        # endpoint key -> (location, name, components with samples)
        self._components: dict[str, tuple[Location, str, set[str]]] = {}
        self.notifications = Counter(
            f"{PREFIX}_notifications",
            "Notifications by sink and result (delivered, failed, dropped, duplicate).",
            ["sink", "result"],
            registry=r,
        )
        self.stage_events = Counter(
            f"{PREFIX}_stage_events",
            "run --promote: verdicts (verified, failed, inconclusive, error), holds and writes "
            "(promoted, rolledBack) per pipeline stage.",
            ["pipeline", "stage", "event"],
            registry=r,
        )
        self.stage_version = Gauge(
            f"{PREFIX}_stage_version",
            "The model package version each pipeline stage pins (the highest, mid-promotion).",
            ["pipeline", "stage", "group"],
            registry=r,
        )
        self.promotion_passes = Counter(
            f"{PREFIX}_promotion_passes",
            "run --promote passes over a pipeline, by result (ok, error, skipped).",
            ["pipeline", "result"],
            registry=r,
        )
        self.http_refused = Counter(
            f"{PREFIX}_http_refused",
            "HTTP requests refused or cut: cross_site, token, replayed (webhook), evicted "
            "(too many connections), deadline (a request too slow in all).",
            ["reason"],
            registry=r,
        )

    def observe_api_call(self, service: str, operation: str, outcome: str) -> None:
        """`Clients.observers` hook: told of each call once botocore is done with it."""
        self.api_calls.labels(service, operation, outcome).inc()

    def observe_retry(self, service: str, operation: str, code: str) -> None:
        """`Clients.retry_observers` hook: told of each retry before its backoff."""
        self.api_retries.labels(service, operation, code).inc()

    def observe_reconcile(
        self, outcome: str, reason: str, seconds: float, failed: bool, where: Location
    ) -> None:
        at = (where.target, where.region, where.project)
        self.reconciles.labels(CONTROLLER, RESULTS.get(outcome, "error"), *at).inc()
        self.reconcile_time.labels(CONTROLLER).observe(seconds)
        if failed:
            self.errors.labels(CONTROLLER, outcome, reason or "Unknown", *at).inc()

    def observe_notification(self, sink: str, result: str) -> None:
        self.notifications.labels(sink, result).inc()

    def observe_http_refused(self, reason: str) -> None:
        self.http_refused.labels(reason).inc()

    # -- workqueue.QueueObserver ---------------------------------------------------------------

    def queue_added(self, delayed: bool) -> None:
        """Every add (client-go counts deduplicated ones too); delayed adds are also retries."""
        (self.queue_retries if delayed else self.queue_adds).labels(QUEUE).inc()

    def queue_started(self, waited: float) -> None:
        self.queue_duration.labels(QUEUE).observe(max(0.0, waited))

    def queue_finished(self, worked: float) -> None:
        self.work_duration.labels(QUEUE).observe(max(0.0, worked))

    def set_states(self, states: Iterable[tuple[Location, str]]) -> None:
        """Endpoints per location and sync state (every state, zeros too, so a query for one
        state finds a series); a location without endpoints left loses its series."""
        counts: dict[Location, dict[str, int]] = {}
        for where, state in states:
            per = counts.setdefault(where, dict.fromkeys(SYNC_STATES, 0))
            per[state] = per.get(state, 0) + 1
        for where, per in counts.items():
            for state, count in per.items():
                self.endpoints.labels(state, where.target, where.region, where.project).set(count)
        for gone in self._locations - counts.keys():
            for state in SYNC_STATES:
                with suppress(KeyError):
                    self.endpoints.remove(state, gone.target, gone.region, gone.project)
        self._locations = set(counts)

    def set_components(
        self, key: str, where: Location, endpoint: str, rows: Iterable[ComponentRow]
    ) -> None:
        """The copy counts of an endpoint's inference components; components gone since the
        last call lose their samples."""
        seen: set[str] = set()
        if key in self._components and self._components[key][:2] != (where, endpoint):
            self.forget(key)  # the location became known: the old series named it wrongly
        at = (where.target, where.region, where.project, endpoint)
        for row in rows:
            seen.add(row.name)
            for which, value in (("desired", row.desired_copies), ("current", row.current_copies)):
                if value is not None:
                    self.component_copies.labels(*at, row.name, which).set(value)
        self._remove_components(key, seen)
        self._components[key] = (where, endpoint, seen)

    def forget(self, key: str) -> None:
        """The endpoint is gone (pruned, or its manifest removed): drop its per-endpoint series."""
        self._remove_components(key, set())
        self._components.pop(key, None)

    def _remove_components(self, key: str, keep: set[str]) -> None:
        if key not in self._components:
            return
        where, endpoint, had = self._components[key]
        for gone in had - keep:
            for which in ("desired", "current"):
                with suppress(KeyError):  # that sample was never set
                    self.component_copies.remove(
                        where.target, where.region, where.project, endpoint, gone, which
                    )

    def set_revision(self, revision: str | None) -> None:
        self.revision.info({"revision": revision or ""})

    def track_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.labels(QUEUE).set_function(lambda: float(depth()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
