"""Rollout events from outcome transitions, and kstatus conditions from sync state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    Health,
    Op,
    Reason,
    ResourceType,
    Status,
)
from controller.service.status.conditions import conditions
from controller.service.status.events import EventKind, Rollout, transition
from controller.service.status.statuses import EndpointStatus, Hold, update_status

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SHA = "a" * 40


def plan(*actions: Action, health: Health = Health.HEALTHY) -> EndpointPlan:
    status = Status.UPDATE if actions else Status.UNCHANGED
    return EndpointPlan(
        "churn", "churn.yaml", "us-east-1", status, health, actions, models={"primary": "g v2"}
    )


UPDATE = Action(Op.UPDATE, ResourceType.ENDPOINT, "churn", Reason.VERSION_CHANGED)
DRIFT = Action(Op.UPDATE, ResourceType.ENDPOINT, "churn", Reason.DRIFT)
TAGS = Action(Op.TAG, ResourceType.ENDPOINT, "churn", Reason.TAGS_ONLY)


def applied(*actions: Action) -> Outcome:
    return Outcome("churn", OutcomeKind.REQUEUE, "updating", 5.0, plan(*actions), mutated=True)


def settled() -> Outcome:
    return Outcome("churn", OutcomeKind.CONVERGED, "in sync", plan=plan(), reason="Synced")


def test_a_rollout_starts_once_and_succeeds_once() -> None:
    rollout, first = transition(None, applied(UPDATE), SHA, NOW)
    busy = Outcome("churn", OutcomeKind.REQUEUE, "changing", 5.0, plan(health=Health.PROGRESSING))
    rollout, second = transition(rollout, busy, SHA, NOW)
    rollout, third = transition(rollout, settled(), SHA, NOW)
    assert (first, second, third) == (
        [EventKind.ROLLOUT_STARTED],
        [],
        [EventKind.ROLLOUT_SUCCEEDED],
    )
    assert rollout is None


def test_converging_without_a_rollout_is_silent() -> None:
    assert transition(None, settled(), SHA, NOW) == (None, [])


def test_tag_only_changes_are_not_rollouts() -> None:
    outcome = Outcome("churn", OutcomeKind.CONVERGED, "tags", plan=plan(TAGS), mutated=True)
    assert transition(None, outcome, SHA, NOW) == (None, [])


def test_a_drift_repair_is_heard_as_drift_healed() -> None:
    rollout, started = transition(None, applied(DRIFT), SHA, NOW)
    assert started == [] and rollout is not None and rollout.drift_only
    assert transition(rollout, settled(), SHA, NOW)[1] == [EventKind.DRIFT_HEALED]


def test_a_rolled_back_update_and_a_failed_create() -> None:
    rollout = Rollout(SHA, NOW.isoformat(), "updating", drift_only=False)
    back = Outcome(
        "churn", OutcomeKind.TERMINAL, "rolled back", plan=plan(), reason="RolloutFailed"
    )
    assert transition(rollout, back, SHA, NOW) == (None, [EventKind.ROLLED_BACK])
    failed = Outcome("churn", OutcomeKind.TERMINAL, "Failed", plan=plan(), reason="EndpointFailed")
    assert transition(None, failed, SHA, NOW) == (None, [EventKind.ROLLOUT_FAILED])
    bad_spec = Outcome("churn", OutcomeKind.TERMINAL, "bad", plan=plan(), reason="InvalidSpec")
    assert transition(None, bad_spec, SHA, NOW) == (None, [])


def test_update_status_keeps_the_plan_variants_and_emits_events() -> None:
    entry = EndpointStatus("us-east-1/churn", "churn")
    events = update_status(entry, applied(UPDATE), Hold(), SHA, NOW, {"primary": 0.5})
    assert [e.kind for e in events] == [EventKind.ROLLOUT_STARTED]
    assert events[0].dedup_key == ("us-east-1/churn", SHA, "RolloutStarted")
    # Without git, the manifest's content tells one rollout from the next.
    fresh = EndpointStatus("us-east-1/churn", "churn")
    unversioned = update_status(fresh, applied(UPDATE), Hold(), None, NOW, None, "f1")
    assert unversioned[0].dedup_key == ("us-east-1/churn", "manifest:f1", "RolloutStarted")
    assert entry.variants == {"primary": {"model": "g v2", "weight": 0.5}}
    shown = entry.as_json()
    assert shown["region"] == "us-east-1" and shown["rollout"]["revision"] == SHA
    assert "plan" not in shown
    assert [c["type"] for c in shown["conditions"]] == ["Ready", "Reconciling"]


def test_conditions_follow_kstatus() -> None:
    ready = conditions("Synced", "Healthy", "Synced", "in sync", SHA)
    assert ready == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "in sync",
            "observedRevision": SHA,
        }
    ]
    stalled = conditions("Failed", "Degraded", "RolloutFailed", "rolled back", SHA)
    assert [(c["type"], c["status"], c["reason"]) for c in stalled] == [
        ("Ready", "False", "RolloutFailed"),
        ("Stalled", "True", "RolloutFailed"),
    ]
    progressing = conditions("Progressing", "Progressing", "Progressing", "updating", None)
    assert [(c["type"], c["status"]) for c in progressing] == [
        ("Ready", "False"),
        ("Reconciling", "True"),
    ]
    assert progressing[1]["observedRevision"] == ""


WEIGHTS = Action(Op.UPDATE, ResourceType.ENDPOINT, "churn", Reason.WEIGHTS_ONLY)
SCALING = Action(Op.UPDATE, ResourceType.SCALABLE_TARGET, "churn/primary", Reason.AUTOSCALING)


def applied_to_deployed(*actions: Action, kind: OutcomeKind = OutcomeKind.REQUEUE) -> Outcome:
    """Applied where the live spec-hash tag is the manifest's: it was applied before."""
    done = dataclasses.replace(plan(*actions), deployed=True)
    return Outcome("churn", kind, "applied", 5.0, done, mutated=True)


