"""Plan: resolve registry versions, build the desired resources, observe, and diff.

Called by the reconciler for `plan` (the whole snapshot) and for each endpoint it reconciles.
Read-only: nothing here calls a mutating API, which is what lets `plan` run with a read-only
guard. A failure to resolve or read is data in the plan (an error entry), never an exception.
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from controller.aws import reading
from controller.aws.clients import Clients
from controller.aws.components import list_components
from controller.aws.registry import Registry
from controller.core import kinds, tagging
from controller.core.endpoint import desired as desired_mod
from controller.core.endpoint.diffs import DiffOptions, Observed, diff_endpoint
from controller.core.packages import PackageVersion, approval_note
from controller.core.plan.costs import with_cost
from controller.core.plan.plans import Action, EndpointPlan, Plan, Status
from controller.core.plan.projects import project_name, with_project
from controller.core.prune import pruning
from controller.core.prune.removal import diff_removed
from controller.core.scaling.model import LiveTarget
from controller.core.snapshots import Snapshot, endpoint_key, split_key
from controller.errors import AccountMismatch, AwsError, Diagnostic, ResolutionError
from controller.manifests.loading import LoadedManifest
from controller.manifests.models import RegistryModel
from controller.reconcile import rollouts
from controller.reconcile.fanout import map_by_location
from controller.reconcile.observing import Observer
from controller.reconcile.prunescope import PruneScope

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PlanOptions:
    controller_id: str
    prune: bool
    recreate_failed: bool
    concurrency: int  # endpoints read at once while planning
    # Safety (issue 8): the manifest tree this run speaks for (written as the scope tag; prune
    # deletes only endpoints of this scope), the deletion guards, extra regions scanned for prune.
    scope: str | None = None
    guards: pruning.PruneGuards = field(default_factory=pruning.PruneGuards)
    prune_regions: tuple[str, ...] = ()
    stamp_observed: bool = True  # False: changes are not marked for the observed stamp


class Planner:
    """Plans endpoints; thread-safe, so the service plans several at once."""

    def __init__(
        self, clients: Clients, observer: Observer, registry: Registry, options: PlanOptions
    ) -> None:
        self.clients = clients
        self.observer = observer
        self.registry = registry
        self.options = options
        self.prune = PruneScope(clients, observer, options)
        # Keys whose Failed endpoint or component this command deleted to recreate (once each).
        self.recreated: set[str] = set()

    # -- planning ------------------------------------------------------------------------------

    def plan(self, snapshot: Snapshot, default_region: str) -> Plan:
        """The whole plan: every manifest endpoint plus owned endpoints whose manifest is gone."""
        # Endpoints are read in parallel (bounded; the client rate limit still applies): a pass
        # over N endpoints costs about N / concurrency round trips instead of N. The owned index
        # (which prune decides on) and the account are read beside the manifests' endpoints, not
        # before them.
        plan_one = functools.partial(self.plan_endpoint, snapshot)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="plan") as side:
            decision = side.submit(self.prune.decision, snapshot, default_region)
            account = side.submit(self._account)
            present = map_by_location(plan_one, snapshot.keys(), self.options.concurrency)
            # Safety hook: only this scope's removed endpoints are listed (held back ones too).
            decided = decision.result()
            removed = map_by_location(plan_one, decided.removed, self.options.concurrency)
            return Plan(
                endpoints=(*present, *removed),
                errors=(*snapshot.diagnostics, *unlisted_targets(snapshot, decided)),
                account=account.result(),
            )

    def plan_endpoint(self, snapshot: Snapshot, key: str, *, annotate: bool = True) -> EndpointPlan:
        """Plan one endpoint; `annotate` adds reviewer notes (one registry describe per change)."""
        plan = _with_files(self._plan_endpoint(snapshot, key, annotate), snapshot.entry(key))
        plan = with_project(plan, snapshot.config, self._source(snapshot, key))
        target = self.clients.target(split_key(key)[0])
        if target is None:
            return plan
        # Keys and caches use the target's name as the location; people read the real region.
        location = split_key(key)[0]
        return dataclasses.replace(
            plan, region=target.region, target=location, account=target.account_id
        )

    def _source(self, snapshot: Snapshot, key: str) -> str | None:
        """The manifest file of a key: its entry's, or a removed endpoint's source tag (the
        owned index is already read for this pass)."""
        entry = snapshot.entry(key)
        if entry is not None or snapshot.config.projects is None:
            return entry.source if entry is not None else None
        region, name = split_key(key)
        owned = self.observer.inventory(region).get(kinds.ENDPOINT.segment, name)
        return owned.tags.get(tagging.SOURCE) if owned else None

    def _plan_endpoint(self, snapshot: Snapshot, key: str, annotate: bool) -> EndpointPlan:
        region, name = split_key(key)
        entry = snapshot.entry(key)
        try:
            # Safety hook: a target's credentials must act in its account before anything is
            # read, or the plan would diff a same-named endpoint of another account (terminal).
            self.clients.check_account(region, "reading live state")
            if entry is None:
                return self._plan_removed(snapshot, region, name)
            return self._plan_present(snapshot, key, entry, annotate)
        except ResolutionError as e:
            return error_plan(name, region, entry, str(e), "InvalidSpec")
        except AccountMismatch as e:
            return error_plan(name, region, entry, str(e), "AccountMismatch")
        except AwsError as e:
            message = f"reading live state failed: {e}"
            return error_plan(name, region, entry, message, "ReadFailed")

    def _account(self) -> str | None:
        try:
            return self.clients.ambient_account() or None
        except Exception:  # the account is a nicety for reviewers; never fail a plan over it
            return None

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
            scope=self.options.scope,
            project=project_name(snapshot.config, entry.source),
            stage_alarms=entry.stage_alarms,
        )
        seen = self.observer.observe(client, region, want)
        options = DiffOptions(
            controller_id=self.options.controller_id,
            recreate_failed=self.options.recreate_failed,
            recreated_once=key in self.recreated,
            revision=snapshot.revision,
            notes=self._notes(client, seen, packages) if annotate else {},
            prune=self.options.prune and snapshot.ok,
            stamp_observed=self.options.stamp_observed,
        )
        owner = self.options.controller_id
        plan = rollouts.with_rollback_alarms(
            self.clients, owner, region, want, diff_endpoint(want, seen, options)
        )
        prices = snapshot.config.prices
        if prices is None:
            return plan
        scaled = {v: target.scaling.max_capacity for v, target in seen.scaling.items()}
        spec = want.manifest.spec
        return with_cost(plan, spec, prices, seen.endpoint, seen.live_terms, scaled)

    def _resolve(
        self, client: Any, region: str, entry: LoadedManifest
    ) -> dict[str, PackageVersion]:
        packages: dict[str, PackageVersion] = {}
        errors: list[str] = []
        spec = entry.manifest.spec
        # Keyed by variant, or by component: an endpoint has models on one or the other.
        groups = (("variants", spec.variants), ("shadowVariants", spec.shadow_variants))
        sources = [(f"{kind}[{v.name}]", v.name, v.model) for kind, group in groups for v in group]
        sources += [
            (f"inferenceComponents[{c.name}]", c.name, c.model) for c in spec.inference_components
        ]
        for path, key, model in sources:
            if isinstance(model, RegistryModel):
                try:
                    packages[key] = self.registry.resolve(
                        client, region, model.package_group, model.version
                    )
                except ResolutionError as e:
                    errors.append(f"{path}: {e}")
        if errors:
            raise ResolutionError("; ".join(errors))
        return packages

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
        inventory = self.observer.inventory(region)
        # Safety hook: outside this scope, nothing is listed or deleted; held back by a guard,
        # the plan says why and deletes nothing.
        decision = self.prune.decision(snapshot, self.clients.default_region)
        key = endpoint_key(region, name)
        if key not in decision.removed:
            return EndpointPlan(name=name, manifest=None, region=region, status=Status.UNCHANGED)
        endpoint = reading.describe_endpoint(client, name)
        if self.options.prune and key in decision.held:
            return pruning.held_plan(name, region, endpoint, decision.held[key])
        owned = inventory.get(kinds.ENDPOINT.segment, name)
        prune = self.options.prune and decision.allowed(key)
        confirmed = False
        if endpoint is not None and prune:
            # ListTags is the authority before any delete (the tagging index may lag).
            tags = reading.list_tags(client, endpoint.arn)
            confirmed = tagging.owned_by(tags, self.options.controller_id)
        leftovers = self.observer.leftovers(region, name)
        source = owned.tags.get(tagging.SOURCE) if owned else None
        targets = {}
        if prune and (confirmed or endpoint is None):
            targets = self._owned_targets(region, name)
        components: tuple[tuple[str, bool], ...] = ()
        scaled: list[Action] = []
        alarms: list[Action] = []
        if endpoint is not None and confirmed:  # read only when a delete is planned
            components = self._components_owned(client, endpoint.name)
            owner, owned_names = self.options.controller_id, [n for n, mine in components if mine]
            scaled = self.observer.scaling.teardown(region, owned_names, owner)
            alarms = rollouts.rollback_teardown(self.clients, owner, region, name)
        return diff_removed(
            name,
            region,
            endpoint,
            confirmed,
            leftovers,
            prune,
            source,
            targets,
            components,
            tuple(scaled),
            tuple(alarms),
        )

    def _owned_targets(self, region: str, name: str) -> dict[str, LiveTarget]:
        """The endpoint's scalable targets this controller registered (tags read for each)."""
        controller = self.options.controller_id
        found = self.observer.scaling.targets(region, name, lambda v, t: True)
        return {v: t for v, t in found.items() if tagging.owned_by(t.tags, controller)}

    def _components_owned(self, client: Any, endpoint: str) -> tuple[tuple[str, bool], ...]:
        """Every inference component on the endpoint, as (name, owned by this controller)."""
        # ListTags is the authority before any delete, as for the endpoint itself.
        return tuple(
            (c.name, tagging.owned_by(reading.list_tags(client, c.arn), self.options.controller_id))
            for c in list_components(client, endpoint)
        )


def unlisted_targets(snapshot: Snapshot, decision: pruning.PruneDecision) -> list[Diagnostic]:
    """An error per target whose owned endpoints could not be listed (its credentials act in
    another account) and that no endpoint of the plan reports, so a plan never looks green
    when it could not see what a target holds."""
    reported = {split_key(key)[0] for key in snapshot.entries}
    return [
        Diagnostic(*snapshot.target_sources.get(location, (location, 0)), "spec.accountId", why)
        for location, why in sorted(decision.unreadable.items())
        if location not in reported
    ]


def _with_files(plan: EndpointPlan, entry: LoadedManifest | None) -> EndpointPlan:
    """The plan with the files a rendered endpoint comes from (its own and its templates')."""
    if entry is None or entry.rendering is None:
        return plan
    return dataclasses.replace(plan, rendered_from=entry.rendered_from)


def error_plan(
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
