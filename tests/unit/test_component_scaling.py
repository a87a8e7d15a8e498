"""inferenceComponents[].autoscaling: validation, its Application Auto Scaling and CloudWatch
terms, and the plan (register when settled, deregister on removal or prune, ownership)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from builders import options
from test_component_diffs import _errors, _yaml, ic, ic_desired, live_of, seen_with

from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import Action, Op, Reason, ResourceType
from controller.core.scaling import model as scaling
from controller.core.scaling.components import (
    WAKE_POLICY,
    alarm_in_sync,
    alarm_name,
    wanted_alarms,
    wanted_sets,
)
from controller.core.scaling.model import LiveAlarm, LiveTarget, ScalingSet, ScalingState
from controller.manifests.scaling import COMPONENT_METRICS

TRACKING = {"predefinedMetric": "SageMakerInferenceComponentInvocationsPerCopy", "targetValue": 4}
SCALED = {"minCapacity": 0, "maxCapacity": 3, "targetTracking": [TRACKING], "scaleOutFromZero": {}}
OWNED = {"sagemaker-gitops/managed-by": "default", "sagemaker-gitops/endpoint": "gpu"}


def test_component_metrics_come_from_botocore() -> None:
    assert COMPONENT_METRICS == (
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
    )


@pytest.mark.parametrize(
    ("autoscaling", "message"),
    [
        (
            "{minCapacity: 0, maxCapacity: 2}",
            "spec.inferenceComponents[0].autoscaling: minCapacity 0 needs scaleOutFromZero",
        ),
        (
            "{minCapacity: 1, maxCapacity: 2, scaleOutFromZero: {}}",
            "spec.inferenceComponents[0].autoscaling: scaleOutFromZero is for minCapacity 0",
        ),
        (
            "{minCapacity: 2, maxCapacity: 3}",
            "spec.inferenceComponents[0]: copies 1 must be within autoscaling "
            "[minCapacity 2, maxCapacity 3]",
        ),
        (
            "{minCapacity: 1, maxCapacity: 2, targetTracking: [{predefinedMetric: "
            "SageMakerVariantInvocationsPerInstance, targetValue: 1}]}",
            "spec.inferenceComponents[0].autoscaling.targetTracking[0].predefinedMetric: must be "
            "'SageMakerInferenceComponentInvocationsPerCopy'",
        ),
        (
            "{minCapacity: 0, maxCapacity: 2, scaleOutFromZero: {period: 45}}",
            "spec.inferenceComponents[0].autoscaling.scaleOutFromZero: period 45: "
            "CloudWatch takes 10, 20, 30 or a multiple of 60",
        ),
        (
            "{minCapacity: 1, maxCapacity: 2, stepScaling: [{name: scale-out-from-zero, "
            "adjustmentType: ChangeInCapacity, stepAdjustments: [{scalingAdjustment: 1}]}]}",
            "stepScaling name scale-out-from-zero is scaleOutFromZero's",
        ),
    ],
)
def test_rules_are_reported_at_their_line(tmp_path: Path, autoscaling: str, message: str) -> None:
    (error,) = _errors(tmp_path, _yaml(components=f"\n      autoscaling: {autoscaling}"))
    assert error.startswith("gpu.yaml:1")
    assert message in error


def test_a_scheduled_zero_also_needs_scale_out_from_zero(tmp_path: Path) -> None:
    night = "{name: night, schedule: 'cron(0 22 * * ? *)', minCapacity: 0, maxCapacity: 1}"
    text = _yaml(
        components=f"\n      autoscaling: {{minCapacity: 1, maxCapacity: 2, scheduled: [{night}]}}"
    )
    (error,) = _errors(tmp_path, text)
    assert "minCapacity 0 needs scaleOutFromZero" in error


def scaled(**autoscaling: Any) -> Any:
    return ic_desired(ic("chat", copies=1, autoscaling={**SCALED, **autoscaling}))


def test_the_desired_set_adds_the_documented_step_policy() -> None:
    want = scaled(scaleOutFromZero={"copies": 2})
    found = wanted_sets(want)["chat"]
    assert (found.min_capacity, found.max_capacity) == (0, 3)
    step = found.policies[WAKE_POLICY]
    assert step == {
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 2}],
            "Cooldown": 60,
            "MetricAggregationType": "Maximum",
        },
    }
    terms = scaling.terms(scaling.component_base("chat"), found)
    assert terms["inferenceComponents[chat].autoscaling.scaleOutFromZero.adjustmentType"] == (
        "ChangeInCapacity"
    )
    assert scaling.target_key("inference-component/chat")["ScalableDimension"] == (
        "sagemaker:inference-component:DesiredCopyCount"
    )


def test_the_alarm_watches_no_capacity_failures_of_its_component() -> None:
    alarm = wanted_alarms(scaled(scaleOutFromZero={"period": 30}), "default")["chat"]
    assert alarm["AlarmName"] == alarm_name("chat") == "sagemaker-gitops-chat-scale-out-from-zero"
    assert (alarm["MetricName"], alarm["Namespace"], alarm["Statistic"]) == (
        "NoCapacityInvocationFailures",
        "AWS/SageMaker",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "chat"}]
    assert (alarm["Period"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        30,
        1.0,
        "GreaterThanOrEqualToThreshold",
    )
    assert "AlarmActions" not in alarm  # the step policy's ARN is known at apply time


def live_target(want_set: ScalingSet, arn: str = "policy-arn", tags: Any = OWNED) -> LiveTarget:
    policies = {n: {**p, "PolicyARN": arn} for n, p in want_set.policies.items()}
    live = ScalingSet(want_set.min_capacity, want_set.max_capacity, policies, want_set.actions)
    return LiveTarget("inference-component/chat", "target-arn", live, tags)


def live_alarm(request: dict[str, Any], actions: list[str], tags: Any = OWNED) -> LiveAlarm:
    fields = {**request, "AlarmActions": actions, "StateValue": "OK"}
    return LiveAlarm(request["AlarmName"], "alarm-arn", fields, tags)


def test_the_alarm_is_in_sync_only_when_it_runs_the_live_step_policy() -> None:
    want = scaled()
    base = scaling.component_base("chat")
    target = live_target(wanted_sets(want)["chat"])
    request = wanted_alarms(want, "default")["chat"]
    assert alarm_in_sync(base, request, live_alarm(request, ["policy-arn"]), target)
    assert not alarm_in_sync(base, request, live_alarm(request, ["old-arn"]), target)
    assert not alarm_in_sync(base, request, live_alarm(request, ["policy-arn"]), None)
    changed = {**request, "Period": 120}
    assert not alarm_in_sync(base, changed, live_alarm(request, ["policy-arn"]), target)


def plan_types(actions: tuple[Action, ...]) -> list[tuple[Op, ResourceType]]:
    return [(a.op, a.type) for a in actions]


def test_a_settled_component_gets_target_policies_then_alarm() -> None:
    want = scaled()
    plan = diff_endpoint(want, seen_with(want, live_of(want)), options())
    assert plan_types(plan.actions) == [
        (Op.CREATE, ResourceType.SCALABLE_TARGET),
        (Op.CREATE, ResourceType.SCALING_POLICY),
        (Op.CREATE, ResourceType.SCALING_POLICY),
        (Op.CREATE, ResourceType.ALARM),
    ]
    register = plan.actions[0]
    assert register.request["MinCapacity"] == 0
    assert register.request["Tags"] == OWNED


def test_a_component_still_creating_is_registered_later() -> None:
    want = scaled()
    plan = diff_endpoint(want, seen_with(want, live_of(want, status="Creating")), options())
    assert plan.actions == ()


def in_account(want: Any, **extra: Any) -> Any:
    """`want`'s component and autoscaling exactly as asked for, owned."""
    target = live_target(wanted_sets(want)["chat"])
    request = wanted_alarms(want, "default")["chat"]
    fields: dict[str, Any] = {
        "component_scaling": {"chat": target},
        "component_alarms": {"chat": live_alarm(request, ["policy-arn"])},
        "autoscaled": frozenset({"chat"}),
    }
    return seen_with(want, live_of(want, desired_copies=3), **{**fields, **extra})


