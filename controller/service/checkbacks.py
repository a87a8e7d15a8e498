"""How soon to look again at a changing endpoint: soon after our own change, then less often.

A REQUEUE outcome asks for the next look after `--requeue-interval`, the right cadence while an
endpoint takes minutes to update. But many changes settle at once or within seconds (tags,
garbage collection, a scaling policy, a component's copy count, any update in a quick region), and
until the next look /status and the status page keep showing the endpoint as it was before the
change (Progressing, a create still Missing) for a whole interval. So the first look after an
apply comes `first` seconds later and each further look doubles the wait, up to the requested
delay: what is shown is stale for at most about as long as the change has taken so far, for a
few more DescribeEndpoint calls per rollout (four with the default 15 s interval).
"""

from __future__ import annotations

import threading


class CheckBacks:
    """Per key, how many looks have followed its last mutating apply (while it keeps changing)."""

    def __init__(self, first: float = 1.0) -> None:
        self._first = first
        self._looks: dict[str, int] = {}
        self._lock = threading.Lock()

    def delay(self, key: str, requested: float, mutated: bool) -> float:
        """The wait before the next look at `key`, which asked for `requested` seconds."""
        with self._lock:
            if mutated:
                looks = 0
            elif key in self._looks:
                looks = self._looks[key] + 1
            else:
                return requested
            wait = self._first * 2.0 ** min(looks, 32)
            if wait >= requested:  # back at the normal cadence: nothing left to remember
                self._looks.pop(key, None)
                return requested
            self._looks[key] = looks
            return wait

    def forget(self, key: str) -> None:
        """The key settled, failed or backs off: its next change starts a new series."""
        with self._lock:
            self._looks.pop(key, None)
