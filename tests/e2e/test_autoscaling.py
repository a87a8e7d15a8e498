"""variants[].autoscaling against the sandbox: register, update, deregister, never fight it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import World, header

RID = "endpoint/churn/variant/primary"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
KEY = {"ServiceNamespace": "sagemaker", "ResourceId": RID, "ScalableDimension": DIMENSION}
POLICY = "sagemaker-gitops-SageMakerVariantInvocationsPerInstance"
SCALING = """
      autoscaling:
        minCapacity: 1
        maxCapacity: {high}
        targetTracking:
          - predefinedMetric: SageMakerVariantInvocationsPerInstance
            targetValue: {target}
            scaleOutCooldown: 60
        scheduled:
          - name: nightly
            schedule: cron(0 22 * * ? *)
            timezone: Europe/Berlin
            maxCapacity: 2"""


def manifest(
    version: int = 1,
    instance: str = "ml.m5.xlarge",
    weight: float = 1,
    scaling: str = SCALING,
    high: int = 4,
    target: float = 70,
) -> str:
    block = scaling.format(high=high, target=target) if scaling else ""
    return f"""
{header("churn")}
    - name: primary
      model: {{packageGroup: churn-xgb, version: {version}}}
      instanceType: {instance}
      initialInstanceCount: 1
      initialWeight: {weight}{block}
"""


@pytest.fixture
def aas(world: World) -> Any:
    return boto3.client(
        "application-autoscaling",
        endpoint_url=world.sandbox.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def target(aas: Any) -> dict[str, Any] | None:
    found = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RID])
    targets = found["ScalableTargets"]
    return dict(targets[0]) if targets else None


def scale_out(world: World, count: int) -> None:
    """What Application Auto Scaling does on a scale-out: set the variant's count."""
    world.sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": count}],
    )


def live_count(world: World) -> int:
    variant = world.endpoint("churn")["ProductionVariants"][0]
    return int(variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount")))


def test_registers_after_in_service_with_tags_policy_and_schedule(world: World, aas: Any) -> None:
    world.write("churn.yaml", manifest())

    assert world.apply().code == 0

    registered = target(aas)
    assert registered is not None
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (1, 4)
    tags = aas.list_tags_for_resource(ResourceARN=registered["ScalableTargetARN"])["Tags"]
    assert tags == {"sagemaker-gitops/managed-by": "default", "sagemaker-gitops/endpoint": "churn"}
    [put] = world.recorded("PutScalingPolicy")
    assert put == {
        **KEY,
        "PolicyName": POLICY,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
            "DisableScaleIn": False,
        },
    }
    [action] = world.recorded("PutScheduledAction")
    assert action == {
        **KEY,
        "ScheduledActionName": "sagemaker-gitops-nightly",
        "Schedule": "cron(0 22 * * ? *)",
        "Timezone": "Europe/Berlin",
        "ScalableTargetAction": {"MaxCapacity": 2},
    }
    # Registration waited for InService: the endpoint was created before the target.
    assert world.mutations_during(lambda: world.apply()) == {}


def test_manifest_edit_updates_in_place_and_plan_says_so(world: World, aas: Any) -> None:
    world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    world.write("churn.yaml", manifest(high=8, target=100))

    plan = json.loads(world.plan("--format", "json").out)
    mutations = world.mutations_during(lambda: world.apply())

    changes = {
        c["path"]: (c["before"], c["after"])
        for a in plan["endpoints"][0]["actions"]
        for c in a["changes"]
    }
    assert changes == {
        "variants[primary].autoscaling.maxCapacity": (4, 8),
        "variants[primary].autoscaling.targetTracking"
        "[SageMakerVariantInvocationsPerInstance].targetValue": (70.0, 100.0),
    }
    assert mutations == {"RegisterScalableTarget": 1, "PutScalingPolicy": 1}
    assert world.recorded("RegisterScalableTarget")[-1] == {
        **KEY,
        "MinCapacity": 1,
        "MaxCapacity": 8,
    }
    assert world.mutations_during(lambda: world.apply()) == {}


def test_removing_autoscaling_deregisters_actions_and_policies_first(
    world: World, aas: Any
) -> None:
    world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    world.write("churn.yaml", manifest(scaling=""))

    mutations = world.mutations_during(lambda: world.apply())

    assert mutations == {
        "DeleteScheduledAction": 1,
        "DeleteScalingPolicy": 1,
        "DeregisterScalableTarget": 1,
    }
    assert target(aas) is None
    assert world.mutations_during(lambda: world.apply()) == {}


