"""Application Auto Scaling state for a pass: one region-wide read, shared by every endpoint.

Like the owned-resource index: the region's scalable targets (variants and inference
components), policies and scheduled actions, and the controller's scale-out-from-zero alarms
(only when some component target exists), are read once (paged) and reused until `forget` (a new
pass) or the TTL; the controller's own writes are folded in (`remember`), so a registration pass
reads nothing again. Tags are read only on demand and cached by ARN (new at every registration).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from controller.aws import alarms as alarm_reads
from controller.aws import scaling as scaling_reads
from controller.aws.clients import Clients
from controller.core import kinds
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.plan.plans import Action, Reason
from controller.core.scaling import components as scaling_components
from controller.core.scaling.actions import in_sync_at
from controller.core.scaling.model import LiveAlarm, LiveTarget, ScalingState, component_base
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

    def forget(self, region: str | None = None) -> None:
        """Read afresh next time: every region (a new pass), or one after a failed apply."""
        with self._lock:
            if region is None:
                self._states.clear()
            else:
                self._states.pop(region, None)

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
                state = scaling_reads.read_scaling(client)
                if state.components:  # no component target: no alarm of ours to keep
                    cloudwatch = self.clients.client(kinds.CLOUDWATCH, region)
                    state = replace(state, alarms=alarm_reads.read_alarms(cloudwatch))
                cached = _Cached(state, time.monotonic())
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

    def for_components(
        self, region: str, want: DesiredEndpoint, names: list[str], controller_id: str
    ) -> tuple[dict[str, LiveTarget], dict[str, LiveAlarm]]:
        """The copy-count targets and scale-out-from-zero alarms of the live components `names`
        (lower-cased keys), with tags only for those the plan may change."""
        sets = scaling_components.wanted_sets(want)
        wanted = scaling_components.wanted_alarms(want, controller_id)
        targets = self.component_targets(
            region, names, lambda n, t: not in_sync_at(component_base(n), sets.get(n.lower()), t)
        )
        found = self.alarms(
            region,
            {n.lower(): scaling_components.alarm_name(n) for n in names},
            lambda k, a: (
                not scaling_components.alarm_in_sync(
                    component_base(k), wanted.get(k), a, targets.get(k)
                )
            ),
        )
        return targets, found

    def teardown(self, region: str, names: list[str], controller_id: str) -> list[Action]:
        """Deregistration of the controller's autoscaling on components about to be deleted
        with their endpoint (tags read for each, as before any delete)."""
        targets = self.component_targets(region, names, lambda n, t: True)
        alarms = self.alarms(
            region, {n.lower(): scaling_components.alarm_name(n) for n in names}, lambda k, a: True
        )
        reason = Reason.MANIFEST_REMOVED
        return [
            action
            for n in names
            for action in scaling_components.teardown(
                n, targets.get(n.lower()), alarms.get(n.lower()), controller_id, reason
            )
        ]

    def component_targets(
        self, region: str, names: list[str], need_tags: Callable[[str, LiveTarget], bool]
    ) -> dict[str, LiveTarget]:
        """Lower-cased component -> its copy-count target, with tags where `need_tags` says."""
        found = self.state(region).for_components(names)
        return {
            n.lower(): replace(t, tags=self._tags_of(region, t))
            if t.tags is None and need_tags(n, t)
            else t
            for n, t in found.items()
        }

    def alarms(
        self, region: str, wanted: dict[str, str], need_tags: Callable[[str, LiveAlarm], bool]
    ) -> dict[str, LiveAlarm]:
        """key -> live alarm, for `wanted` (key -> alarm name), with tags where `need_tags` says."""
        live = self.state(region).alarms
        found = {k: a for k, name in wanted.items() if (a := live.get(name.lower())) is not None}
        return {
            k: replace(a, tags=self._alarm_tags(region, a))
            if a.tags is None and need_tags(k, a)
            else a
            for k, a in found.items()
        }

    def _tags_of(self, region: str, target: LiveTarget) -> dict[str, str]:
        return self._tags_by_arn(
            target.arn,
            lambda: scaling_reads.target_tags(
                self.clients.client(kinds.AUTOSCALING, region), target.arn
            ),
        )

    def _alarm_tags(self, region: str, alarm: LiveAlarm) -> dict[str, str]:
        return self._tags_by_arn(
            alarm.arn,
            lambda: alarm_reads.alarm_tags(
                self.clients.client(kinds.CLOUDWATCH, region), alarm.arn
            ),
        )

    def _tags_by_arn(self, arn: str, read: Callable[[], dict[str, str]]) -> dict[str, str]:
        with self._lock:
            known = self._tags.get(arn)
        if known is None:
            known = read()
            with self._lock:
                self._tags[arn] = known
        return known