def test_capacity_tag_and_scaling_repairs_of_an_applied_manifest_are_heals() -> None:
    for actions in ((WEIGHTS,), (TAGS,), (SCALING,), (WEIGHTS, TAGS)):
        rollout, started = transition(None, applied_to_deployed(*actions), SHA, NOW)
        assert started == [] and rollout is not None and rollout.drift_only, actions
        assert transition(rollout, settled(), SHA, NOW) == (None, [EventKind.DRIFT_HEALED])
    tagged = applied_to_deployed(TAGS, kind=OutcomeKind.CONVERGED)  # done in one step
    assert transition(None, tagged, SHA, NOW) == (None, [EventKind.DRIFT_HEALED])


def test_changes_to_a_manifest_not_applied_yet_are_rollouts() -> None:
    rollout, started = transition(None, applied(WEIGHTS), SHA, NOW)
    assert started == [EventKind.ROLLOUT_STARTED]
    assert transition(rollout, settled(), SHA, NOW)[1] == [EventKind.ROLLOUT_SUCCEEDED]
    # A new registry version under an unchanged manifest is a rollout, not a repair.
    _, started = transition(None, applied_to_deployed(UPDATE, WEIGHTS), SHA, NOW)
    assert started == [EventKind.ROLLOUT_STARTED]


def test_a_rollout_in_flight_is_not_turned_into_a_heal_by_its_later_steps() -> None:
    rollout, _ = transition(None, applied(UPDATE), SHA, NOW)
    rollout, later = transition(rollout, applied_to_deployed(SCALING), SHA, NOW)
    assert later == [] and rollout is not None and not rollout.drift_only
    assert transition(rollout, settled(), SHA, NOW)[1] == [EventKind.ROLLOUT_SUCCEEDED]


def test_two_heals_at_one_revision_are_two_messages() -> None:
    entry = EndpointStatus("us-east-1/churn", "churn")
    keys = []
    for minute in (1, 2):
        at = NOW.replace(minute=minute)
        update_status(entry, applied_to_deployed(WEIGHTS), Hold(), SHA, at)
        (healed,) = update_status(entry, settled(), Hold(), SHA, at.replace(second=30))
        assert healed.kind is EventKind.DRIFT_HEALED
        keys.append(healed.dedup_key)
    assert keys[0] != keys[1]


def test_a_repair_after_this_service_saw_the_manifest_settle_is_a_heal() -> None:
    """Even where the spec-hash tag is stale (a scaling-only change does not rewrite it)."""
    entry = EndpointStatus("us-east-1/churn", "churn")
    update_status(entry, settled(), Hold(), SHA, NOW, fingerprint="f1")
    assert update_status(entry, applied(WEIGHTS), Hold(), SHA, NOW, fingerprint="f1") == []
    assert entry.rollout is not None and entry.rollout.drift_only
    (healed,) = update_status(entry, settled(), Hold(), SHA, NOW, fingerprint="f1")
    assert healed.kind is EventKind.DRIFT_HEALED
    # The manifest changed (another fingerprint): the same kind of change is a rollout.
    (started,) = update_status(entry, applied(WEIGHTS), Hold(), SHA, NOW, fingerprint="f2")
    assert started.kind is EventKind.ROLLOUT_STARTED
    assert "settled_on" not in entry.as_json()