def test_a_scaled_out_count_survives_weights_change_and_version_bump(world: World) -> None:
    world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    scale_out(world, 3)

    world.write("churn.yaml", manifest(weight=2))
    weights = world.mutations_during(lambda: world.apply())
    [sent] = world.recorded("UpdateEndpointWeightsAndCapacities")[-1:]
    world.write("churn.yaml", manifest(version=2, weight=2))
    bump = world.mutations_during(lambda: world.apply())

    assert weights["UpdateEndpointWeightsAndCapacities"] == 1
    assert "RegisterScalableTarget" not in weights
    assert sent["DesiredWeightsAndCapacities"] == [{"VariantName": "primary", "DesiredWeight": 2.0}]
    assert bump["UpdateEndpoint"] == 1
    [config] = world.recorded("CreateEndpointConfig")[-1:]
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3
    assert live_count(world) == 3
    assert "DeregisterScalableTarget" not in bump  # same instance type: the target stays


def test_count_drift_on_a_scaled_variant_is_not_drift(world: World) -> None:
    world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    scale_out(world, 4)

    plan = world.plan("--detailed-exitcode")

    assert plan.code == 0, plan.out
    assert world.mutations_during(lambda: world.apply()) == {}
    assert live_count(world) == 4


def test_instance_type_change_deregisters_updates_and_registers_again(
    world: World, aas: Any
) -> None:
    world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    scale_out(world, 3)
    world.write("churn.yaml", manifest(instance="ml.c5.xlarge"))

    plan = world.plan()
    mutations = world.mutations_during(lambda: world.apply())

    assert "deregistered first" in plan.out
    assert "ScaledVariantReplaced" in plan.out or "deregister" in plan.out.lower()
    assert mutations["DeregisterScalableTarget"] == 1
    assert mutations["UpdateEndpoint"] == 1
    assert mutations["RegisterScalableTarget"] == 1
    assert mutations["PutScalingPolicy"] == 1
    endpoint = world.endpoint("churn")
    assert endpoint["EndpointStatus"] == "InService"
    [config] = world.recorded("CreateEndpointConfig")[-1:]
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3
    assert target(aas) is not None
    assert world.mutations_during(lambda: world.apply()) == {}


def test_an_untagged_target_is_left_alone_and_reported(world: World, aas: Any) -> None:
    world.write("churn.yaml", manifest(scaling=""))
    assert world.apply().code == 0
    aas.register_scalable_target(**KEY, MinCapacity=2, MaxCapacity=6)
    scale_out(world, 5)
    world.write("churn.yaml", manifest())

    plan = world.plan()
    mutations = world.mutations_during(lambda: world.apply())

    assert "not managed by sagemaker-gitops" in plan.out
    assert mutations == {}
    found = target(aas)
    assert found is not None and (found["MinCapacity"], found["MaxCapacity"]) == (2, 6)
    assert live_count(world) == 5


def test_prune_deregisters_with_the_endpoint(world: World, aas: Any) -> None:
    path = world.write("churn.yaml", manifest())
    assert world.apply().code == 0
    path.unlink()

    # The manifest set is now empty: --allow-empty lifts that guard (docs/reliability.md).
    mutations = world.mutations_during(lambda: world.apply("--prune", "--allow-empty"))

    assert mutations["DeregisterScalableTarget"] == 1
    assert mutations["DeleteEndpoint"] == 1
    assert target(aas) is None


def test_no_op_budget_grows_per_pass_not_per_endpoint(world: World) -> None:
    for name in ("churn", "fraud", "kmeans"):
        world.write(f"{name}.yaml", manifest().replace("name: churn", f"name: {name}"))
    assert world.apply().code == 0

    used = world.calls_during(lambda: world.apply("--concurrency", "8"))

    # Autoscaling on every endpoint adds three paged listings per region per pass (targets,
    # policies, scheduled actions) and no call per endpoint: no tags are read for targets in sync.
    assert used == {
        "DescribeEndpoint": 3,
        "ListModelPackages": 1,
        "GetResources": 1,
        "DescribeScalableTargets": 1,
        "DescribeScalingPolicies": 1,
        "DescribeScheduledActions": 1,
    }


