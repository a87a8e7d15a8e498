"""Change detection by listing: a settled endpoint's description is kept and reused while
ListEndpoints shows it unchanged, so a no-op pass costs a listing per region, not a describe
per endpoint.

On a pass that lists (`new_pass`) one ListEndpoints sweep per region (100 endpoints a page) says
whether a kept endpoint's status and LastModifiedTime are still the same; only then is its kept
description reused instead of a DescribeEndpoint. Anything we change (`forget`), anything
changed by hand (SageMaker moves LastModifiedTime on every update, weights change and status
change), anything missing from the listing and anything not settled is described. A full
describe pass (`forget_all`) runs at a longer interval as the backstop.

Kept apart from the owned index (`ownedindex`): it caches descriptions, not ownership, and
shares nothing with it but the pass; `livecache` joins the two.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from controller.aws import reading
from controller.core import livestate
from controller.keyedlocks import KeyedLocks
from controller.reconcile.freshness import STALE_INDEX_OK


@dataclass
class _Listing:
    versions: dict[str, tuple[str, str]]  # lower-cased name -> (status, LastModifiedTime)
    at: float


class KeptDescribes:
    """Thread-safe: the workers of a reconciler share one."""

    def __init__(self, listing_ttl: float) -> None:
        self._listing_ttl = listing_ttl  # seconds a pass's ListEndpoints sweep is trusted
        self._listings: dict[str, _Listing] = {}
        # (region, lower-cased name) -> the last description of a settled endpoint.
        self._settled: dict[tuple[str, str], livestate.LiveEndpoint] = {}
        # (region, lower-cased name) -> a description `seed` made for the next reconcile.
        self._seeded: dict[tuple[str, str], livestate.LiveEndpoint | None] = {}
        self._listed: set[str] = set()  # regions swept in this pass
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    def new_pass(self) -> None:
        """Let this pass list endpoints once per region; seeds of the last one are dropped."""
        with self._lock:
            self._seeded.clear()
            self._listed.clear()

    def forget_all(self) -> None:
        """Forget every kept description: the next pass describes every endpoint (backstop)."""
        with self._lock:
            self._settled.clear()

    def forget(self, region: str, name: str) -> None:
        """We are changing this endpoint: its kept description no longer holds."""
        with self._lock:
            self._settled.pop((region, name.lower()), None)
            self._seeded.pop((region, name.lower()), None)

    def seed(self, region: str, name: str, live: livestate.LiveEndpoint | None) -> None:
        """A description made just now for the endpoint's next reconcile, which takes it once."""
        with self._lock:
            self._seeded[(region, name.lower())] = live

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
            listing = self.listing(client, region)
            if listing is not None and listing.get(key[1]) == (kept.status, kept.last_modified):
                return kept
        live = reading.describe_endpoint(client, name)
        with self._lock:
            if live is not None and live.status == "InService" and live.last_modified:
                self._settled[key] = live
            else:
                self._settled.pop(key, None)
        return live

    def listing(self, client: Any, region: str) -> dict[str, tuple[str, str]] | None:
        """The region's ListEndpoints sweep, made at most once per pass and trusted for
        `listing_ttl`; None when it is too old and this pass already listed (an edit between
        passes then costs one DescribeEndpoint, not a sweep of the fleet)."""
        with self._fetching(region):
            with self._lock:
                cached, listed = self._listings.get(region), region in self._listed
            if listed:  # this pass swept already: reuse it while fresh (edits between passes)
                if cached is None or time.monotonic() - cached.at > self._listing_ttl:
                    return None
                return cached.versions
            cached = _Listing(reading.list_endpoint_versions(client), time.monotonic())
            with self._lock:
                self._listings[region] = cached
                self._listed.add(region)
        return cached.versions
