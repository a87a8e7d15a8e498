"""One reconcile step per endpoint: load -> plan (resolve, observe, diff) -> apply -> outcome.

Used by the CLI (`plan`, `apply`, `status`) and the service's work queue. A step never waits for
an endpoint to change state; it returns an Outcome saying when to look again. The jobs are split:
`observing` reads live state (with its caches), `planning` resolves and diffs, and this module
applies a plan and turns the result into one of the three outcomes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from controller.aws.alarms import AlarmWriter
from controller.aws.applying import apply_endpoint
from controller.aws.clients import Clients
from controller.aws.registry import Registry
from controller.core import livestate, pruning
from controller.core.kinds import AUTOSCALING, CLOUDWATCH, kind_of
from controller.core.outcomes import Outcome, OutcomeKind
from controller.core.plans import EndpointPlan, Health, Op, Plan, Status
from controller.core.snapshots import Snapshot, split_key
from controller.errors import AccountMismatch, Conflict, ControllerError, Throttled
from controller.manifests.loading import ParseCache, load_manifests
from controller.reconcile.freshness import STALE_INDEX_OK
from controller.reconcile.observing import ObserveOptions, Observer
from controller.reconcile.planning import Planner, PlanOptions

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReconcileOptions:
    controller_id: str = "default"
    prune: bool = False
    recreate_failed: bool = False
    keep_history: int = 2  # superseded EndpointConfigs kept for rollback, besides the live one
    requeue_seconds: float = 15.0  # how soon to look again at an endpoint that is changing
    concurrency: int = 8  # endpoints read at once while planning
    index_ttl: float = 60.0  # seconds the owned-resource index is reused between passes
    # Passes reuse settled endpoints' descriptions when ListEndpoints shows them unchanged; at
    # this interval a pass describes every endpoint anyway (the backstop).
    full_describe_interval: float = 3600.0
    # Safety (issue 8): the manifest tree this run speaks for (written as the scope tag; prune
    # deletes only endpoints of this scope), the deletion guards, extra regions scanned for
    # prune, and how old a superseded config/model must be before GC may delete it.
    scope: str | None = None
    guards: pruning.PruneGuards = field(default_factory=pruning.PruneGuards)
    prune_regions: tuple[str, ...] = ()
    gc_min_age: float = 60.0


class Reconciler:
    """Plans and applies endpoints; thread-safe, so the service runs several at once."""

    def __init__(self, clients: Clients, options: ReconcileOptions | None = None) -> None:
        self.clients = clients
        self.options = options or ReconcileOptions()
        o = self.options
        self.registry = Registry()
        self.observer = Observer(
            clients,
            ObserveOptions(o.controller_id, o.keep_history, o.index_ttl, gc_min_age=o.gc_min_age),
        )
        self.planner = Planner(
            clients,
            self.observer,
            self.registry,
            PlanOptions(
                o.controller_id,
                o.prune,
                o.recreate_failed,
                o.concurrency,
                scope=o.scope,
                guards=o.guards,
                prune_regions=o.prune_regions,
            ),
        )
        self._parse_cache = ParseCache()
        self._last_full_describe = time.monotonic()
        # Manifest fingerprint last reconciled per key: a new one marks an edit.
        self._fingerprints: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def load(
        self, root: Path, revision: str | None = None, *, changed: frozenset[str] | None = None
    ) -> Snapshot:
        result = load_manifests(
            [root], root=root if root.is_dir() else None, cache=self._parse_cache, changed=changed
        )
        snapshot = Snapshot.build(result, revision, self._default_region)
        self.planner.prune.remember(snapshot)  # safety hook: its regions are scanned for prune
        # How large each region's owned index will be decides how it is read (one query or three).
        self.observer.expect_endpoints(Counter(split_key(k)[0] for k in snapshot.entries))
        self.clients.set_targets(snapshot.targets)
        return snapshot

    def _default_region(self) -> str:
        return self.clients.default_region

    def begin_pass(self) -> None:
        """Forget registry listings and the owned index, so a new pass sees fresh state."""
        self.registry.new_pass()
        self.observer.forget_index()
        self.planner.prune.forget_decision()
        if time.monotonic() - self._last_full_describe >= self.options.full_describe_interval:
            self._last_full_describe = time.monotonic()
            self.observer.forget_endpoints()

    def inventory(self, region: str) -> livestate.Inventory:
        return self.observer.inventory(region)

    def owned_keys(self, regions: set[str] | None = None) -> set[str]:
        """Keys of every endpoint this controller owns resources for in this run's scope.

        Safety hook: scanned are the given regions plus every region the scope may have
        resources in (default region, `prune_regions`, every region a snapshot named).
        """
        owned = self.planner.prune.owned(regions or set(), self._default_region())
        return {o.key for o in owned if o.scope == self.options.scope}

    def prune_decision(self, snapshot: Snapshot) -> pruning.PruneDecision:
        """Safety hook: the removed endpoints of this scope and the guards' verdict on them."""
        return self.planner.prune.decision(snapshot, self._default_region())

    def scanned_regions(self) -> list[str]:
        return self.planner.prune.scanned_regions(self._default_region())

    def plan(self, snapshot: Snapshot) -> Plan:
        """The whole plan: every manifest endpoint plus owned endpoints whose manifest is gone."""
        self.begin_pass()
        default = "" if snapshot.regions() else self._default_region()
        return self.planner.plan(snapshot, default)

    def plan_endpoint(self, snapshot: Snapshot, key: str, *, annotate: bool = True) -> EndpointPlan:
        return self.planner.plan_endpoint(snapshot, key, annotate=annotate)

    def reconcile(self, snapshot: Snapshot, key: str, *, apply: bool = True) -> Outcome:
        """Plan one endpoint and, when allowed, apply it. Never waits for a state change."""
        _, name = split_key(key)
        fingerprint = snapshot.fingerprint(key)
        with self._lock:
            edited = self._fingerprints.get(key) != fingerprint
            self._fingerprints[key] = fingerprint
        token = STALE_INDEX_OK.set(edited)
        try:
            # Every log line made while reconciling (apply's too) names endpoint and revision.
            with structlog.contextvars.bound_contextvars(endpoint=name, revision=snapshot.revision):
                return self._reconcile(snapshot, key, apply)
        finally:
            STALE_INDEX_OK.reset(token)

    def _reconcile(self, snapshot: Snapshot, key: str, apply: bool) -> Outcome:
        region, name = split_key(key)
        # Notes are for people reading a plan; apply and the service do not show them.
        plan = self.plan_endpoint(snapshot, key, annotate=False)
        if plan.actions or plan.status is Status.ERROR:
            # Whatever happens next changes the endpoint or needs a closer look: describe it
            # next time instead of trusting a listing.
            self.observer.forget_endpoint(region, name)
        if plan.status is Status.ERROR:
            transient = plan.error_reason == "ReadFailed"
            kind = OutcomeKind.TRANSIENT if transient else OutcomeKind.TERMINAL
            reason = plan.error_reason or "InvalidSpec"
            return Outcome(name, kind, "; ".join(plan.errors), plan=plan, reason=reason)
        if not plan.actions:
            return self._settled(name, plan)
        if plan.held or not apply:
            return self._held(name, plan, apply)
        try:
            # Apply's own retry waits stop at the command's deadline too.
            client, inventory = self.clients.sagemaker(region), self.inventory(region)
            applied = apply_endpoint(
                client,
                plan,
                inventory,
                sleep=self.clients.deadline.sleep,
                services=self._services(region),
            )
        except (Throttled, Conflict) as e:
            log.warning("apply deferred", error=str(e))
            return Outcome(name, OutcomeKind.TRANSIENT, str(e), plan=plan, reason="Retrying")
        except AccountMismatch as e:  # retrying cannot help: the target or its role is wrong
            log.error("apply refused", error=str(e))
            return Outcome(name, OutcomeKind.TERMINAL, str(e), plan=plan, reason="AccountMismatch")
        except ControllerError as e:
            log.error("apply failed", error=str(e))
            return Outcome(name, OutcomeKind.TRANSIENT, str(e), plan=plan, reason="ApplyFailed")
        self.observer.forget_deleted(region, plan)
        scaled = tuple(a for a in plan.actions if kind_of(a.type).service != "sagemaker")
        if scaled:
            self.observer.scaling.remember(region, scaled)
        changes = tuple((c.type.value, c.name, c.result) for c in applied)
        mutated = any(result != "unchanged" for _, _, result in changes)
        if all(a.op is Op.TAG for a in plan.actions):
            return Outcome(
                name,
                OutcomeKind.CONVERGED,
                "tags updated",
                plan=plan,
                mutated=mutated,
                reason="Synced",
                changes=changes,
            )
        return Outcome(
            name,
            OutcomeKind.REQUEUE,
            _summary(plan),
            self.options.requeue_seconds,
            plan,
            mutated=mutated,
            reason="Progressing",
            changes=changes,
        )

    def _services(self, region: str) -> dict[str, Any]:
        """Clients for the kinds outside SageMaker (the kind table's `service`)."""
        autoscaling = self.clients.client(AUTOSCALING, region)
        alarms = AlarmWriter(self.clients.client(CLOUDWATCH, region), autoscaling)
        return {AUTOSCALING: autoscaling, CLOUDWATCH: alarms}

    def _settled(self, name: str, plan: EndpointPlan) -> Outcome:
        if plan.held and plan.manifest is None:  # safety hook: a delete held back by a guard
            return Outcome(name, OutcomeKind.CONVERGED, plan.held, plan=plan, reason="HeldBack")
        if plan.health is Health.PROGRESSING:
            return Outcome(
                name,
                OutcomeKind.REQUEUE,
                "endpoint is changing",
                self.options.requeue_seconds,
                plan,
                reason="Progressing",
            )
        return Outcome(name, OutcomeKind.CONVERGED, "in sync", plan=plan, reason="Synced")

    def _held(self, name: str, plan: EndpointPlan, apply: bool) -> Outcome:
        if plan.held and "InService" in plan.held:
            return Outcome(
                name,
                OutcomeKind.REQUEUE,
                plan.held,
                self.options.requeue_seconds,
                plan,
                reason="Waiting",
            )
        why = plan.held or "not applied (report only)"
        return Outcome(
            name,
            OutcomeKind.CONVERGED,
            why,
            plan=plan,
            reason="Suspended" if plan.held else "ReportOnly",
        )


def _summary(plan: EndpointPlan) -> str:
    return ", ".join(f"{a.op.value} {a.type.value} {a.name}" for a in plan.actions)
