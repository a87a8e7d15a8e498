"""Bounded store of the sorted result lists that paged listings are served from.

Rebuilding and sorting every matching resource for each page made a full GetResources sweep
quadratic (34 s at 3,000 endpoints). The first page builds the sorted list once and stores it
here; its NextToken names the snapshot, so each later page is a bisect and a slice.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_SNAPSHOTS = 16
"""Listings paged at once that keep their snapshot; an older token falls back to a rebuild."""


@dataclass(frozen=True)
class Snapshot:
    """One listing's matches in page order, with the query it answers."""

    query: tuple[Any, ...]
    keys: list[str]
    """Sort keys (ARNs), ascending: a page starts after the last key served."""
    items: list[Any]


class Snapshots:
    """Thread-safe LRU of snapshots by id; ids are never reused within one sandbox."""

    def __init__(self, limit: int = MAX_SNAPSHOTS) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._ids = itertools.count(1)
        self._by_id: OrderedDict[int, Snapshot] = OrderedDict()

    def add(self, snapshot: Snapshot) -> int:
        with self._lock:
            ident = next(self._ids)
            self._by_id[ident] = snapshot
            while len(self._by_id) > self._limit:
                self._by_id.popitem(last=False)
            return ident

    def get(self, ident: int, query: tuple[Any, ...]) -> Snapshot | None:
        """The snapshot, if still kept and made for the same query (a token is query-bound)."""
        with self._lock:
            snapshot = self._by_id.get(ident)
            if snapshot is None or snapshot.query != query:
                return None
            self._by_id.move_to_end(ident)
            return snapshot

    def drop(self, ident: int) -> None:
        """Forget a snapshot whose last page was served."""
        with self._lock:
            self._by_id.pop(ident, None)
