"""The live-read caches a reconciler shares across its workers, and when they may be trusted.

The owned-resource index (one tagging-API query per region, or three at once when it is larger
than a page: endpoints, models, the rest) is cached briefly and shared by all workers; `apply`
streams its endpoint query page by page (`endpoint_pages`) to reconcile changed endpoints
first. Descriptions of immutable kinds are cached for the life of the process
(`reading.DescribeCache`); our own writes update both, so the next step sees them without a
re-read.

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
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog

from controller.aws import reading
from controller.aws.clients import Clients
from controller.aws.components import ComponentReader
from controller.core import kinds, livestate
from controller.keyedlocks import KeyedLocks
from controller.reconcile.scaling_cache import ScalingCache

log = structlog.get_logger(__name__)

# Set while reconciling an edited endpoint: an owned index past its TTL is good enough (our own
# writes keep it current; ListTags stays the authority before any delete), and its live state is
# described directly rather than checked against the fleet's ListEndpoints sweep.
STALE_INDEX_OK: ContextVar[bool] = ContextVar("stale_index_ok", default=False)
# Set while `apply` reconciles the changed endpoints it found in the endpoint sweep: the index
# being read (endpoints in, models and configs maybe not yet) is good enough. What is not in it
# is described (probes), and what it lacks only holds garbage collection back, never adds a
# delete; prune never runs on it (it decides on a complete index only).
PARTIAL_INDEX_OK: ContextVar[bool] = ContextVar("partial_index_ok", default=False)
# Resources an endpoint owns at least (itself, its config and a model): predicts the index size
# of a region from its manifests before the first read.
OWNED_PER_ENDPOINT = 3


@dataclass(frozen=True)
class CacheOptions:
    controller_id: str  # the owned index lists what carries this managed-by tag
    index_ttl: float  # seconds the owned-resource index is reused between passes
    listing_ttl: float = 300.0  # seconds a pass's ListEndpoints sweep is trusted


@dataclass
class _Cached:
    inventory: livestate.Inventory
    at: float


@dataclass
class _Partial:
    """An index being read for `apply`'s changed-first wave: the endpoint query first (streamed
    page by page), the other queries (`rest`) when a worker needs the whole index."""

    inventory: livestate.Inventory
    at: float
    rest: tuple[tuple[str, ...], ...]
    ready: bool = False  # the first query has been read to its last page


@dataclass
class _Listing:
    versions: dict[str, tuple[str, str]]  # lower-cased name -> (status, LastModifiedTime)
    at: float


class LiveCache:
    """Thread-safe caches of live reads; `Observer` builds on it, one per reconciler."""

    def __init__(self, clients: Clients, options: CacheOptions) -> None:
        self.clients = clients
        self.cache_options = options
        self.describes = reading.DescribeCache()
        self.components = ComponentReader()
        self._inventories: dict[str, _Cached] = {}
        self._partials: dict[str, _Partial] = {}
        self._expected: dict[str, int] = {}  # region -> resources the manifests predict
        self.scaling = ScalingCache(clients, options.index_ttl)
        self._listings: dict[str, _Listing] = {}
        # (region, lower-cased name) -> the last description of a settled endpoint.
        self._settled: dict[tuple[str, str], livestate.LiveEndpoint] = {}
        # (region, lower-cased name) -> a description `seed_endpoint` made for the next reconcile.
        self._seeded: dict[tuple[str, str], livestate.LiveEndpoint | None] = {}
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
            self._partials.clear()
            self._seeded.clear()
            self._listed.clear()
        self.scaling.forget()

    def expect_endpoints(self, counts: Mapping[str, int]) -> None:
        """The manifests' endpoints per region: with the last read's size, whether an index is
        large enough to read as concurrent queries (a small one costs one page either way)."""
        with self._lock:
            self._expected = {r: n * OWNED_PER_ENDPOINT for r, n in counts.items()}

    def _split(self, region: str) -> bool:
        with self._lock:
            cached = self._inventories.get(region)
            last = len(cached.inventory.resources) if cached is not None else 0
            # More than a page: concurrent queries save round trips (see `reading.sweeps`).
            return max(last, self._expected.get(region, 0)) > reading.PAGE_SIZE

    def forget_endpoints(self) -> None:
        """Forget every kept description: the next pass describes every endpoint (backstop)."""
        with self._lock:
            self._settled.clear()

    def forget_endpoint(self, region: str, name: str) -> None:
        """We are changing this endpoint: its kept description no longer holds."""
        with self._lock:
            self._settled.pop((region, name.lower()), None)
            self._seeded.pop((region, name.lower()), None)

    def describe_endpoint(
        self, client: Any, region: str, name: str
    ) -> livestate.LiveEndpoint | None:
        """The endpoint as DescribeEndpoint would say, reusing a settled description when this
        pass's listing shows the same status and LastModifiedTime."""
        key = (region, name.lower())
        with self._lock:
            if key in self._seeded:  # described just now for this reconcile: used once
                return self._seeded.pop(key)
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

    def seed_endpoint(
        self, region: str, name: str, live: livestate.LiveEndpoint | None, tags: dict[str, str]
    ) -> None:
        """`apply`'s changed-files hint described this endpoint (and, owned, listed its tags)
        before any index read: its reconcile, next, takes the description instead of another
        DescribeEndpoint, and (`PARTIAL_INDEX_OK`) an index holding only what was read ahead,
        until `endpoint_pages` starts the real one."""
        with self._lock:
            self._seeded[(region, name.lower())] = live
            cached = self._inventories.get(region)
            if cached is not None and not self._expired(cached):
                return  # a complete index is at hand (`--prune` reads it first): that one
            partial = self._partials.setdefault(
                region, _Partial(livestate.Inventory(), time.monotonic(), ())
            )
            if live is not None and tags:
                owned = livestate.Owned(kinds.ENDPOINT.segment, live.name, live.arn, tags)
                partial.inventory.put(owned)

    def _listing(self, client: Any, region: str) -> dict[str, tuple[str, str]] | None:
        """The region's ListEndpoints sweep, made at most once per pass and trusted for
        `listing_ttl`; None when it is too old and this pass already listed (an edit between
        passes then costs one DescribeEndpoint, not a sweep of the fleet)."""
        with self._fetching(("listing", region)):
            with self._lock:
                cached, listed = self._listings.get(region), region in self._listed
            if listed:  # this pass swept already: reuse it while fresh (edits between passes)
                if cached is None or time.monotonic() - cached.at > self.cache_options.listing_ttl:
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
        if PARTIAL_INDEX_OK.get():
            with self._lock:
                partial = self._partials.get(region)
            if partial is not None:
                return partial.inventory
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

    def _expired(self, cached: _Cached | _Partial) -> bool:
        return time.monotonic() - cached.at > self.cache_options.index_ttl

    def _fetch_inventory(self, region: str) -> _Cached:
        """Read the region's index; one whose endpoint query was streamed is completed instead."""
        tagging_client = self.clients.client("resourcegroupstaggingapi", region)
        with self._lock:
            partial = self._partials.pop(region, None)
        owner = self.cache_options.controller_id
        if partial is not None and partial.ready and not self._expired(partial):
            reading.read_inventory(tagging_client, owner, partial.rest, into=partial.inventory)
            cached = _Cached(partial.inventory, partial.at)
        else:
            queries = reading.sweeps(self._split(region))
            fresh = reading.read_inventory(tagging_client, owner, queries)
            cached = _Cached(fresh, time.monotonic())
        with self._lock:
            self._inventories[region] = cached
        return cached

    def endpoint_pages(self, region: str) -> Iterator[list[livestate.Owned]]:
        """The region's owned endpoints, a page at a time as the index query returns them.

        Reads only the endpoint query (or the single query of a small index); each page is in
        the index `PARTIAL_INDEX_OK` readers see before the next page is asked for, so a caller
        can reconcile what a page shows first. The rest of the index is read by the first
        `inventory` call after the last page. A fresh index is not read again.
        """
        with self._lock:
            cached = self._inventories.get(region)
        if cached is not None and not self._expired(cached):
            yield cached.inventory.of_kind(kinds.ENDPOINT.segment)
            return
        first, *rest = reading.sweeps(self._split(region))
        partial = _Partial(livestate.Inventory(), time.monotonic(), tuple(rest))
        with self._lock:
            self._partials[region] = partial
        tagging_client = self.clients.client("resourcegroupstaggingapi", region)
        owner = self.cache_options.controller_id
        for page in reading.owned_pages(tagging_client, owner, first):
            for owned in page:
                partial.inventory.put(owned)
            yield [o for o in page if o.kind == kinds.ENDPOINT.segment]
        with self._lock:
            partial.ready = True
            if not rest and self._partials.get(region) is partial:  # it was the whole index
                del self._partials[region]
                self._inventories[region] = _Cached(partial.inventory, partial.at)

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