def test_in_sync_autoscaling_plans_nothing_and_keeps_the_live_copy_count() -> None:
    want = scaled()
    assert diff_endpoint(want, in_account(want), options()).actions == ()


def test_removing_autoscaling_deregisters_alarm_first() -> None:
    seen = in_account(scaled())
    plain = ic_desired(ic("chat", copies=1))
    plan = diff_endpoint(plain, seen, options())
    deletes = [(a.type, a.reason) for a in plan.actions if a.op is Op.DELETE]
    assert sorted(deletes) == sorted(
        [
            (ResourceType.ALARM, Reason.AUTOSCALING),
            (ResourceType.SCALING_POLICY, Reason.AUTOSCALING),
            (ResourceType.SCALING_POLICY, Reason.AUTOSCALING),
            (ResourceType.SCALABLE_TARGET, Reason.AUTOSCALING),
        ]
    )
    alarm = next(a for a in plan.actions if a.type is ResourceType.ALARM)
    assert alarm.request == {"AlarmNames": ["sagemaker-gitops-chat-scale-out-from-zero"]}


def test_someone_elses_target_is_left_alone() -> None:
    want = scaled(maxCapacity=5)
    seen = in_account(scaled())
    foreign = {"chat": live_target(wanted_sets(scaled())["chat"], tags={})}
    plan = diff_endpoint(want, replace(seen, component_scaling=foreign), options())
    assert plan.actions == ()
    assert any("is not managed by sagemaker-gitops" in w for w in plan.warnings)


def test_state_folds_component_registrations_and_alarms() -> None:
    want = scaled()
    plan = diff_endpoint(want, seen_with(want, live_of(want)), options())
    after = ScalingState().after(plan.actions)
    assert after.components == frozenset({"chat"})
    assert set(after.for_components(["chat"])) == {"chat"}
    alarm = after.alarms[alarm_name("chat")]
    assert alarm.tags == OWNED
    gone = after.after(
        diff_endpoint(ic_desired(ic("chat", copies=1)), in_account(want), options()).actions
    )
    assert gone.components == frozenset() and gone.alarms == {}
