"""Autoscaling of inference components' copy counts end to end: the real CLI against the sandbox.

A component with `autoscaling` (minCapacity 0, scale-out from zero) gets a scalable target, a
target-tracking policy, the step policy and the NoCapacityInvocationFailures alarm that runs it;
the copy count autoscaling owns is never reset; removing `autoscaling` deregisters; what the
controller does not own is left alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import World
from tests.e2e.test_components import CHAT, component, write

COPY = "sagemaker:inference-component:DesiredCopyCount"
TARGET = {"ServiceNamespace": "sagemaker", "ScalableDimension": COPY}
ALARM = "sagemaker-gitops-fraud-scale-out-from-zero"
SCALED = """
        autoscaling:
          minCapacity: 0
          maxCapacity: 4
          targetTracking:
            - predefinedMetric: SageMakerInferenceComponentInvocationsPerCopy
              targetValue: 5
          scaleOutFromZero: {copies: 2, period: 30}"""
FRAUD_SCALED = component("fraud", "fraud-detector", 1, copies=1, extra=SCALED)


def aas(world: World) -> Any:
    return world.sandbox_client("application-autoscaling")


def cloudwatch(world: World) -> Any:
    return world.sandbox_client("cloudwatch")


def targets(world: World) -> list[dict[str, Any]]:
    found = aas(world).describe_scalable_targets(ServiceNamespace="sagemaker")
    return [t for t in found["ScalableTargets"] if t["ScalableDimension"] == COPY]


def policies(world: World) -> dict[str, dict[str, Any]]:
    found = aas(world).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId="inference-component/fraud"
    )
    return {p["PolicyName"]: p for p in found["ScalingPolicies"]}


def alarms(world: World) -> dict[str, dict[str, Any]]:
    found = cloudwatch(world).describe_alarms(AlarmNamePrefix="sagemaker-gitops-")
    return {a["AlarmName"]: a for a in found["MetricAlarms"]}


@pytest.fixture
def scaled(world: World) -> World:
    """Endpoint `gpu` InService with chat and an autoscaled fraud (min 0, scale-out from zero)."""
    write(world, CHAT, FRAUD_SCALED)
    result = world.apply()
    assert result.code == 0, result.out + result.err
    return world


def test_registers_the_target_both_policies_and_the_alarm(scaled: World) -> None:
    (target,) = targets(scaled)
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        "inference-component/fraud",
        0,
        4,
    )
    tags = aas(scaled).list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"]
    assert tags["sagemaker-gitops/managed-by"] == "default"
    found = policies(scaled)
    tracking = found["sagemaker-gitops-SageMakerInferenceComponentInvocationsPerCopy"]
    assert tracking["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 5
    step = found["sagemaker-gitops-scale-out-from-zero"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 2}]
    alarm = alarms(scaled)[ALARM]
    assert alarm["AlarmActions"] == [found["sagemaker-gitops-scale-out-from-zero"]["PolicyARN"]]
    assert (alarm["MetricName"], alarm["Namespace"], alarm["Statistic"]) == (
        "NoCapacityInvocationFailures",
        "AWS/SageMaker",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "fraud"}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (30, 1, 1.0)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    alarm_tags = cloudwatch(scaled).list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert {"Key": "sagemaker-gitops/managed-by", "Value": "default"} in alarm_tags


def test_second_apply_makes_no_mutating_call(scaled: World) -> None:
    assert scaled.mutations_during(lambda: scaled.apply()) == {}
    assert "No changes" in scaled.plan().out


def test_the_copy_count_autoscaling_chose_is_not_reset(scaled: World) -> None:
    scaled.sm.update_inference_component_runtime_config(
        InferenceComponentName="fraud", DesiredRuntimeConfig={"CopyCount": 3}
    )
    scaled.apply()  # let the copy change settle; nothing to do
    assert scaled.mutations_during(lambda: scaled.apply()) == {}
    live = scaled.sm.describe_inference_component(InferenceComponentName="fraud")
    assert live["RuntimeConfig"]["DesiredCopyCount"] == 3


def test_plans_show_the_autoscaling_rows(world: World) -> None:
    write(world, CHAT, component("fraud", "fraud-detector", 1, copies=1))
    assert world.apply().code == 0
    write(world, CHAT, FRAUD_SCALED)
    plan = json.loads(world.plan("--format", "json").out)["endpoints"][0]
    rows = {(a["type"], a["op"], a["name"]) for a in plan["actions"]}
    assert rows == {
        ("ScalableTarget", "create", "inference-component/fraud"),
        (
            "ScalingPolicy",
            "create",
            "inference-component/fraud/sagemaker-gitops-SageMakerInferenceComponentInvocationsPerCopy",
        ),
        (
            "ScalingPolicy",
            "create",
            "inference-component/fraud/sagemaker-gitops-scale-out-from-zero",
        ),
        ("Alarm", "create", ALARM),
    }
    text = world.plan().out
    assert "inferenceComponents[fraud].autoscaling.scaleOutFromZero.alarm.period" in text


def test_removing_autoscaling_deregisters_everything(scaled: World) -> None:
    write(scaled, CHAT, component("fraud", "fraud-detector", 1, copies=1))

    mutations = scaled.mutations_during(lambda: scaled.apply())

    assert mutations == {
        "DeleteAlarms": 1,
        "DeleteScalingPolicy": 2,
        "DeregisterScalableTarget": 1,
    }
    assert targets(scaled) == []
    assert alarms(scaled) == {}
    assert scaled.mutations_during(lambda: scaled.apply()) == {}


def test_pruning_the_component_deletes_its_autoscaling_first(scaled: World) -> None:
    write(scaled, CHAT)

    mutations = scaled.mutations_during(lambda: scaled.apply("--prune"))

    assert mutations == {
        "DeleteAlarms": 1,
        "DeleteScalingPolicy": 2,
        "DeregisterScalableTarget": 1,
        "DeleteInferenceComponent": 1,
    }
    assert targets(scaled) == [] and alarms(scaled) == {}


def test_an_unowned_target_and_alarm_are_left_alone(scaled: World) -> None:
    write(scaled, CHAT, component("fraud", "fraud-detector", 1, copies=1))
    client = aas(scaled)
    (target,) = targets(scaled)
    client.untag_resource(
        ResourceARN=target["ScalableTargetARN"], TagKeys=["sagemaker-gitops/managed-by"]
    )
    alarm = alarms(scaled)[ALARM]
    cloudwatch(scaled).untag_resource(
        ResourceARN=alarm["AlarmArn"], TagKeys=["sagemaker-gitops/managed-by"]
    )

    plan = scaled.plan().out
    mutations = scaled.mutations_during(lambda: scaled.apply())

    assert "scalable target inference-component/fraud is not managed by sagemaker-gitops" in plan
    assert mutations == {}
    assert len(targets(scaled)) == 1
    assert ALARM in alarms(scaled)


def test_an_unowned_alarm_is_left_alone(scaled: World) -> None:
    write(scaled, CHAT, FRAUD_SCALED.replace("period: 30", "period: 60"))
    alarm = alarms(scaled)[ALARM]
    cloudwatch(scaled).untag_resource(
        ResourceARN=alarm["AlarmArn"], TagKeys=["sagemaker-gitops/managed-by"]
    )

    plan = scaled.plan().out
    mutations = scaled.mutations_during(lambda: scaled.apply())

    assert f"alarm {ALARM} is not managed by sagemaker-gitops" in plan
    assert mutations == {}
    assert alarms(scaled)[ALARM]["Period"] == 30


def test_pruning_the_endpoint_deregisters_its_components_autoscaling(scaled: World) -> None:
    (scaled.root / "gpu.yaml").unlink()

    result = scaled.apply("--prune", "--allow-empty")

    assert result.code == 0, result.out + result.err
    sent = scaled.sandbox.requests("DeregisterScalableTarget")
    assert [r["ResourceId"] for r in sent] == ["inference-component/fraud"]
    assert targets(scaled) == [] and alarms(scaled) == {}


def test_no_op_budget_adds_one_alarm_listing_per_region(scaled: World) -> None:
    used = scaled.calls_during(lambda: scaled.apply())

    # On top of an IC endpoint's own reads: the region's three autoscaling listings and one
    # DescribeAlarms by name prefix; no call per component, no tags read for what is in sync.
    assert used == {
        "DescribeEndpoint": 1,
        "ListModelPackages": 2,
        "GetResources": 1,
        "ListInferenceComponents": 1,
        "DescribeInferenceComponent": 2,  # a new process keeps no descriptions yet
        "DescribeScalableTargets": 1,
        "DescribeScalingPolicies": 1,
        "DescribeScheduledActions": 1,
        "DescribeAlarms": 1,
    }


def test_a_component_added_with_autoscaling_plans_all_apply_creates(world: World) -> None:
    """Issue 19: a new component's autoscaling waits for it to be InService, yet is planned."""
    write(world, CHAT)
    assert world.apply().code == 0
    write(world, CHAT, FRAUD_SCALED)

    [endpoint] = json.loads(world.plan("--format", "json").out)["endpoints"]
    text = world.plan().out
    created = world.mutations_during(lambda: world.apply())

    assert ("InferenceComponent", "create", "fraud") in {
        (a["type"], a["op"], a["name"]) for a in endpoint["actions"]
    }
    later = {(a["type"], a["op"], a["name"]) for a in endpoint["deferred"]}
    assert later == {
        ("ScalableTarget", "create", "inference-component/fraud"),
        (
            "ScalingPolicy",
            "create",
            "inference-component/fraud/sagemaker-gitops-SageMakerInferenceComponentInvocationsPerCopy",
        ),
        (
            "ScalingPolicy",
            "create",
            "inference-component/fraud/sagemaker-gitops-scale-out-from-zero",
        ),
        ("Alarm", "create", ALARM),
    }
    assert "then, once InService:" in text and f"+ Alarm {ALARM} (Autoscaling)" in text
    assert created.get("RegisterScalableTarget") == 1 and created.get("PutScalingPolicy") == 2
    assert created.get("PutMetricAlarm") == 1
    assert "deferred" not in json.loads(world.plan("--format", "json").out)["endpoints"][0]


def test_removing_autoscaling_converges_when_every_write_loses_its_answer(scaled: World) -> None:
    """Each write takes effect and is answered 5xx: the next pass re-reads the autoscaling
    state instead of the cached one, so no step is sent twice and one apply converges. With
    the cached state, the deleted alarm was deleted again on every re-read (DeleteAlarms of a
    missing alarm succeeds, so it failed anew) until the retry budget ended the command."""
    write(scaled, CHAT, component("fraud", "fraud-detector", 1, copies=1))
    scaled.sandbox.set_faults(after_commit_error_rate=1.0, seed=1)
    results = []
    try:
        mutations = scaled.mutations_during(lambda: results.append(scaled.apply()))
    finally:
        scaled.sandbox.set_faults(after_commit_error_rate=0.0)

    assert results[0].code == 0, results[0].err[-3000:]
    assert mutations == {
        "DeleteAlarms": 1,
        "DeleteScalingPolicy": 2,
        "DeregisterScalableTarget": 1,
    }
    assert targets(scaled) == [] and alarms(scaled) == {}
    assert scaled.mutations_during(lambda: scaled.apply()) == {}
