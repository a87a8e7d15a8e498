"""Rollout events, derived from the transition one reconcile Outcome makes on an endpoint.

The service sees every Outcome (statuses.update_status); this module turns "what happened just
now" plus "what was in flight before" into the events people want to hear about. It is pure: the
notifier decides where events go, and deduplicates them per (endpoint, revision, event).

    RolloutStarted    a mutating apply that creates or updates the Endpoint itself
    RolloutSucceeded  the endpoint converged after a rollout this service started
    RolloutFailed     a rollout in flight (or a create) ended Failed / needing attention
    RolledBack        SageMaker rolled a failed update back to the previous config
    DriftHealed       a change made outside the controller was undone: a drift-only plan, or
                      weights, capacity, tags or scaling put back on an endpoint whose manifest
                      was applied before (its spec-hash tag says so, which survives a restart)

and, from `run --promote` (one per pipeline stage and version; `Event.stage` says which):

    StageVerified     a stage's analysis passed; the verdict is in the Model Registry
    StageFailed       it failed (or the stage rolled back): the version is held
    StageInconclusive too little traffic or no data: a human decides (verify --approve/--reject)
    Promoted          a promotion was written (a commit pushed, or a pull request opened)
    StageRolledBack   a failed stage's revert to its last verified version was written
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Op, Reason, ResourceType
from controller.core.snapshots import split_key
from controller.service.status.locations import DEFAULT_TARGET


class EventKind(StrEnum):
    ROLLOUT_STARTED = "RolloutStarted"
    ROLLOUT_SUCCEEDED = "RolloutSucceeded"
    ROLLOUT_FAILED = "RolloutFailed"
    ROLLED_BACK = "RolledBack"
    DRIFT_HEALED = "DriftHealed"
    STAGE_VERIFIED = "StageVerified"
    STAGE_FAILED = "StageFailed"
    STAGE_INCONCLUSIVE = "StageInconclusive"
    PROMOTED = "Promoted"
    STAGE_ROLLED_BACK = "StageRolledBack"


@dataclass(frozen=True)
class StageRef:
    """Which pipeline stage and version a stage event is about."""

    pipeline: str
    stage: str
    group: str
    version: int


# TERMINAL reasons that mean the endpoint itself failed, whether or not we saw the rollout start
# (a restarted service still reports a create that failed while it was down).
_FAILED_REASONS = frozenset({"EndpointFailed", "NeedsAttention"})


@dataclass(frozen=True)
class Rollout:
    """A change this service applied and is watching until it settles."""

    revision: str | None
    started: str  # ISO 8601 UTC
    summary: str
    drift_only: bool

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Event:
    """One notification-worthy transition of one endpoint."""

    kind: EventKind
    key: str  # location/name (location: the target's name, or the region)
    endpoint: str
    region: str  # the AWS region
    revision: str | None
    message: str
    reason: str
    manifest: str | None
    time: str  # ISO 8601 UTC
    models: dict[str, str] = field(default_factory=dict)
    # The manifest's content hash: tells rollouts apart where there is no git revision.
    fingerprint: str | None = None
    target: str = DEFAULT_TARGET  # the Target's name; "default" without spec.target
    # The service deploys to more than one location: messages say where, not just the name.
    several_locations: bool = False
    # Set on stage events: `endpoint` is then `<pipeline>/<stage>`.
    stage: StageRef | None = None

    @property
    def location(self) -> str:
        """The key's location (a target's name or a region): unique per account and region."""
        return split_key(self.key)[0]

    @property
    def dedup_key(self) -> tuple[str, str, str]:
        """One message per endpoint, revision (else manifest content) and event.

        Except heals: each is its own change (a second hand edit at the same revision is healed
        and announced again), so the time it settled tells them apart.
        """
        version = self.revision or f"manifest:{self.fingerprint or ''}"
        if self.kind is EventKind.DRIFT_HEALED:
            version += f"@{self.time}"
        return (self.key, version, self.kind.value)


def transition(
    rollout: Rollout | None,
    outcome: Outcome,
    revision: str | None,
    now: datetime,
    settled_before: bool = False,
) -> tuple[Rollout | None, list[EventKind]]:
    """The rollout still in flight after `outcome`, and the events this step produced.

    `settled_before`: this service saw the endpoint converge on this very manifest, so it was
    applied, whatever the spec-hash tag says (a scaling-only change does not rewrite it).
    """
    events: list[EventKind] = []
    plan = outcome.plan
    heal = plan is not None and _heals(plan, settled_before)
    changed = outcome.mutated and plan is not None and (heal or _touches_endpoint_or_drift(plan))
    # A rollout in flight stays one, though its later steps find the spec-hash tag written.
    if changed and (
        rollout is None or rollout.revision != revision or (rollout.drift_only and not heal)
    ):
        rollout = Rollout(revision, now.isoformat(), outcome.message, heal)
        if not heal:
            events.append(EventKind.ROLLOUT_STARTED)
    if outcome.kind is OutcomeKind.CONVERGED and rollout is not None:
        kind = EventKind.DRIFT_HEALED if rollout.drift_only else EventKind.ROLLOUT_SUCCEEDED
        return None, [*events, kind]
    if outcome.kind is OutcomeKind.TERMINAL:
        if outcome.reason == "RolloutFailed":
            return None, [*events, EventKind.ROLLED_BACK]
        if rollout is not None or outcome.reason in _FAILED_REASONS:
            return None, [*events, EventKind.ROLLOUT_FAILED]
    return rollout, events


# What an applied manifest's plan can hold when someone changed the endpoint by hand: a capacity
# or weight, a tag, a scaling setting or a component's copy count put back (a new registry
# version is VersionChanged, and a new config or component rollout is not a repair).
_REPAIRS = frozenset(
    {
        Reason.DRIFT,
        Reason.WEIGHTS_ONLY,
        Reason.TAGS_ONLY,
        Reason.AUTOSCALING,
        Reason.COPIES_ONLY,
    }
)


def _touches_endpoint_or_drift(plan: EndpointPlan) -> bool:
    """Tag-only bookkeeping and garbage collection are not rollouts; drift repairs are heard."""
    return any(
        (a.type is ResourceType.ENDPOINT and a.op in (Op.CREATE, Op.UPDATE))
        or a.reason is Reason.DRIFT
        for a in plan.actions
    )


def _heals(plan: EndpointPlan, settled_before: bool) -> bool:
    """The plan only undoes changes made outside the controller."""
    reasons = {a.reason for a in plan.actions} - {Reason.SUPERSEDED}
    if not reasons:
        return False
    applied = plan.deployed or settled_before
    return reasons == {Reason.DRIFT} or (applied and reasons <= _REPAIRS)
