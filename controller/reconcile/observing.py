"""Observe: read what the diff needs about one endpoint, within the call budget.

Called by `planning` for every endpoint of a pass. The owned-resource index (one tagging-API query
per region) is cached briefly and shared by all workers; descriptions of immutable kinds are
cached for the life of the process (`reading.DescribeCache`); our own writes update both, so the
next step sees them without a re-read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from controller.aws import reading
from controller.aws.clients import Clients
from controller.core import kinds, livestate
from controller.core.desired import DesiredEndpoint
from controller.core.gc import gc_candidates
from controller.core.observed import Observed
from controller.core.plans import EndpointPlan, Op, ResourceType
from controller.core.scaling_actions import in_sync
from controller.core.snapshots import endpoint_key
from controller.keyedlocks import KeyedLocks
from controller.reconcile.scaling_cache import ScalingCache


@dataclass(frozen=True)
class ObserveOptions:
    controller_id: str
    keep_history: int  # superseded EndpointConfigs kept for rollback, besides the live one
    index_ttl: float  # seconds the owned-resource index is reused between passes


@dataclass
class _Cached:
    inventory: livestate.Inventory
    at: float


class Observer:
    """Reads live state; thread-safe, one per reconciler."""

    def __init__(self, clients: Clients, options: ObserveOptions) -> None:
        self.clients = clients
        self.options = options
        self.describes = reading.DescribeCache()
        self._inventories: dict[str, _Cached] = {}
        self.scaling = ScalingCache(clients, options.index_ttl)
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    def forget_index(self) -> None:
        """Drop the owned-resource index, so the next read sees fresh state."""
        with self._lock:
            self._inventories.clear()
        self.scaling.forget()

    def inventory(self, region: str) -> livestate.Inventory:
        with self._fetching(("inventory", region)):
            with self._lock:
                cached = self._inventories.get(region)
            if cached is None or time.monotonic() - cached.at > self.options.index_ttl:
                tagging_client = self.clients.client("resourcegroupstaggingapi", region)
                fresh = reading.read_inventory(tagging_client, self.options.controller_id)
                cached = _Cached(fresh, time.monotonic())
                with self._lock:
                    self._inventories[region] = cached
        return cached.inventory

    def owned_keys(self, regions: set[str]) -> set[str]:
        """Keys of every endpoint this controller owns resources for, in the given regions."""
        keys: set[str] = set()
        for region in sorted(regions):
            for item in self.inventory(region).resources.values():
                # The endpoint tag keeps the manifest's spelling; ARNs may be lower-cased.
                name = item.endpoint or (item.name if item.kind == kinds.ENDPOINT.segment else "")
                if name:
                    keys.add(endpoint_key(region, name))
        return keys

    def observe(self, client: Any, region: str, want: DesiredEndpoint) -> Observed:
        """Everything `diffs.diff_endpoint` needs to plan `want`."""
        inventory = self.inventory(region)
        endpoint = reading.describe_endpoint(client, want.name)
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
            return Observed(
                endpoint,
                tags,
                resource_tags=resource_tags,
                config_exists=True,
                superseded=self._superseded(client, region, want, endpoint),
                scaling=targets,
            )
        missing = frozenset(
            name
            for resource_type, name in want.immutable_resources
            if resource_type is ResourceType.MODEL
            and not self._exists(client, region, inventory, kinds.MODEL, name)
        )
        config = kinds.ENDPOINT_CONFIG
        config_exists = self._exists(client, region, inventory, config, want.config_name)
        live_terms = self._live_terms(client, region, endpoint) if endpoint else None
        return Observed(
            endpoint, tags, live_terms, missing, config_exists, resource_tags, scaling=targets
        )

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
        self, client: Any, region: str, want: DesiredEndpoint, endpoint: livestate.LiveEndpoint
    ) -> tuple[tuple[ResourceType, str], ...]:
        """Owned configs beyond the rollback history, and models only they use."""
        if endpoint.status != "InService":
            return ()
        inventory = self.inventory(region)
        configs = inventory.for_endpoint(kinds.ENDPOINT_CONFIG.segment, want.name)
        models = inventory.for_endpoint(kinds.MODEL.segment, want.name)
        keep = self.options.keep_history
        if len(configs) <= keep + 1 and len(models) <= (keep + 1) * len(want.models):
            return ()  # nothing beyond the history: skip the describes
        return gc_candidates(
            configs=[c.name for c in configs],
            models=[m.name for m in models],
            current=want.config_name,
            keep=keep,
            describe=lambda n: self._describe(client, region, kinds.ENDPOINT_CONFIG, n),
        )
