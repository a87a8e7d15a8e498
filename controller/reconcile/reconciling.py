"""One reconcile step per endpoint: load -> resolve -> read live -> diff -> (apply).

Used by the CLI (`plan`, `apply`, `status`) and the service's work queue. A step never waits for
an endpoint to change state; it returns an Outcome saying when to look again. Reads are cached
where the data cannot change (immutable configs/models) or briefly (the owned-resource index and
registry listings), and our own writes update those caches so the next step sees them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from controller.aws import reading as live_mod
from controller.aws.applying import apply_endpoint
from controller.aws.clients import Clients
from controller.aws.registry import Registry
from controller.core import desired as desired_mod
from controller.core import livestate, tagging
from controller.core.diffs import DiffOptions, Observed, diff_endpoint, diff_removed
from controller.core.outcomes import Outcome, OutcomeKind
from controller.core.packages import PackageVersion
from controller.core.plans import EndpointPlan, Health, Op, Plan, ResourceType, Status
from controller.core.snapshots import Snapshot, endpoint_key, split_key
from controller.errors import AwsError, Conflict, ControllerError, ResolutionError, Throttled
from controller.keyedlocks import KeyedLocks
from controller.manifests.loading import LoadedManifest, ParseCache, load_manifests
from controller.manifests.models import RegistryModel

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


@dataclass
class _Cached:
    inventory: livestate.Inventory
    at: float


@dataclass
class _State:
    inventories: dict[str, _Cached] = field(default_factory=dict)


class Reconciler:
    """Plans and applies endpoints; thread-safe, so the service runs several at once."""

    def __init__(self, clients: Clients, options: ReconcileOptions | None = None) -> None:
        self.clients = clients
        self.options = options or ReconcileOptions()
        self.registry = Registry()
        self.describes = live_mod.DescribeCache()
        self._state = _State()
        self._parse_cache = ParseCache()
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------------

    def load(self, root: Path, revision: str | None = None) -> Snapshot:
        result = load_manifests(
            [root], root=root if root.is_dir() else None, cache=self._parse_cache
        )
        return Snapshot.build(result, revision, self._default_region)

    def _default_region(self) -> str:
        return self.clients.default_region

    # -- caches --------------------------------------------------------------------------------

    def begin_pass(self) -> None:
        """Forget registry listings and the owned index, so a new pass sees fresh state."""
        self.registry.new_pass()
        with self._lock:
            self._state.inventories.clear()

    def inventory(self, region: str) -> livestate.Inventory:
        with self._fetching(("inventory", region)):
            with self._lock:
                cached = self._state.inventories.get(region)
            if cached is None or time.monotonic() - cached.at > self.options.index_ttl:
                tagging_client = self.clients.client("resourcegroupstaggingapi", region)
                fresh = live_mod.read_inventory(tagging_client, self.options.controller_id)
                cached = _Cached(fresh, time.monotonic())
                with self._lock:
                    self._state.inventories[region] = cached
        return cached.inventory

    def owned_keys(self, regions: set[str] | None = None) -> set[str]:
        """Keys of every endpoint this controller owns resources for, in the given regions."""
        keys: set[str] = set()
        for region in sorted(regions or {self._default_region()}):
            for item in self.inventory(region).resources.values():
                # The endpoint tag keeps the manifest's spelling; ARNs may be lower-cased.
                name = item.endpoint or (item.name if item.kind == "endpoint" else "")
                if name:
                    keys.add(endpoint_key(region, name))
        return keys

    # -- planning ------------------------------------------------------------------------------

    def plan(self, snapshot: Snapshot) -> Plan:
        """The whole plan: every manifest endpoint plus owned endpoints whose manifest is gone."""
        self.begin_pass()
        keys = list(snapshot.keys())
        if snapshot.ok:
            keys += sorted(self.owned_keys(snapshot.regions()) - set(keys))
        # Endpoints are read in parallel (bounded; the client rate limit still applies): a pass
        # over N endpoints costs about N / concurrency round trips instead of N.
        with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
            endpoints = tuple(pool.map(lambda key: self.plan_endpoint(snapshot, key), keys))
        return Plan(
            endpoints=endpoints, errors=tuple(snapshot.diagnostics), account=self._account()
        )

    def _account(self) -> str | None:
        try:
            identity = self.clients.client("sts").get_caller_identity()
        except Exception:  # the account is a nicety for reviewers; never fail a plan over it
            return None
        return str(identity.get("Account")) if identity.get("Account") else None

    def plan_endpoint(self, snapshot: Snapshot, key: str, *, annotate: bool = True) -> EndpointPlan:
        """Plan one endpoint; `annotate` adds reviewer notes (one registry describe per change)."""
        region, name = split_key(key)
        entry = snapshot.entry(key)
        try:
            if entry is None:
                return self._plan_removed(snapshot, region, name)
            return self._plan_present(snapshot, key, entry, annotate)
        except ResolutionError as e:
            return _error_plan(name, region, entry, str(e), "InvalidSpec")
        except AwsError as e:
            message = f"reading live state failed: {e}"
            return _error_plan(name, region, entry, message, "ReadFailed")

    def _plan_present(
        self, snapshot: Snapshot, key: str, entry: LoadedManifest, annotate: bool
    ) -> EndpointPlan:
        region, _ = split_key(key)
        client = self.clients.sagemaker(region)
        packages = self._resolve(client, region, entry)
        want = desired_mod.build(
            key,
            entry.manifest,
            entry.source,
            region,
            packages,
            self.options.controller_id,
            snapshot.revision,
        )
        seen = self._observe(client, region, want)
        options = DiffOptions(
            controller_id=self.options.controller_id,
            recreate_failed=self.options.recreate_failed,
            revision=snapshot.revision,
            notes=self._notes(client, seen, packages) if annotate else {},
        )
        return diff_endpoint(want, seen, options)

    def _resolve(
        self, client: Any, region: str, entry: LoadedManifest
    ) -> dict[str, PackageVersion]:
        packages: dict[str, PackageVersion] = {}
        errors: list[str] = []
        for variant in entry.manifest.spec.variants:
            if isinstance(variant.model, RegistryModel):
                try:
                    packages[variant.name] = self.registry.resolve(
                        client, region, variant.model.package_group, variant.model.version
                    )
                except ResolutionError as e:
                    errors.append(f"variants[{variant.name}]: {e}")
        if errors:
            raise ResolutionError("; ".join(errors))
        return packages

    def _observe(self, client: Any, region: str, want: desired_mod.DesiredEndpoint) -> Observed:
        inventory = self.inventory(region)
        endpoint = live_mod.describe_endpoint(client, want.name)
        tags = self._endpoint_tags(client, inventory, endpoint)
        resource_tags = {
            name: item.tags
            for kind, name in [("endpoint-config", want.config_name)]
            + [("model", m.name) for m in want.models]
            if (item := inventory.get(kind, name)) is not None
        }
        if endpoint is not None and endpoint.config_name == want.config_name:
            return Observed(
                endpoint,
                tags,
                resource_tags=resource_tags,
                config_exists=True,
                superseded=self._superseded(client, region, want, endpoint),
            )
        missing = frozenset(
            m.name
            for m in want.models
            if not self._exists(client, region, inventory, "model", m.name)
        )
        config_exists = self._exists(client, region, inventory, "endpoint-config", want.config_name)
        live_terms = self._live_terms(client, region, endpoint) if endpoint else None
        return Observed(endpoint, tags, live_terms, missing, config_exists, resource_tags)

    def _endpoint_tags(
        self, client: Any, inventory: livestate.Inventory, endpoint: livestate.LiveEndpoint | None
    ) -> dict[str, str] | None:
        if endpoint is None:
            return None
        owned = inventory.get("endpoint", endpoint.name)
        if owned is not None:
            return owned.tags
        # The tagging index is eventually consistent; ListTags is the authority before we
        # conclude that an existing endpoint is not ours.
        return live_mod.list_tags(client, endpoint.arn)

    def _exists(
        self, client: Any, region: str, inventory: livestate.Inventory, kind: str, name: str
    ) -> bool:
        if inventory.get(kind, name) is not None:
            return True
        if kind == "model":
            return live_mod.describe_model(client, self.describes, region, name) is not None
        return live_mod.describe_config(client, self.describes, region, name) is not None

    def _live_terms(
        self, client: Any, region: str, endpoint: livestate.LiveEndpoint
    ) -> dict[str, Any] | None:
        config = live_mod.describe_config(client, self.describes, region, endpoint.config_name)
        if config is None:
            return None
        models = {
            pv["ModelName"]: live_mod.describe_model(
                client, self.describes, region, pv["ModelName"]
            )
            for pv in config.get("ProductionVariants", [])
            if pv.get("ModelName")
        }
        return livestate.config_terms(config, models, endpoint)

    def _superseded(
        self,
        client: Any,
        region: str,
        want: desired_mod.DesiredEndpoint,
        endpoint: livestate.LiveEndpoint,
    ) -> tuple[tuple[ResourceType, str], ...]:
        """Owned configs beyond the rollback history, and models only they use."""
        if endpoint.status != "InService":
            return ()
        inventory = self.inventory(region)
        configs = inventory.for_endpoint("endpoint-config", want.name)
        models = inventory.for_endpoint("model", want.name)
        keep = self.options.keep_history
        if len(configs) <= keep + 1 and len(models) <= (keep + 1) * len(want.models):
            return ()  # nothing beyond the history: skip the describes
        return gc_candidates(
            configs=[c.name for c in configs],
            models=[m.name for m in models],
            current=want.config_name,
            keep=keep,
            describe=lambda n: live_mod.describe_config(client, self.describes, region, n),
        )

    def _notes(
        self, client: Any, seen: Observed, packages: dict[str, PackageVersion]
    ) -> dict[str, str]:
        """Approval facts for version changes, shown to reviewers next to the change."""
        if seen.live_terms is None:
            return {}
        notes: dict[str, str] = {}
        for variant, package in packages.items():
            path = f"variants[{variant}].model.version"
            if seen.live_terms.get(path) == package.version:
                continue
            try:
                detail = self.registry.describe(client, package.arn)
            except Exception:  # a note is optional; never fail a plan over it
                continue
            notes[path] = approval_note(detail)
        return notes

    def _plan_removed(self, snapshot: Snapshot, region: str, name: str) -> EndpointPlan:
        client = self.clients.sagemaker(region)
        inventory = self.inventory(region)
        endpoint = live_mod.describe_endpoint(client, name)
        owned = inventory.get("endpoint", name)
        prune = self.options.prune and snapshot.ok
        confirmed = False
        if endpoint is not None and prune:
            # ListTags is the authority before any delete (the tagging index may lag).
            tags = live_mod.list_tags(client, endpoint.arn)
            confirmed = tagging.owned_by(tags, self.options.controller_id)
        leftovers = tuple(
            (
                ResourceType.ENDPOINT_CONFIG
                if item.kind == "endpoint-config"
                else ResourceType.MODEL,
                item.name,
            )
            for kind in ("endpoint-config", "model")
            for item in inventory.for_endpoint(kind, name)
        )
        source = owned.tags.get(tagging.SOURCE) if owned else None
        return diff_removed(name, region, endpoint, confirmed, leftovers, prune, source)

    # -- reconciling ---------------------------------------------------------------------------

    def reconcile(self, snapshot: Snapshot, key: str, *, apply: bool = True) -> Outcome:
        """Plan one endpoint and, when allowed, apply it. Never waits for a state change."""
        _, name = split_key(key)
        # Every log line made while reconciling (apply's too) names the endpoint and revision.
        with structlog.contextvars.bound_contextvars(endpoint=name, revision=snapshot.revision):
            return self._reconcile(snapshot, key, apply)

    def _reconcile(self, snapshot: Snapshot, key: str, apply: bool) -> Outcome:
        region, name = split_key(key)
        # Notes are for people reading a plan; apply and the service do not show them.
        plan = self.plan_endpoint(snapshot, key, annotate=False)
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
            applied = apply_endpoint(client, plan, inventory, sleep=self.clients.deadline.sleep)
        except (Throttled, Conflict) as e:
            log.warning("apply deferred", error=str(e))
            return Outcome(name, OutcomeKind.TRANSIENT, str(e), plan=plan, reason="Retrying")
        except ControllerError as e:
            log.error("apply failed", error=str(e))
            return Outcome(name, OutcomeKind.TRANSIENT, str(e), plan=plan, reason="ApplyFailed")
        self._forget_deleted(region, plan)
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

    def _forget_deleted(self, region: str, plan: EndpointPlan) -> None:
        for action in plan.actions:
            if action.op is Op.DELETE and action.type is not ResourceType.ENDPOINT:
                kind = "model" if action.type is ResourceType.MODEL else "endpoint-config"
                self.describes.forget(region, kind, action.name)

    def _settled(self, name: str, plan: EndpointPlan) -> Outcome:
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


def gc_candidates(
    configs: list[str],
    models: list[str],
    current: str,
    keep: int,
    describe: Any,
) -> tuple[tuple[ResourceType, str], ...]:
    """Which owned configs and models to delete: all but the live one and the `keep` newest."""
    described = {name: describe(name) for name in configs}
    others = [n for n in configs if n != current and described.get(n) is not None]
    others.sort(key=lambda n: (_created(described[n]), n), reverse=True)
    kept = [current, *others[:keep]]
    in_use = {
        pv.get("ModelName")
        for name in kept
        if (d := described.get(name)) is not None
        for pv in d.get("ProductionVariants", [])
    }
    if current not in described or described[current] is None:
        return ()  # cannot tell which models the live config uses: delete nothing
    doomed = [(ResourceType.ENDPOINT_CONFIG, n) for n in others[keep:]]
    doomed += [(ResourceType.MODEL, m) for m in sorted(models) if m not in in_use]
    return tuple(doomed)


def _created(description: dict[str, Any]) -> float:
    """Creation time as a number; a description without one sorts as oldest."""
    created: Any = description.get("CreationTime")
    return float(created.timestamp()) if hasattr(created, "timestamp") else 0.0


def approval_note(detail: dict[str, Any]) -> str:
    status = detail.get("ModelApprovalStatus", "")
    when: Any = detail.get("LastModifiedTime") or detail.get("CreationTime")
    date = when.date().isoformat() if hasattr(when, "date") else ""
    who = (detail.get("LastModifiedBy") or {}).get("UserProfileName", "")
    return " ".join(p for p in (status, date, f"by {who}" if who else "") if p)


def _error_plan(
    name: str, region: str, entry: LoadedManifest | None, message: str, reason: str
) -> EndpointPlan:
    return EndpointPlan(
        name=name,
        manifest=entry.source if entry else None,
        region=region,
        status=Status.ERROR,
        errors=(message,),
        labels=dict(entry.manifest.metadata.labels) if entry else {},
        error_reason=reason,
    )


def _summary(plan: EndpointPlan) -> str:
    return ", ".join(f"{a.op.value} {a.type.value} {a.name}" for a in plan.actions)
