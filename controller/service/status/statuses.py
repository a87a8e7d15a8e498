"""The service's shared state, and per-endpoint status derived from Outcomes.

`ServiceState` is what the control loop, the workers and the HTTP threads share (under its lock):
the current snapshot, leadership, suspension, and one `EndpointStatus` per endpoint key, which
`update_status` refreshes after every reconcile. The mapping from an Outcome to the sync state
users see lives here so it is one small table, not logic spread through the runner.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, runtime_checkable

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Health, Op, ResourceType
from controller.core.snapshots import split_key
from controller.service.ports import SnapshotT
from controller.service.status.conditions import conditions
from controller.service.status.events import Event, EventKind, Rollout, transition
from controller.service.status.locations import DEFAULT_TARGET, Location, locate, of_plan


class SyncState(StrEnum):
    """Per-endpoint sync state shown by /status and the endpoints gauge."""

    SYNCED = "Synced"  # live matches the manifest
    OUT_OF_SYNC = "OutOfSync"  # changes are pending and held (window, prune guard, not applied)
    PROGRESSING = "Progressing"  # a change is in flight (Creating/Updating)
    FAILED = "Failed"  # terminal error: waits for a new manifest, revision or resync
    SUSPENDED = "Suspended"  # spec.suspend or POST /suspend: reported, never applied
    UNKNOWN = "Unknown"  # not reconciled yet, or the last attempt could not tell


@dataclass(frozen=True)
class Hold:
    """Why an endpoint is reconciled report-only this time; kind None means apply."""

    kind: str | None = None  # "leader" | "suspended" | "window"
    reason: str | None = None


@runtime_checkable
class Weighted(Protocol):
    """A snapshot that can tell each variant's desired traffic weight (the status page shows it)."""

    def weights(self, key: str) -> Mapping[str, float]: ...


@runtime_checkable
class Located(Protocol):
    """A snapshot that knows the AWS region of an endpoint's target (keys name only the target)."""

    def target_region(self, key: str) -> str | None: ...


@runtime_checkable
class Projected(Protocol):
    """A snapshot that knows an endpoint's project (with `projects:` in the repo config)."""

    def project(self, key: str) -> str | None: ...


def location_of(snapshot: object, key: str) -> Location:
    """Where `key` deploys, as far as the snapshot tells before any plan."""
    region = snapshot.target_region(key) if isinstance(snapshot, Located) else None
    project = snapshot.project(key) if isinstance(snapshot, Projected) else None
    return locate(key, region, project)


@dataclass
class EndpointStatus:
    """What /status and the status page say about one endpoint."""

    key: str  # location/name: unique, the status page's anchors and URLs use it
    name: str
    target: str = DEFAULT_TARGET  # the Target's name, or "default" (no spec.target)
    region: str = ""  # the AWS region (a target's region, not its name)
    project: str | None = None  # with `projects:` in the repo config
    sync: SyncState = SyncState.UNKNOWN
    health: str = Health.UNKNOWN.value
    revision: str | None = None
    manifest: str | None = None
    reason: str = ""
    message: str = ""
    held: str | None = None
    last_error: str | None = None
    last_reconcile: str | None = None  # ISO 8601 UTC
    # variant name -> {"model": "group v7" or image, "weight": desired initialWeight}
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    rollout: Rollout | None = None  # a change applied by this service, not settled yet
    plan: EndpointPlan | None = None  # the last plan, for the status page's detail view
    settled_on: str | None = None  # the manifest fingerprint it last converged on, here

    _PRIVATE = ("plan", "rollout", "settled_on")

    @classmethod
    def at(cls, key: str, name: str, location: Location) -> EndpointStatus:
        project = location.project or None
        return cls(key, name, target=location.target, region=location.region, project=project)

    @property
    def location(self) -> Location:
        return Location(self.target, self.region, self.project or "")

    def as_json(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k not in self._PRIVATE}
        return {
            **fields,
            "sync": self.sync.value,
            "rollout": self.rollout.as_json() if self.rollout else None,
            "conditions": conditions(
                self.sync.value, self.health, self.reason, self.message, self.revision
            ),
        }


