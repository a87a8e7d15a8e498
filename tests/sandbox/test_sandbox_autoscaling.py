"""Application Auto Scaling for SageMaker variants and inference components, as AWS behaves."""

from __future__ import annotations

from typing import Any

import pytest
from component_helpers import make_component, make_ic_endpoint
from sandbox_helpers import client, error_of, make_endpoint

from controller.sandbox import Sandbox

VARIANT = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/churn/variant/primary",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
COMPONENT = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "inference-component/llm",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}
OWNED = {"sagemaker-gitops/managed-by": "prod"}
INVOCATIONS = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    },
    "ScaleInCooldown": 300,
    "ScaleOutCooldown": 60,
}


@pytest.fixture
def aas(sandbox: Sandbox) -> Any:
    """A client; endpoint `churn` (variant primary) and component `llm` exist, InService."""
    sm = client(sandbox)
    make_endpoint(sm, "churn")
    make_ic_endpoint(sm, "gpu")
    make_component(sm, "llm", "gpu")
    return client(sandbox, "application-autoscaling")


def register(aas: Any, target: dict[str, str], low: int = 1, high: int = 4, **extra: Any) -> str:
    reply = aas.register_scalable_target(**target, MinCapacity=low, MaxCapacity=high, **extra)
    return str(reply["ScalableTargetARN"])


def test_register_with_tags_and_describe(aas: Any) -> None:
    arn = register(aas, VARIANT, Tags=OWNED)
    assert arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")
    [target] = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert {k: target[k] for k in VARIANT} == VARIANT
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ScalableTargetARN"] == arn
    assert target["RoleARN"].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
    assert target["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == OWNED


def test_component_copies_may_scale_from_zero(aas: Any) -> None:
    register(aas, COMPONENT, low=0, high=6)
    [target] = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=["inference-component/llm"]
    )["ScalableTargets"]
    assert target["MinCapacity"] == 0
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"


def test_reregistering_updates_only_what_is_given(aas: Any) -> None:
    arn = register(aas, VARIANT, Tags=OWNED)
    again = aas.register_scalable_target(**VARIANT, MaxCapacity=8, Tags={"other": "x"})
    assert again["ScalableTargetARN"] == arn
    [target] = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 8)
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == OWNED
    aas.tag_resource(ResourceARN=arn, Tags={"team": "ml"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["sagemaker-gitops/managed-by"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "ml"}


def test_register_rules(aas: Any) -> None:
    code, message = error_of(lambda: aas.register_scalable_target(**VARIANT, MinCapacity=1))
    assert code == "ValidationException"
    assert "MinCapacity and MaxCapacity must be specified" in message
    _, message = error_of(lambda: register(aas, VARIANT, low=5, high=2))
    assert message == "Minimum capacity cannot be greater than maximum capacity"
    wrong_shape = {**COMPONENT, "ResourceId": "endpoint/churn/variant/primary"}
    _, message = error_of(lambda: register(aas, wrong_shape))
    assert message == "Unsupported service namespace, resource type or scalable dimension"
    bogus = {**VARIANT, "ScalableDimension": "sagemaker:variant:Bogus"}
    _, message = error_of(lambda: register(aas, bogus))
    assert "at 'scalableDimension' failed to satisfy constraint" in message


def test_policy_and_action_need_a_registered_target(aas: Any) -> None:
    code, message = error_of(
        lambda: aas.put_scaling_policy(
            **VARIANT,
            PolicyName="invocations",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=INVOCATIONS,
        )
    )
    assert code == "ObjectNotFoundException"
    assert message == (
        "No scalable target registered for service namespace: sagemaker, resource ID: "
        "endpoint/churn/variant/primary, scalable dimension: sagemaker:variant:DesiredInstanceCount"
    )
    code, _ = error_of(
        lambda: aas.put_scheduled_action(
            **VARIANT, ScheduledActionName="night", Schedule="cron(0 20 * * ? *)"
        )
    )
    assert code == "ObjectNotFoundException"
    code, _ = error_of(lambda: aas.deregister_scalable_target(**VARIANT))
    assert code == "ObjectNotFoundException"


def test_target_tracking_policy_owns_its_alarms(sandbox: Sandbox, aas: Any) -> None:
    register(aas, VARIANT)
    put = aas.put_scaling_policy(
        **VARIANT,
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=INVOCATIONS,
    )
    names = sorted(a["AlarmName"] for a in put["Alarms"])
    assert [n.split("-")[-6] for n in names] == ["AlarmHigh", "AlarmLow"]
    assert all(n.startswith("TargetTracking-endpoint/churn/variant/primary-") for n in names)
    cloudwatch = client(sandbox, "cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} == {"InvocationsPerInstance"}
    assert {a["Threshold"] for a in alarms} == {70.0}
    [policy] = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["PolicyARN"] == put["PolicyARN"]
    assert policy["TargetTrackingScalingPolicyConfiguration"] == INVOCATIONS
    changed = {**INVOCATIONS, "TargetValue": 100.0, "DisableScaleIn": True}
    again = aas.put_scaling_policy(
        **VARIANT,
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=changed,
    )
    assert again["PolicyARN"] == put["PolicyARN"]
    assert len(again["Alarms"]) == 1  # no scale-in, no low alarm
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []
    aas.delete_scaling_policy(**VARIANT, PolicyName="invocations")
    assert cloudwatch.describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"] == []


def test_metric_must_belong_to_the_dimension(aas: Any) -> None:
    register(aas, COMPONENT, low=0)
    _, message = error_of(
        lambda: aas.put_scaling_policy(
            **COMPONENT,
            PolicyName="wrong",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=INVOCATIONS,
        )
    )
    assert message == (
        "Scalable dimension sagemaker:inference-component:DesiredCopyCount only supports the "
        "following predefined metric types: SageMakerInferenceComponentInvocationsPerCopy, "
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    )
    per_copy = {
        "TargetValue": 5.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
        },
    }
    aas.put_scaling_policy(
        **COMPONENT,
        PolicyName="per-copy",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=per_copy,
    )


def test_customized_metric_and_step_policy_with_user_alarm(sandbox: Sandbox, aas: Any) -> None:
    register(aas, COMPONENT, low=0)
    customized = {
        "TargetValue": 3.0,
        "CustomizedMetricSpecification": {
            "MetricName": "ConcurrentRequestsPerCopy",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "InferenceComponentName", "Value": "llm"}],
            "Statistic": "Maximum",
        },
    }
    aas.put_scaling_policy(
        **COMPONENT,
        PolicyName="concurrency",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=customized,
    )
    step = {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Maximum",
        "Cooldown": 60,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    put = aas.put_scaling_policy(
        **COMPONENT,
        PolicyName="from-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration=step,
    )
    assert "Alarms" not in put
    client(sandbox, "cloudwatch").put_metric_alarm(
        AlarmName="llm-no-capacity",
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "llm"}],
        Statistic="Maximum",
        Period=30,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[put["PolicyARN"]],
    )
    policies = aas.describe_scaling_policies(
        ServiceNamespace="sagemaker", PolicyNames=["from-zero"]
    )["ScalingPolicies"]
    assert policies[0]["StepScalingPolicyConfiguration"] == step
    assert [a["AlarmName"] for a in policies[0]["Alarms"]] == ["llm-no-capacity"]


