"""One reconcile step per endpoint: load -> plan (resolve, observe, diff) -> apply -> outcome.

Used by the CLI (`plan`, `apply`, `status`) and the service's work queue. A step never waits for
an endpoint to change state; it returns an Outcome saying when to look again. The jobs are split:
`observing` reads live state (with its caches), `planning` resolves and diffs, this module
applies a plan, and `stepoutcomes` turns the result into one of the three outcomes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from controller.aws.alarms import AlarmWriter
from controller.aws.applying import apply_endpoint, record_observed
from controller.aws.clients import Clients
from controller.aws.registry import Registry
from controller.core import livestate
from controller.core.endpoint.failedrollout import ROLLOUT_FAILED
from controller.core.kinds import AUTOSCALING, CLOUDWATCH, kind_of
from controller.core.plan.outcomes import Outcome
from controller.core.plan.plans import EndpointPlan, Plan, Reason, Status
from controller.core.prune import pruning
from controller.core.snapshots import Snapshot, split_key
from controller.errors import ControllerError
from controller.manifests.loading import ParseCache, load_manifests
from controller.reconcile import stepoutcomes
from controller.reconcile.freshness import STALE_INDEX_OK
from controller.reconcile.observing import ObserveOptions, Observer
from controller.reconcile.planning import Planner, PlanOptions
from controller.reconcile.retrybudget import RetryBudget, change_of


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
    # Failed applies one change (the same actions of one endpoint) gets in this process before
    # it is an error until the input changes (`apply`); None: retried with backoff for ever
    # (`run`, whose work queue backs off exponentially). A call's own retries count once.
    change_attempts: int | None = None
    # `plan`: trust endpoints whose listing matches their `observed` stamp (no DescribeEndpoint);
    # False for `plan --full-describe` and for every mutating command.
    trust_stamps: bool = False
    # Mutating commands that see their changes settle (`apply --wait`, `run`) mark them for the
    # observed stamp; `apply --no-wait` does not.
    stamp_observed: bool = True


class Reconciler:
    """Plans and applies endpoints; thread-safe, so the service runs several at once."""

    def __init__(self, clients: Clients, options: ReconcileOptions | None = None) -> None:
        self.clients = clients
        self.options = options or ReconcileOptions()
        o = self.options
        self.registry = Registry()
        self.observer = Observer(
            clients,
            ObserveOptions(
                o.controller_id,
                o.keep_history,
                o.index_ttl,
                gc_min_age=o.gc_min_age,
                trust_stamps=o.trust_stamps,
            ),
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
                stamp_observed=o.stamp_observed,
            ),
        )
        self._parse_cache = ParseCache()
        self._last_full_describe = time.monotonic()
        # Manifest fingerprint last reconciled per key: a new one marks an edit.
        self._fingerprints: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._budget = RetryBudget(o.change_attempts)

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

    def owned_keys(
        self, regions: set[str] | None = None, only: Callable[[str], bool] | None = None
    ) -> set[str]:
        """Keys of every endpoint this controller owns resources for in this run's scope.

        Safety hook: scanned are the given regions plus every region the scope may have
        resources in (default region, `prune_regions`, every region a snapshot named); `only`
        narrows that to the locations it accepts (a sharded replica lists its own shards).
        """
        owned = self.planner.prune.owned(regions or set(), self._default_region(), only)
        return {o.key for o in owned if o.scope == self.options.scope}

    def removal_locations(self, regions: set[str] | None = None) -> set[str]:
        """Every location `owned_keys(regions)` lists, without listing any."""
        return self.planner.prune.locations(regions or set(), self._default_region())

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
                return self._budget.settle(key, self._reconcile(snapshot, key, apply))
        finally:
            STALE_INDEX_OK.reset(token)

    def _reconcile(self, snapshot: Snapshot, key: str, apply: bool) -> Outcome:
        region, name = split_key(key)
        requeue = self.options.requeue_seconds
        # Notes are for people reading a plan; apply and the service do not show them.
        plan = self.plan_endpoint(snapshot, key, annotate=False)
        if plan.actions or plan.status is Status.ERROR:
            # Whatever happens next changes the endpoint or needs a closer look: describe it
            # next time instead of trusting a listing.
            self.observer.forget_endpoint(region, name)
        if plan.status is Status.ERROR:
            # A failed rollout's plan still heals the live config (core/endpoint/failedrollout):
            # apply that, and report the endpoint as failed all the same.
            healing = plan.error_reason == ROLLOUT_FAILED and plan.actions
            if healing and apply and not plan.held:
                refused, _ = self._apply(snapshot, key, plan)
                if refused is not None:
                    return refused
            return stepoutcomes.failed(name, plan)
        if not plan.actions:
            # Bookkeeping for cold plans, once a change the controller made has settled.
            if apply and plan.stamp is not None:
                client, inventory = self.clients.sagemaker(region), self.inventory(region)
                if not record_observed(client, inventory, name, plan.stamp):
                    return stepoutcomes.stamp_failed(name, plan, requeue)
            return stepoutcomes.settled(name, plan, requeue)
        if plan.held or not apply:
            return stepoutcomes.held(name, plan, requeue)
        refused, changes = self._apply(snapshot, key, plan)
        if refused is not None:
            return refused
        if any(a.reason is Reason.RECREATE_FAILED for a in plan.actions):
            with self._lock:  # one recreate per endpoint per command, whatever happens next
                self.planner.recreated.add(key)
        return stepoutcomes.applied(name, plan, changes, requeue)

    def _apply(
        self, snapshot: Snapshot, key: str, plan: EndpointPlan
    ) -> tuple[Outcome | None, stepoutcomes.Changes]:
        """Issue the plan's calls: (the failed outcome if apply raised, what was changed)."""
        region, name = split_key(key)
        scaled = tuple(a for a in plan.actions if kind_of(a.type).service != "sagemaker")
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
        except ControllerError as e:
            if scaled:
                # Autoscaling writes before the failure, or the failed one, may have taken
                # effect: the next plan reads that state afresh. From the cached one it sent them
                # again (DeleteAlarms of a deleted alarm succeeds, so it could fail anew) and
                # spent the retry budget on work already done.
                self.observer.scaling.forget(region)
            change = change_of(snapshot.fingerprint(key), plan)
            return self._budget.failed(key, change, stepoutcomes.apply_failed(name, plan, e)), ()
        self.observer.forget_deleted(region, plan)
        if scaled:
            self.observer.scaling.remember(region, scaled)
        return None, tuple((c.type.value, c.name, c.result) for c in applied)

    def _services(self, region: str) -> dict[str, Any]:
        """Clients for the kinds outside SageMaker (the kind table's `service`)."""
        autoscaling = self.clients.client(AUTOSCALING, region)
        alarms = AlarmWriter(self.clients.client(CLOUDWATCH, region), autoscaling)
        return {AUTOSCALING: autoscaling, CLOUDWATCH: alarms}
