"""Application Auto Scaling state for a pass: one region-wide read, shared by every endpoint.

Like the owned-resource index: the region's variant scalable targets, policies and scheduled
actions are read once (paged) and reused until `forget` (a new pass) or the TTL; the
controller's own writes are folded in (`remember`), so a registration pass reads nothing again.
Target tags are read only on demand and cached by target ARN (new at every registration).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from controller.aws import scaling as scaling_reads
from controller.aws.clients import Clients
from controller.core import kinds
from controller.core.plans import Action
from controller.core.scaling import LiveTarget, ScalingState
from controller.keyedlocks import KeyedLocks


@dataclass
class _Cached:
    state: ScalingState
    at: float


class ScalingCache:
    """Thread-safe; one per Observer."""

    def __init__(self, clients: Clients, ttl: float) -> None:
        self.clients = clients
        self.ttl = ttl
        self._states: dict[str, _Cached] = {}
        self._tags: dict[str, dict[str, str]] = {}  # scalable target ARN -> tags
        self._fetching = KeyedLocks()
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._states.clear()

    def remember(self, region: str, actions: tuple[Action, ...]) -> None:
        """Fold the controller's own autoscaling writes into the cached state."""
        with self._lock:
            cached = self._states.get(region)
            if cached is not None:
                cached.state = cached.state.after(actions)

    def state(self, region: str) -> ScalingState:
        """The region's variant scalable targets: one paged read per pass (single-flight)."""
        with self._fetching(region):
            with self._lock:
                cached = self._states.get(region)
            if cached is None or time.monotonic() - cached.at > self.ttl:
                client = self.clients.client(kinds.AUTOSCALING, region)
                cached = _Cached(scaling_reads.read_scaling(client), time.monotonic())
                with self._lock:
                    self._states[region] = cached
        return cached.state

    def targets(
        self, region: str, endpoint: str, need_tags: Callable[[str, LiveTarget], bool]
    ) -> dict[str, LiveTarget]:
        """variant -> scalable target on `endpoint`, with tags for those `need_tags` picks."""
        found = self.state(region).for_endpoint(endpoint)
        return {
            v: replace(t, tags=self._tags_of(region, t))
            if t.tags is None and need_tags(v, t)
            else t
            for v, t in found.items()
        }

    def _tags_of(self, region: str, target: LiveTarget) -> dict[str, str]:
        with self._lock:
            known = self._tags.get(target.arn)
        if known is None:
            client = self.clients.client(kinds.AUTOSCALING, region)
            known = scaling_reads.target_tags(client, target.arn)
            with self._lock:
                self._tags[target.arn] = known
        return known
