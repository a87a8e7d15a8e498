"""Observe: read what the diff needs about one endpoint, within the call budget.

Called by `planning` for every endpoint of a pass. The reads go through the caches of
`livecache` (owned index, ListEndpoints change detection, immutable describes), so a no-op pass
costs about one listing per region plus what changed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from controller.aws import reading
from controller.aws.clients import Clients
from controller.core import kinds, livestate, tagging
from controller.core.endpoint import history, observedstamp
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.observed import Observed
from controller.core.plan.plans import EndpointPlan, Op, ResourceType
from controller.core.scaling.actions import in_sync
from controller.reconcile.component_gc import ComponentGarbage, GcSettings, component_garbage
from controller.reconcile.livecache import CacheOptions, LiveCache


@dataclass(frozen=True)
class ObserveOptions:
    controller_id: str
    keep_history: int  # superseded EndpointConfigs kept for rollback, besides the live one
    index_ttl: float  # seconds the owned-resource index is reused between passes
    listing_ttl: float = 300.0  # seconds a pass's ListEndpoints sweep is trusted
    gc_min_age: float = 60.0  # never GC a config/model younger than this (another apply's work)
    # Trust an endpoint whose listing matches its `observed` stamp (core/endpoint/observedstamp)
    # instead of describing it: the cold `plan` (unless --full-describe).
    trust_stamps: bool = False


class Observer(LiveCache):
    """Reads live state; thread-safe, one per reconciler."""

    def __init__(self, clients: Clients, options: ObserveOptions) -> None:
        super().__init__(
            clients, CacheOptions(options.controller_id, options.index_ttl, options.listing_ttl)
        )
        self.options = options

    def observe(self, client: Any, region: str, want: DesiredEndpoint) -> Observed:
        """Everything `diffs.diff_endpoint` needs to plan `want`."""
        # Described before the index is asked for: a pass's first workers read their endpoints
        # while the index is still being swept (a trusted stamp needs the index first).
        endpoint = self._trusted(client, region, want) if self.options.trust_stamps else None
        if endpoint is None:
            endpoint = self.describe_endpoint(client, region, want.name)
        inventory = self.inventory(region)
        tags = self.endpoint_tags(client, inventory, endpoint)
        resource_tags = {
            name: item.tags
            for resource_type, name in want.immutable_resources
            if (item := inventory.get(kinds.kind_of(resource_type).segment, name)) is not None
        }
        rollout = endpoint is None or endpoint.config_name != want.config_name
        targets = self.scaling.targets(
            region,
            want.name,
            # Ownership matters only for a target the plan may change: one out of step with the
            # manifest, or any on a variant a rollout may replace. A no-op pass reads no tags.
            lambda v, t: rollout or not in_sync(v, want.scaling.get(v), t),
        )
        if endpoint is not None and not rollout:
            seen = Observed(
                endpoint,
                tags,
                resource_tags=resource_tags,
                config_exists=True,
                superseded=self._superseded(client, region, want, endpoint, tags or {}),
                scaling=targets,
            )
            return self._with_components(client, region, want, seen)
        missing = frozenset(
            name
            for resource_type, name in want.immutable_resources
            if resource_type is ResourceType.MODEL
            and not self._exists(client, region, inventory, kinds.MODEL, name)
        )
        config = kinds.ENDPOINT_CONFIG
        config_exists = self._exists(client, region, inventory, config, want.config_name)
        live_terms = self._live_terms(client, region, endpoint) if endpoint else None
        seen = Observed(
            endpoint, tags, live_terms, missing, config_exists, resource_tags, scaling=targets
        )
        return self._with_components(client, region, want, seen)

    def _with_components(
        self, client: Any, region: str, want: DesiredEndpoint, seen: Observed
    ) -> Observed:
        """Add the endpoint's inference components: one ListInferenceComponents, describes on
        change; tags from the owned index; Models read only for components that change."""
        endpoint = seen.endpoint
        if endpoint is None or not want.manifest.spec.hosts_components:
            return seen
        inventory = self.inventory(region)
        live = self.components.components(client, region, endpoint.name)
        wanted = {c.name.lower(): c for c in want.components}
        tags: dict[str, dict[str, str]] = {}
        for component in live:
            owned = inventory.get(kinds.INFERENCE_COMPONENT.segment, component.name)
            if owned is not None:
                tags[component.name.lower()] = owned.tags
            elif component.name.lower() in wanted:  # the index may lag: ListTags decides
                tags[component.name.lower()] = reading.list_tags(client, component.arn)
        by_name = {c.name.lower(): c for c in live}
        changing = [c for c in want.components if _model_of(by_name, c.name) != c.model.name]
        missing = frozenset(
            c.model.name
            for c in changing
            if not self._exists(client, region, inventory, kinds.MODEL, c.model.name)
        )
        models = {
            have.name: self._describe(client, region, kinds.MODEL, have.model_name)
            for c in changing
            if (have := by_name.get(c.name.lower())) is not None and have.model_name
        }
        names, owner = [c.name for c in live], self.options.controller_id
        scaled, alarms = self.scaling.for_components(region, want, names, owner)
        garbage = ComponentGarbage()
        if endpoint.status == "InService":
            garbage = component_garbage(
                live,
                tags,
                want.components,
                inventory.for_endpoint(kinds.MODEL.segment, want.name),
                GcSettings(owner, self.options.keep_history, time.time(), self.options.gc_min_age),
                lambda n: self._model_created(client, region, n),
            )
        return replace(
            seen,
            superseded=seen.superseded + garbage.superseded,
            component_garbage=garbage.removed or {},
            component_histories=garbage.histories or {},
            missing_models=seen.missing_models | missing,
            components=live,
            component_tags=tags,
            component_models=models,
            autoscaled=self.scaling.state(region).components,
            component_scaling=scaled,
            component_alarms=alarms,
        )

    def _trusted(
        self, client: Any, region: str, want: DesiredEndpoint
    ) -> livestate.LiveEndpoint | None:
        """The endpoint from its listing and the index, when its `observed` stamp holds."""
        owned = self.inventory(region).get(kinds.ENDPOINT.segment, want.name)
        if owned is None or tagging.OBSERVED not in owned.tags:
            return None
        listed = self.kept.listing(client, region)
        found = listed.get(want.name.lower()) if listed is not None else None
        return observedstamp.trusted(want, owned.arn, owned.tags, found)

    def endpoint_tags(
        self, client: Any, inventory: livestate.Inventory, endpoint: livestate.LiveEndpoint | None
    ) -> dict[str, str] | None:
        if endpoint is None:
            return None
        owned = inventory.get(kinds.ENDPOINT.segment, endpoint.name)
        if owned is not None:
            return owned.tags
        # The tagging index is eventually consistent; ListTags is the authority before we
        # conclude that an existing endpoint is not ours.
        return reading.list_tags(client, endpoint.arn)

    def leftovers(self, region: str, name: str) -> tuple[tuple[ResourceType, str], ...]:
        """Owned history-kind resources of an endpoint, configs before models."""
        inventory = self.inventory(region)
        return tuple(
            (kind.type, item.name)
            for kind in sorted(kinds.history_kinds(), key=lambda k: k.order[Op.DELETE])
            for item in inventory.for_endpoint(kind.segment, name)
        )

    def forget_deleted(self, region: str, plan: EndpointPlan) -> None:
        """Deleted immutable resources may be created again under the same name later."""
        for action in plan.actions:
            kind = kinds.kind_of(action.type)
            if action.op is Op.DELETE and kind.immutable:
                self.describes.forget(region, kind.segment, action.name)

    def _exists(
        self,
        client: Any,
        region: str,
        inventory: livestate.Inventory,
        kind: kinds.Kind,
        name: str,
    ) -> bool:
        if inventory.get(kind.segment, name) is not None:
            return True
        return self._describe(client, region, kind, name) is not None

    def _describe(
        self, client: Any, region: str, kind: kinds.Kind, name: str
    ) -> dict[str, Any] | None:
        return reading.describe_immutable(client, self.describes, region, kind, name)

    def _live_terms(
        self, client: Any, region: str, endpoint: livestate.LiveEndpoint
    ) -> dict[str, Any] | None:
        config = self._describe(client, region, kinds.ENDPOINT_CONFIG, endpoint.config_name)
        if config is None:
            return None
        models = {
            pv["ModelName"]: self._describe(client, region, kinds.MODEL, pv["ModelName"])
            for pv in livestate.all_variants(config)
            if pv.get("ModelName")
        }
        return livestate.config_terms(config, models, endpoint)

    def _superseded(
        self,
        client: Any,
        region: str,
        want: DesiredEndpoint,
        endpoint: livestate.LiveEndpoint,
        tags: Mapping[str, str],
    ) -> tuple[tuple[ResourceType, str], ...]:
        """Owned configs beyond the rollback history, and models only they use.

        Safety hook: the choice is `history.garbage` (deployment order, InService only, never
        the attempted config or anything younger than `gc_min_age`).
        """
        if endpoint.status != "InService":
            return ()
        inventory = self.inventory(region)
        configs = inventory.for_endpoint(kinds.ENDPOINT_CONFIG.segment, want.name)
        # A component's Models are its own (kept out of the endpoint's history).
        models = [
            m
            for m in inventory.for_endpoint(kinds.MODEL.segment, want.name)
            if tagging.COMPONENT not in m.tags
        ]
        keep = self.options.keep_history
        names = [c.name for c in configs]
        few_models = len(models) <= (keep + 1) * len(want.models)
        if few_models and history.within(names, endpoint.config_name, tags, keep):
            return ()  # nothing beyond the history: skip the describes
        gc = history.GcInput(
            status=endpoint.status,
            live=endpoint.config_name,
            configs=[
                info
                for c in configs
                if (info := self._config_info(client, region, c.name)).models is not None
            ],  # a config that cannot be described is gone (or going): neither kept nor deleted
            models=[m.name for m in models],
            endpoint_tags=tags,
            keep=keep,
            now=time.time(),
            min_age=self.options.gc_min_age,
        )
        return history.garbage(gc, lambda n: self._model_created(client, region, n))

    def _config_info(self, client: Any, region: str, name: str) -> history.ConfigInfo:
        found = self._describe(client, region, kinds.ENDPOINT_CONFIG, name)
        if found is None:
            return history.ConfigInfo(name, None, None)
        # Shadow variants name Models too: a model only a shadow serves is still in use.
        models = tuple(pv.get("ModelName", "") for pv in livestate.all_variants(found))
        return history.ConfigInfo(name, _epoch(found.get("CreationTime")), models)

    def _model_created(self, client: Any, region: str, name: str) -> float | None:
        found = self._describe(client, region, kinds.MODEL, name)
        return _epoch(found.get("CreationTime")) if found else None


def _epoch(value: Any) -> float | None:
    """A describe's timestamp as epoch seconds; None when absent."""
    return float(value.timestamp()) if hasattr(value, "timestamp") else None


def _model_of(live: dict[str, Any], name: str) -> str:
    have = live.get(name.lower())
    return str(have.model_name) if have is not None else ""
