"""The pure autoscaling diff: registration, upserts, deregistration, ownership, never fighting."""

from __future__ import annotations

from typing import Any

import pytest
from builders import PROPERTY, desired, live, manifest, mirror, options, registry_variant
from hypothesis import given
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import Op, Reason, ResourceType, Status
from controller.core.plan.risk import Risk, assess
from controller.core.scaling import model as scaling
from controller.core.scaling.actions import in_sync, reconcile_targets
from controller.core.scaling.model import LiveTarget, ScalingSet, ScalingState

OURS = {tagging.MANAGED_BY: "default", tagging.ENDPOINT: "churn-prod"}
RID = "endpoint/churn-prod/variant/primary"
POLICY = "sagemaker-gitops-SageMakerVariantInvocationsPerInstance"


def scaled(low: int = 1, high: int = 4, target: float = 70, **extra: Any) -> dict[str, Any]:
    return registry_variant(
        count=None,
        autoscaling={
            "minCapacity": low,
            "maxCapacity": high,
            "targetTracking": [
                {
                    "predefinedMetric": "SageMakerVariantInvocationsPerInstance",
                    "targetValue": target,
                }
            ],
            **extra,
        },
    )


def as_live(want: ScalingSet, tags: dict[str, str] | None = OURS) -> LiveTarget:
    """The target AWS would describe after the manifest was applied."""
    return LiveTarget(RID, "arn:aws:application-autoscaling:x:1:scalable-target/abc", want, tags)


def kinds_of(actions: Any) -> list[tuple[Op, ResourceType]]:
    return [(a.op, a.type) for a in actions]


def test_a_new_target_is_registered_with_tags_then_its_policy() -> None:
    want = desired(manifest(variants=[scaled()]))

    plan = diff_endpoint(want, mirror(want), options())

    assert kinds_of(plan.actions) == [
        (Op.CREATE, ResourceType.SCALABLE_TARGET),
        (Op.CREATE, ResourceType.SCALING_POLICY),
    ]
    register = plan.actions[0].request
    assert register == {
        **scaling.target_key(RID),
        "MinCapacity": 1,
        "MaxCapacity": 4,
        "Tags": OURS,
    }
    assert plan.actions[1].request["PolicyName"] == POLICY


def test_in_sync_target_plans_nothing_and_needs_no_tags() -> None:
    want = desired(manifest(variants=[scaled()]))
    seen = mirror(want, scaling={"primary": as_live(want.scaling["primary"], tags=None)})

    plan = diff_endpoint(want, seen, options())

    assert plan.status is Status.UNCHANGED
    assert plan.warnings == ()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"high": 8}, [(Op.UPDATE, ResourceType.SCALABLE_TARGET)]),
        ({"target": 90}, [(Op.UPDATE, ResourceType.SCALING_POLICY)]),
        (
            {"scheduled": [{"name": "n", "schedule": "rate(1 day)", "maxCapacity": 2}]},
            [(Op.CREATE, ResourceType.SCHEDULED_ACTION)],
        ),
    ],
)
def test_edits_are_upserts_of_only_what_changed(edit: dict[str, Any], expected: Any) -> None:
    before = desired(manifest(variants=[scaled()]))
    want = desired(manifest(variants=[scaled(**edit)]))

    actions, warnings = reconcile_targets(
        want.name, want.scaling, {"primary": as_live(before.scaling["primary"])}, "default"
    )

    assert kinds_of(actions) == expected
    assert all(a.reason is Reason.AUTOSCALING for a in actions)
    assert warnings == []


def test_removed_autoscaling_deregisters_actions_then_policies_then_target() -> None:
    with_schedule = scaled(scheduled=[{"name": "n", "schedule": "rate(1 day)", "minCapacity": 2}])
    before = desired(manifest(variants=[with_schedule]))
    foreign = {"manual": {"PolicyType": "StepScaling"}}
    live_set = before.scaling["primary"]
    live_set = ScalingSet(2, 4, {**live_set.policies, **foreign}, live_set.actions)

    actions, _ = reconcile_targets("churn-prod", {}, {"primary": as_live(live_set)}, "default")

    assert kinds_of(actions) == [
        (Op.DELETE, ResourceType.SCHEDULED_ACTION),
        (Op.DELETE, ResourceType.SCALING_POLICY),
        (Op.DELETE, ResourceType.SCALABLE_TARGET),
    ]
    assert actions[1].request["PolicyName"] == POLICY  # someone else's policy is not deleted


