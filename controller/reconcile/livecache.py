"""The live-read caches a reconciler shares across its workers: one facade over the parts.

`Observer` (observing) builds on `LiveCache`; the parts hold the state:
  ownedindex     the owned-resource index: background refresh, the split three-query read,
                 `apply`'s streamed endpoint pages and the partial index they fill
  keptdescribes  change detection by listing: settled descriptions reused while ListEndpoints
                 shows them unchanged
  scaling_cache  the Application Auto Scaling state, read once per region per pass
Descriptions of immutable kinds are cached for the life of the process
(`reading.DescribeCache`); our own writes update the caches, so the next step sees them without
a re-read. Tags come from the owned index, read every pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from controller.aws import reading
from controller.aws.clients import Clients
from controller.aws.components import ComponentReader
from controller.core import livestate
from controller.reconcile.keptdescribes import KeptDescribes
from controller.reconcile.ownedindex import OwnedIndex
from controller.reconcile.scaling_cache import ScalingCache


@dataclass(frozen=True)
class CacheOptions:
    controller_id: str  # the owned index lists what carries this managed-by tag
    index_ttl: float  # seconds the owned-resource index is reused between passes
    listing_ttl: float = 300.0  # seconds a pass's ListEndpoints sweep is trusted


class LiveCache:
    """Thread-safe caches of live reads; `Observer` builds on it, one per reconciler."""

    def __init__(self, clients: Clients, options: CacheOptions) -> None:
        self.clients = clients
        self.cache_options = options
        self.describes = reading.DescribeCache()
        self.components = ComponentReader()
        self.index = OwnedIndex(clients, options.controller_id, options.index_ttl)
        self.kept = KeptDescribes(options.listing_ttl)
        self.scaling = ScalingCache(clients, options.index_ttl)

    def forget_index(self) -> None:
        """Expire the owned index (a pass reads it afresh; edits keep the old one until the new
        one is in) and let this pass list endpoints once per region."""
        self.index.forget()
        self.kept.new_pass()
        self.scaling.forget()

    def expect_endpoints(self, counts: Mapping[str, int]) -> None:
        self.index.expect_endpoints(counts)

    def forget_endpoints(self) -> None:
        self.kept.forget_all()

    def forget_endpoint(self, region: str, name: str) -> None:
        self.kept.forget(region, name)

    def describe_endpoint(
        self, client: Any, region: str, name: str
    ) -> livestate.LiveEndpoint | None:
        return self.kept.describe_endpoint(client, region, name)

    def seed_endpoint(
        self, region: str, name: str, live: livestate.LiveEndpoint | None, tags: dict[str, str]
    ) -> None:
        """`apply`'s changed-files hint described this endpoint (and, owned, listed its tags)
        before any index read: its reconcile, next, takes the description instead of another
        DescribeEndpoint, and (`PARTIAL_INDEX_OK`) an index holding only what was read ahead,
        until `endpoint_pages` starts the real one."""
        self.kept.seed(region, name, live)
        self.index.seed(region, live, tags)

    def inventory(self, region: str) -> livestate.Inventory:
        return self.index.inventory(region)

    def endpoint_pages(self, region: str) -> Iterator[list[livestate.Owned]]:
        return self.index.endpoint_pages(region)