EVERY_KIND = """
      autoscaling:
        minCapacity: 1
        maxCapacity: 6
        targetTracking:
          - name: latency
            customizedMetric:
              metricName: ModelLatency
              namespace: AWS/SageMaker
              statistic: Average
              unit: Microseconds
              dimensions:
                - {{name: EndpointName, value: churn}}
                - {{name: VariantName, value: primary}}
            targetValue: 200000
            disableScaleIn: true
        stepScaling:
          - name: burst
            adjustmentType: PercentChangeInCapacity
            minAdjustmentMagnitude: 1
            cooldown: 120
            stepAdjustments:
              - {{metricIntervalLowerBound: 0, metricIntervalUpperBound: 50, scalingAdjustment: 20}}
              - {{metricIntervalLowerBound: 50, scalingAdjustment: 50}}
        scheduled:
          - name: once
            schedule: at(2027-01-01T08:00:00)
            minCapacity: 3
            maxCapacity: {high}
          - name: hourly
            schedule: rate(1 hour)
            minCapacity: 1"""


def test_every_policy_kind_round_trips_without_rewrites(world: World) -> None:
    world.write("churn.yaml", manifest(scaling=EVERY_KIND))
    assert world.apply().code == 0

    puts = world.recorded("PutScalingPolicy")

    assert {p["PolicyName"]: p["PolicyType"] for p in puts} == {
        "sagemaker-gitops-latency": "TargetTrackingScaling",
        "sagemaker-gitops-burst": "StepScaling",
    }
    step = next(p for p in puts if p["PolicyType"] == "StepScaling")
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "PercentChangeInCapacity",
        "StepAdjustments": [
            {
                "MetricIntervalLowerBound": 0.0,
                "MetricIntervalUpperBound": 50.0,
                "ScalingAdjustment": 20,
            },
            {"MetricIntervalLowerBound": 50.0, "ScalingAdjustment": 50},
        ],
        "MinAdjustmentMagnitude": 1,
        "Cooldown": 120,
        "MetricAggregationType": "Average",
    }
    assert len(world.recorded("PutScheduledAction")) == 2
    assert world.mutations_during(lambda: world.apply()) == {}


def _rows(actions: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(a["type"], a["op"], a["name"]) for a in actions}


def test_the_plan_shows_the_autoscaling_apply_sets_up_after_in_service(world: World) -> None:
    """Issue 19: a reviewer sees everything apply will create, though it waits for InService."""
    world.write("churn.yaml", manifest())
    doc = json.loads(world.plan("--format", "json").out)
    text = world.plan("--detailed-exitcode")
    markdown = world.plan("--format", "markdown").out
    created = world.mutations_during(lambda: world.apply())
    world.write("churn.yaml", manifest(scaling=""))
    assert world.apply().code == 0  # autoscaling off; then a rollout that adds it back
    world.write("churn.yaml", manifest(version=2))
    rollout = json.loads(world.plan("--format", "json").out)["endpoints"][0]
    readded = world.mutations_during(lambda: world.apply())

    [endpoint] = doc["endpoints"]
    later = _rows(endpoint["deferred"])
    assert later == {
        ("ScalableTarget", "create", RID),
        ("ScalingPolicy", "create", f"{RID}/{POLICY}"),
        ("ScheduledAction", "create", f"{RID}/sagemaker-gitops-nightly"),
    }
    assert not later & _rows(endpoint["actions"])
    assert text.code == 2 and "then, once InService:" in text.out
    assert f"+ ScalableTarget {RID} (Autoscaling)" in text.out
    assert "**Then, once InService**" in markdown and RID in markdown
    # Exactly what the plan listed, one call each.
    for kind, call in (("ScalableTarget", "RegisterScalableTarget"),
                       ("ScalingPolicy", "PutScalingPolicy"),
                       ("ScheduledAction", "PutScheduledAction")):  # fmt: skip
        assert created.get(call) == sum(1 for t, _, _ in later if t == kind)
        assert readded.get(call) == sum(1 for t, _, _ in _rows(rollout["deferred"]) if t == kind)
    assert ("Endpoint", "update", "churn") in _rows(rollout["actions"])
    assert json.loads(world.plan("--format", "json").out)["endpoints"][0].get("deferred") is None