def test_scheduled_actions(aas: Any) -> None:
    register(aas, VARIANT)
    aas.put_scheduled_action(
        **VARIANT,
        ScheduledActionName="night",
        Schedule="cron(0 20 * * ? *)",
        Timezone="Europe/Paris",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2},
    )
    aas.put_scheduled_action(**VARIANT, ScheduledActionName="night", Schedule="rate(1 day)")
    [action] = aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    assert action["Schedule"] == "rate(1 day)"
    assert action["Timezone"] == "Europe/Paris"
    assert action["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 2}
    assert ":scheduledActionName/night" in action["ScheduledActionARN"]
    _, message = error_of(
        lambda: aas.put_scheduled_action(**VARIANT, ScheduledActionName="x", Schedule="daily")
    )
    assert message.startswith("Invalid schedule expression: daily")
    aas.delete_scheduled_action(**VARIANT, ScheduledActionName="night")
    code, _ = error_of(lambda: aas.delete_scheduled_action(**VARIANT, ScheduledActionName="night"))
    assert code == "ObjectNotFoundException"


def test_deregister_removes_policies_and_actions(aas: Any) -> None:
    register(aas, VARIANT)
    aas.put_scaling_policy(
        **VARIANT,
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=INVOCATIONS,
    )
    aas.put_scheduled_action(
        **VARIANT, ScheduledActionName="at", Schedule="at(2030-01-01T00:00:00)"
    )
    aas.deregister_scalable_target(**VARIANT)
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"] == []


def test_describes_page(sandbox: Sandbox, aas: Any) -> None:
    for index in range(3):
        make_endpoint(client(sandbox), f"e{index}")
        register(aas, {**VARIANT, "ResourceId": f"endpoint/e{index}/variant/primary"})
    first = aas.describe_scalable_targets(ServiceNamespace="sagemaker", MaxResults=2)
    second = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", MaxResults=2, NextToken=first["NextToken"]
    )
    ids = [t["ResourceId"] for t in first["ScalableTargets"] + second["ScalableTargets"]]
    assert ids == [f"endpoint/e{i}/variant/primary" for i in range(3)]
    assert "NextToken" not in second
    code, _ = error_of(
        lambda: aas.describe_scalable_targets(ServiceNamespace="sagemaker", NextToken="zzz")
    )
    assert code == "InvalidNextTokenException"
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []


def test_only_existing_sagemaker_resources_can_be_registered(aas: Any) -> None:
    missing = {**VARIANT, "ResourceId": "endpoint/churn/variant/blue"}
    _, message = error_of(lambda: register(aas, missing))
    assert message == "The resource endpoint/churn/variant/blue does not exist in SageMaker."
    _, message = error_of(
        lambda: register(aas, {**COMPONENT, "ResourceId": "inference-component/x"})
    )
    assert message == "The resource inference-component/x does not exist in SageMaker."


def test_deleting_the_endpoint_deregisters_its_targets(sandbox: Sandbox, aas: Any) -> None:
    register(aas, VARIANT)
    aas.put_scaling_policy(
        **VARIANT,
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=INVOCATIONS,
    )
    register(aas, COMPONENT, low=0)
    sm = client(sandbox)
    sm.delete_endpoint(EndpointName="churn")
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-c1")  # a new endpoint
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == ["inference-component/llm"]
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    sm.delete_inference_component(InferenceComponentName="llm")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
