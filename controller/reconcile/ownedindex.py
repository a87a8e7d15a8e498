"""The owned-resource index: what this controller owns in a region, read from the tagging API.

One query per region, or three at once when the index is larger than a page (endpoints, models,
the rest); cached for `index_ttl` and shared by all workers. An edit (`STALE_INDEX_OK`) takes
the index at hand and refreshes it in the background. `apply` streams the endpoint query page
by page (`endpoint_pages`) to reconcile changed endpoints first, reading the rest of the index
only when a worker needs all of it; until then `PARTIAL_INDEX_OK` readers see what has been
read (`seed` puts `apply`'s read-ahead there too).

Kept apart from the kept describes (`keptdescribes`) because its state, the partial index and
its background refresh, is the intricate half of the live caches; `livecache` joins the two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import structlog

from controller.aws import reading
from controller.aws.clients import Clients
from controller.core import kinds, livestate
from controller.keyedlocks import KeyedLocks
from controller.reconcile.freshness import PARTIAL_INDEX_OK, STALE_INDEX_OK

log = structlog.get_logger(__name__)

# Resources an endpoint owns at least (itself, its config and a model): predicts the index size
# of a region from its manifests before the first read.
OWNED_PER_ENDPOINT = 3


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


class OwnedIndex:
    """Thread-safe: the workers of a reconciler share one."""

    def __init__(self, clients: Clients, controller_id: str, ttl: float) -> None:
        self.clients = clients
        self._owner = controller_id  # the index lists what carries this managed-by tag
        self._ttl = ttl  # seconds the index is reused between passes
        self._inventories: dict[str, _Cached] = {}
        self._partials: dict[str, _Partial] = {}
        self._expected: dict[str, int] = {}  # region -> resources the manifests predict
        self._refreshing: set[str] = set()  # regions whose index is being read in the background
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Expire the index (a pass reads it afresh; edits keep the old one until the new one is
        in) and drop any partial one."""
        with self._lock:
            for cached in self._inventories.values():
                cached.at = float("-inf")
            self._partials.clear()

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

    def seed(self, region: str, live: livestate.LiveEndpoint | None, tags: dict[str, str]) -> None:
        """An owned endpoint `apply` read ahead: in the partial index `PARTIAL_INDEX_OK` readers
        see, unless a complete index is at hand (`--prune` reads it first)."""
        with self._lock:
            cached = self._inventories.get(region)
            if cached is not None and not self._expired(cached):
                return
            partial = self._partials.setdefault(
                region, _Partial(livestate.Inventory(), time.monotonic(), ())
            )
            if live is not None and tags:
                owned = livestate.Owned(kinds.ENDPOINT.segment, live.name, live.arn, tags)
                partial.inventory.put(owned)

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
        return time.monotonic() - cached.at > self._ttl

    def _fetch_inventory(self, region: str) -> _Cached:
        """Read the region's index; one whose endpoint query was streamed is completed instead."""
        tagging_client = self.clients.client("resourcegroupstaggingapi", region)
        with self._lock:
            partial = self._partials.pop(region, None)
        owner = self._owner
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
        for page in reading.owned_pages(tagging_client, self._owner, first):
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