@dataclass
class ServiceState(Generic[SnapshotT]):
    """State read and written by the control loop, workers and HTTP threads; hold `lock`."""

    snapshot: SnapshotT | None = None
    keys: frozenset[str] = frozenset()
    root: Path | None = None
    revision: str | None = None
    leading: bool = True
    suspended: bool = False
    initial: set[str] | None = None  # keys of the first enqueue not yet reconciled
    aws_ok: bool | None = None  # did the last reconcile get answers from AWS
    # The last failure of each input step ("fetch", "load"), for /status and /readyz; each is
    # cleared by that step's next success, so a problem is never shown after it is gone.
    problems: dict[str, str] = field(default_factory=dict)
    # Endpoint name and labels by key, remembered so a removed manifest's endpoint is still
    # matched by deploy windows and shown by its name.
    identities: dict[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)
    # Keys whose last outcome was TERMINAL -> (fingerprint, revision) it failed on.
    terminal: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    statuses: dict[str, EndpointStatus] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def problem(self) -> str | None:
        return "; ".join(self.problems[k] for k in sorted(self.problems)) or None

    def several_locations(self) -> bool:
        """More than one target or region among the manifests and the endpoints still shown."""
        keys = self.keys | self.statuses.keys()
        return len({split_key(k)[0] for k in keys}) > 1


def update_status(
    entry: EndpointStatus,
    outcome: Outcome,
    hold: Hold,
    revision: str | None,
    now: datetime,
    weights: Mapping[str, float] | None = None,
    fingerprint: str | None = None,
    several_locations: bool = False,
) -> list[Event]:
    """Refresh `entry` from `outcome`; the rollout events this step produced.

    `several_locations`: the service deploys to more than one target or region, so events
    name where the endpoint is (a bare name would be ambiguous).
    """
    plan = outcome.plan
    entry.name = outcome.endpoint or entry.name
    planned = of_plan(plan) if plan is not None else None
    if planned is not None:  # the plan was made against the target's real region
        entry.target, entry.region = planned.target, planned.region
        entry.project = planned.project or entry.project
    entry.sync = _sync_state(outcome, hold, entry.sync)
    if plan is not None:
        entry.health = _health_after(outcome, plan).value
        entry.manifest = plan.manifest
        entry.plan = plan
        entry.variants = {
            v: {"model": model, "weight": (weights or {}).get(v)}
            for v, model in plan.models.items()
        }
    entry.revision = revision
    entry.reason, entry.message, entry.held = outcome.reason, outcome.message, hold.reason
    if outcome.kind in (OutcomeKind.TRANSIENT, OutcomeKind.TERMINAL):
        entry.last_error = outcome.message
    elif outcome.kind is OutcomeKind.CONVERGED:
        entry.last_error = None
    entry.last_reconcile = now.isoformat()
    settled_before = fingerprint is not None and entry.settled_on == fingerprint
    entry.rollout, kinds = transition(entry.rollout, outcome, revision, now, settled_before)
    if outcome.kind is OutcomeKind.CONVERGED and plan is not None and not plan.has_changes:
        entry.settled_on = fingerprint
    return [_event(entry, kind, outcome, now, fingerprint, several_locations) for kind in kinds]


def _event(
    entry: EndpointStatus,
    kind: EventKind,
    outcome: Outcome,
    now: datetime,
    fingerprint: str | None,
    several_locations: bool,
) -> Event:
    return Event(
        kind=kind,
        key=entry.key,
        endpoint=entry.name,
        region=entry.region,
        target=entry.target,
        several_locations=several_locations,
        revision=entry.revision,
        message=outcome.message,
        reason=outcome.reason,
        manifest=entry.manifest,
        time=now.isoformat(),
        models={v: str(d["model"]) for v, d in entry.variants.items()},
        fingerprint=fingerprint,
    )


def _health_after(outcome: Outcome, plan: EndpointPlan) -> Health:
    """The endpoint's health as this step left it: the plan was made before the apply, and a
    create or update just sent leaves the endpoint Creating or Updating (not Missing, not the
    Healthy it was), which is what /status must say until the next look."""
    changed = outcome.mutated and any(
        a.type is ResourceType.ENDPOINT and a.op in (Op.CREATE, Op.UPDATE) for a in plan.actions
    )
    return Health.PROGRESSING if changed else plan.health


def _sync_state(outcome: Outcome, hold: Hold, previous: SyncState) -> SyncState:
    """Map an outcome (and why it was report-only) to the state users see."""
    plan = outcome.plan
    pending = bool(plan and plan.has_changes) and not outcome.mutated
    if hold.kind == "suspended":
        return SyncState.SUSPENDED
    if outcome.kind is OutcomeKind.TERMINAL:
        return SyncState.FAILED
    if outcome.kind is OutcomeKind.TRANSIENT:
        return previous  # one throttled call says nothing new about the endpoint
    if outcome.reason == "HeldBack":  # a guard keeps a removed endpoint: git and AWS differ
        return SyncState.OUT_OF_SYNC
    if pending and hold.kind is not None:
        return SyncState.OUT_OF_SYNC
    if outcome.kind is OutcomeKind.REQUEUE:
        return SyncState.PROGRESSING
    return SyncState.OUT_OF_SYNC if pending else SyncState.SYNCED
