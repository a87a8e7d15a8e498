"""Prometheus metrics of the `run` service, on a registry of their own.

A private CollectorRegistry (not prometheus-client's global one) lets tests build as many runners
as they like without "duplicated timeseries" errors, and keeps /metrics to what we define. The
runner records reconciles and states; `observe_api_call` is appended to `Clients.observers` so
every AWS call is counted where it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "sagemaker_gitops"
CONTENT_TYPE = CONTENT_TYPE_LATEST
SYNC_STATES = ("Synced", "OutOfSync", "Progressing", "Failed", "Suspended", "Unknown")
# Endpoints take minutes to change; reconcile steps are API round trips, seconds at most.
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Every metric the service exports; one instance per runner."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reconciles = Counter(
            f"{PREFIX}_reconcile", "Reconcile steps by outcome.", ["outcome"], registry=r
        )
        self.reconcile_duration = Histogram(
            f"{PREFIX}_reconcile_duration_seconds",
            "Time one reconcile step took.",
            ["outcome"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            f"{PREFIX}_reconcile_errors",
            "Failed reconcile steps by kind (Transient, Terminal) and reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.endpoints = Gauge(
            f"{PREFIX}_endpoints", "Endpoints by sync state.", ["state"], registry=r
        )
        self.api_calls = Counter(
            f"{PREFIX}_aws_api_calls",
            "AWS API calls by service, operation and outcome (sent: counted as issued).",
            ["service", "operation", "outcome"],
            registry=r,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth", "Endpoints ready to be reconciled now.", registry=r
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_successful_sync_timestamp_seconds",
            "When every endpoint was last Synced or Suspended (Unix time).",
            registry=r,
        )
        self.revision = Info(f"{PREFIX}_revision", "The manifest revision in use.", registry=r)
        self.leader = Gauge(f"{PREFIX}_leader", "1 while this replica leads.", registry=r)
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

    def observe_api_call(self, service: str, operation: str) -> None:
        """`Clients.observers` hook: told of each call before it is sent."""
        self.api_calls.labels(service, operation, "sent").inc()

    def observe_reconcile(self, outcome: str, reason: str, seconds: float, failed: bool) -> None:
        self.reconciles.labels(outcome).inc()
        self.reconcile_duration.labels(outcome).observe(seconds)
        if failed:
            self.errors.labels(outcome, reason or "Unknown").inc()

    def set_states(self, states: Iterable[str]) -> None:
        counts = dict.fromkeys(SYNC_STATES, 0)
        for state in states:
            counts[state] = counts.get(state, 0) + 1
        for state, count in counts.items():
            self.endpoints.labels(state).set(count)

    def set_revision(self, revision: str | None) -> None:
        self.revision.info({"revision": revision or ""})

    def track_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