@pytest.mark.parametrize("tags", [{}, {tagging.MANAGED_BY: "other"}])
def test_a_target_we_do_not_own_is_reported_and_left_alone(tags: dict[str, str]) -> None:
    want = desired(manifest(variants=[scaled()]))
    foreign = as_live(ScalingSet(2, 6), tags=tags)

    plan = diff_endpoint(want, mirror(want, scaling={"primary": foreign}), options())

    assert plan.actions == ()
    assert any("not managed by sagemaker-gitops" in w for w in plan.warnings)


def test_weights_change_sends_no_count_for_a_scaled_variant() -> None:
    want = desired(manifest(variants=[scaled(), registry_variant(name="b", count=3)]))
    target = as_live(want.scaling["primary"])
    endpoint = live(want, weights={"primary": (0.5, 7), "b": (1.0, 2)})

    plan = diff_endpoint(
        want, mirror(want, endpoint=endpoint, scaling={"primary": target}), options()
    )

    [update] = plan.actions
    assert update.request["DesiredWeightsAndCapacities"] == [
        {"VariantName": "primary", "DesiredWeight": 1.0},
        {"VariantName": "b", "DesiredWeight": 1.0, "DesiredInstanceCount": 3},
    ]
    assert all("initialInstanceCount" not in c.path or "[b]" in c.path for c in update.changes)


@PROPERTY
@given(live_count=st.integers(1, 50), low=st.integers(1, 10), span=st.integers(0, 10))
def test_count_drift_on_a_scaled_variant_is_never_drift(
    live_count: int, low: int, span: int
) -> None:
    want = desired(manifest(variants=[scaled(low=low, high=low + span)]))
    target = as_live(want.scaling["primary"])
    endpoint = live(want, weights={"primary": (1.0, live_count)})

    plan = diff_endpoint(
        want, mirror(want, endpoint=endpoint, scaling={"primary": target}), options()
    )

    assert plan.actions == ()


@PROPERTY
@given(live_count=st.integers(1, 50), low=st.integers(1, 10), span=st.integers(0, 10))
def test_a_new_config_starts_from_the_live_count_clamped(
    live_count: int, low: int, span: int
) -> None:
    old = desired(manifest(variants=[scaled(low=low, high=low + span)]))
    new = desired(
        manifest(
            variants=[
                {
                    **scaled(low=low, high=low + span),
                    "model": {"packageGroup": "churn-xgb", "version": 8},
                }
            ]
        )
    )
    seen = mirror(
        old,
        endpoint=live(old, weights={"primary": (1.0, live_count)}),
        live_terms=dict(old.terms),
        config_exists=False,
        missing_models=frozenset(m.name for m in new.models),
        scaling={"primary": as_live(old.scaling["primary"])},
    )

    plan = diff_endpoint(new, seen, options())

    [config] = [a for a in plan.actions if a.type is ResourceType.ENDPOINT_CONFIG]
    [variant] = config.request["ProductionVariants"]
    assert variant["InitialInstanceCount"] == max(low, min(low + span, live_count))
    assert not any(a.type is ResourceType.SCALABLE_TARGET for a in plan.actions)
    assert all("initialInstanceCount" not in c.path for a in plan.actions for c in a.changes)


def retyped(tags: dict[str, str] | None = OURS) -> Any:
    """The plan for a scaled variant moving to another instance type."""
    old = desired(manifest(variants=[scaled()]))
    new = desired(manifest(variants=[{**scaled(), "instanceType": "ml.c5.xlarge"}]))
    target = as_live(old.scaling["primary"], tags=tags)
    seen = mirror(old, live_terms=dict(old.terms), config_exists=False, scaling={"primary": target})
    return diff_endpoint(new, seen, options())


