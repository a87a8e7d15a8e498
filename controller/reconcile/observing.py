"""Observe: read what the diff needs about one endpoint, within the call budget.

Called by `planning` for every endpoint of a pass. The owned-resource index (one tagging-API query
per region) is cached briefly and shared by all workers; descriptions of immutable kinds are
cached for the life of the process (`reading.DescribeCache`); our own writes update both, so the
next step sees them without a re-read.

Change detection by listing: the last description of a settled (InService) endpoint is kept, and
on a pass that lists (`begin_pass`) one ListEndpoints sweep per region (100 endpoints a page) says
whether its status and LastModifiedTime are still the same; only then is the kept description
reused instead of a DescribeEndpoint. Anything we change, anything changed by hand (SageMaker
moves LastModifiedTime on every update, weights change and status change), anything missing from
the listing and anything not settled is described. Tags come from the owned index, read every
pass. A full describe pass (`forget_endpoints`) runs at a longer interval as the backstop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import structlog

from controller.aws import reading
from controller.aws.clients import Clients
from controller.aws.components import ComponentReader
from controller.core import history, kinds, livestate, tagging
from controller.core.desired import DesiredEndpoint
from controller.core.observed import Observed
from controller.core.plans import EndpointPlan, Op, ResourceType
from controller.core.scaling_actions import in_sync
from controller.keyedlocks import KeyedLocks
from controller.reconcile.scaling_cache import ScalingCache

log = structlog.get_logger(__name__)

# Set while reconciling an edited endpoint: an owned index past its TTL is good enough (our own
# writes keep it current; ListTags stays the authority before any delete), and its live state is
# described directly rather than checked against the fleet's ListEndpoints sweep.
STALE_INDEX_OK: ContextVar[bool] = ContextVar("stale_index_ok", default=False)


@dataclass(frozen=True)
class ObserveOptions:
    controller_id: str
    keep_history: int  # superseded EndpointConfigs kept for rollback, besides the live one
    index_ttl: float  # seconds the owned-resource index is reused between passes
    listing_ttl: float = 300.0  # seconds a pass's ListEndpoints sweep is trusted
    gc_min_age: float = 60.0  # never GC a config/model younger than this (another apply's work)


@dataclass
class _Cached:
    inventory: livestate.Inventory
    at: float


@dataclass
class _Listing:
    versions: dict[str, tuple[str, str]]  # lower-cased name -> (status, LastModifiedTime)
    at: float


class Observer:
    """Reads live state; thread-safe, one per reconciler."""

    def __init__(self, clients: Clients, options: ObserveOptions) -> None:
        self.clients = clients
        self.options = options
        self.describes = reading.DescribeCache()
        self.components = ComponentReader()
        self._inventories: dict[str, _Cached] = {}
        self.scaling = ScalingCache(clients, options.index_ttl)
        self._listings: dict[str, _Listing] = {}
        # (region, lower-cased name) -> the last description of a settled endpoint.
        self._settled: dict[tuple[str, str], livestate.LiveEndpoint] = {}
        self._listed: set[str] = set()  # regions swept in this pass
        self._refreshing: set[str] = set()  # regions whose index is being read in the background
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    def forget_index(self) -> None:
        """Expire the owned index (a pass reads it afresh; edits keep the old one until the new
        one is in) and let this pass list endpoints once per region."""
        with self._lock:
            for cached in self._inventories.values():
                cached.at = float("-inf")
            self._listed.clear()
        self.scaling.forget()

    def forget_endpoints(self) -> None:
        """Forget every kept description: the next pass describes every endpoint (backstop)."""
        with self._lock:
            self._settled.clear()

    def forget_endpoint(self, region: str, name: str) -> None:
        """We are changing this endpoint: its kept description no longer holds."""
        with self._lock:
            self._settled.pop((region, name.lower()), None)
        self.components.forget(region, name)

    def describe_endpoint(
        self, client: Any, region: str, name: str
    ) -> livestate.LiveEndpoint | None:
        """The endpoint as DescribeEndpoint would say, reusing a settled description when this
        pass's listing shows the same status and LastModifiedTime."""
        key = (region, name.lower())
        with self._lock:
            kept = self._settled.get(key)
        # An edited endpoint is about to change: one DescribeEndpoint, never a wait for (or a
        # share of) the fleet's listing sweep, which a resync in progress may be making.
        if kept is not None and not STALE_INDEX_OK.get():
            listing = self._listing(client, region)
            if listing is not None and listing.get(key[1]) == (kept.status, kept.last_modified):
                return kept
        live = reading.describe_endpoint(client, name)
        with self._lock:
            if live is not None and live.status == "InService" and live.last_modified:
                self._settled[key] = live
            else:
                self._settled.pop(key, None)
        return live

    def _listing(self, client: Any, region: str) -> dict[str, tuple[str, str]] | None:
        """The region's ListEndpoints sweep, made at most once per pass and trusted for
        `listing_ttl`; None when it is too old and this pass already listed (an edit between
        passes then costs one DescribeEndpoint, not a sweep of the fleet)."""
        with self._fetching(("listing", region)):
            with self._lock:
                cached, listed = self._listings.get(region), region in self._listed
            if listed:  # this pass swept already: reuse it while fresh (edits between passes)
                if cached is None or time.monotonic() - cached.at > self.options.listing_ttl:
                    return None
                return cached.versions
            cached = _Listing(reading.list_endpoint_versions(client), time.monotonic())
            with self._lock:
                self._listings[region] = cached
                self._listed.add(region)
        return cached.versions

    def inventory(self, region: str) -> livestate.Inventory:
        """The region's owned-resource index. A full pass waits for a fresh one; an edit
        (`STALE_INDEX_OK`) takes the one it has and refreshes it in the background, so it never
        pays for, or waits behind, a sweep of the whole account."""
        if STALE_INDEX_OK.get():
            with self._lock:
                cached = self._inventories.get(region)
            if cached is not None:
                if self._expired(cached):
                    self._refresh_in_background(region)
                return cached.inventory
        with self._fetching(("inventory", region)):
            with self._lock:
                cached = self._inventories.get(region)
            if cached is None or self._expired(cached):
                cached = self._fetch_inventory(region)
        return cached.inventory

    def _expired(self, cached: _Cached) -> bool:
        return time.monotonic() - cached.at > self.options.index_ttl

    def _fetch_inventory(self, region: str) -> _Cached:
        tagging_client = self.clients.client("resourcegroupstaggingapi", region)
        fresh = reading.read_inventory(tagging_client, self.options.controller_id)
        cached = _Cached(fresh, time.monotonic())
        with self._lock:
            self._inventories[region] = cached
        return cached

    def _refresh_in_background(self, region: str) -> None:
        with self._lock:
            if region in self._refreshing:
                return
            self._refreshing.add(region)

        def refresh() -> None:
            try:
                with self._fetching(("inventory", region)):
                    with self._lock:
                        cached = self._inventories.get(region)
                    if cached is None or self._expired(cached):
                        self._fetch_inventory(region)
            except Exception as e:  # the next pass reads it again; an edit must not fail
                log.warning("refreshing the owned-resource index failed", error=str(e))
            finally:
                with self._lock:
                    self._refreshing.discard(region)

        threading.Thread(target=refresh, name=f"index-{region}", daemon=True).start()

    def observe(self, client: Any, region: str, want: DesiredEndpoint) -> Observed:
        """Everything `diffs.diff_endpoint` needs to plan `want`."""
        inventory = self.inventory(region)
        endpoint = self.describe_endpoint(client, region, want.name)
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
        return replace(
            seen,
            missing_models=seen.missing_models | missing,
            components=live,
            component_tags=tags,
            component_models=models,
            autoscaled=self.scaling.state(region).components,
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
        if len(configs) <= keep + 1 and len(models) <= (keep + 1) * len(want.models):
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
