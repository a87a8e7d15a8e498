"""One lock per key: concurrent readers of the same cache entry wait for a single fetch.

Without it, endpoints reconciled in parallel all miss an empty cache at once and each fetches
the same listing (the owned-resource index, a registry group), multiplying API calls.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