def test_instance_type_change_deregisters_before_the_update() -> None:
    plan = retyped()

    assert (Op.DELETE, ResourceType.SCALABLE_TARGET) in kinds_of(plan.actions)
    assert (Op.UPDATE, ResourceType.ENDPOINT) in kinds_of(plan.actions)
    deregister = next(a for a in plan.actions if a.type is ResourceType.SCALABLE_TARGET)
    assert deregister.reason is Reason.SCALED_VARIANT_REPLACED
    assert any("registered again once the endpoint is InService" in w for w in plan.warnings)


def test_instance_type_change_of_someone_elses_target_is_an_error() -> None:
    plan = retyped(tags={})

    assert plan.status is Status.ERROR
    assert plan.error_reason == "ScaledVariantNotOwned"


def test_terms_of_desired_and_described_policies_agree() -> None:
    want = desired(
        manifest(
            variants=[
                scaled(
                    stepScaling=[
                        {
                            "name": "burst",
                            "adjustmentType": "ChangeInCapacity",
                            "stepAdjustments": [
                                {"metricIntervalLowerBound": 0, "scalingAdjustment": 2}
                            ],
                        }
                    ]
                )
            ]
        )
    )
    wanted = want.scaling["primary"]
    # AWS describes more than was sent (ARN, alarms, creation time): none of it is a difference.
    described = {
        name: {**p, "PolicyARN": "arn", "Alarms": [], "CreationTime": "t", "PolicyName": name}
        for name, p in wanted.policies.items()
    }

    assert in_sync("primary", wanted, as_live(ScalingSet(1, 4, described)))
    assert set(scaling.terms(scaling.variant_base("primary"), wanted)) >= {
        "variants[primary].autoscaling.stepScaling[burst].stepAdjustments",
        "variants[primary].autoscaling.targetTracking"
        "[SageMakerVariantInvocationsPerInstance].predefinedMetric",
    }


@pytest.mark.parametrize(
    "before",
    [None, ScalingSet(1, 2, {POLICY: {"PolicyType": "TargetTrackingScaling"}}, {})],
    ids=["unregistered", "out-of-step"],
)
def test_applied_actions_fold_into_the_cached_state(before: ScalingSet | None) -> None:
    want = desired(
        manifest(
            variants=[
                scaled(scheduled=[{"name": "n", "schedule": "rate(1 day)", "minCapacity": 2}])
            ]
        )
    )
    live = {} if before is None else {"primary": as_live(before)}
    state = ScalingState({RID.lower(): t for t in live.values()})

    actions, _ = reconcile_targets(want.name, want.scaling, live, "default")
    after = state.after(actions).for_endpoint(want.name)

    assert in_sync("primary", want.scaling["primary"], after["primary"])
    assert tagging.owned_by(after["primary"].tags, "default")
    assert reconcile_targets(want.name, want.scaling, after, "default") == ([], [])


def test_deregistration_folds_into_the_cached_state() -> None:
    want = desired(manifest(variants=[scaled()]))
    live = {"primary": as_live(want.scaling["primary"])}
    actions, _ = reconcile_targets(want.name, {}, live, "default")

    assert ScalingState({RID.lower(): live["primary"]}).after(actions).targets == {}


def test_a_capacity_range_change_is_medium_risk_a_policy_edit_low() -> None:
    before = desired(manifest(variants=[scaled()]))
    live = {"primary": as_live(before.scaling["primary"])}

    def risk_of(**edit: Any) -> Risk:
        want = desired(manifest(variants=[scaled(**edit)]))
        return assess(diff_endpoint(want, mirror(want, scaling=live), options()))

    assert risk_of(high=8) is Risk.MEDIUM
    assert risk_of(target=90) is Risk.LOW


def test_a_failed_rollout_says_autoscaling_stays_off() -> None:
    old = desired(manifest(variants=[scaled()]))
    new = desired(manifest(variants=[{**scaled(), "instanceType": "ml.c5.xlarge"}]))
    endpoint = live(old, failure_reason="health check failed")
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: new.config_name}
    seen = mirror(old, endpoint=endpoint, endpoint_tags=tags, live_terms=dict(old.terms))

    plan = diff_endpoint(new, seen, options())

    assert plan.error_reason == "RolloutFailed"
    assert "autoscaling of primary stays off until then" in plan.errors[0]
