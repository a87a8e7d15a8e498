"""One alarm spec, two layers, end to end: the real CLI against the sandbox.

Endpoint `churn` names pipeline `churn` in `autoRollbackConfiguration.fromPipeline`; its stage's
two checks (error rate at most 5%, p99 at most 500 ms) become the CloudWatch alarms its rollouts
watch. Version 3 has 20% errors: the endpoint's own rollout rolls back on the generated alarm,
before any analysis between stages could have run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import IMAGE, ROLE, World, sandbox_world

GOOD = {"image": IMAGE, "modelDataUrl": "s3://models/churn/1.tar.gz", "approval": "Approved"}
SEED = {
    "modelPackageGroups": [
        {
            "name": "churn",
            "versions": [
                GOOD,
                {**GOOD, "modelDataUrl": "s3://models/churn/2.tar.gz"},
                {
                    **GOOD,
                    "modelDataUrl": "s3://models/churn/3.tar.gz",
                    "traffic": {"error5xxRate": 0.2},
                },
            ],
        }
    ]
}
PIPELINE = """
    apiVersion: sagemaker-gitops/v1
    kind: Pipeline
    metadata: {name: churn}
    spec:
      packageGroups: [churn]
      stages:
        - name: staging
          endpoints: {names: [churn]}
          verification:
            interval: 2m
            metrics:
              - {name: errors, errorRate: {}, max: 0.05}
              - {name: p99, latency: {statistic: p99}, max: 500}
    """
PREFIX = "sagemaker-gitops-rollback-churn-primary-"


def endpoint(version: int) -> str:
    return f"""
    apiVersion: sagemaker-gitops/v1
    kind: Endpoint
    metadata: {{name: churn}}
    spec:
      executionRoleArn: {ROLE}
      variants:
        - name: primary
          model: {{packageGroup: churn, version: {version}}}
          instanceType: ml.m5.xlarge
      deployment:
        blueGreenUpdatePolicy:
          trafficRoutingConfiguration: {{type: ALL_AT_ONCE, waitIntervalInSeconds: 60}}
        autoRollbackConfiguration:
          alarms: [{{alarmName: team-latency}}]
          fromPipeline: churn
    """


@pytest.fixture
def world(tmp_path: Path, capsys: Any, monkeypatch: Any) -> Iterator[World]:
    with sandbox_world(tmp_path, capsys, monkeypatch, SEED) as found:
        yield found


def alarms(world: World) -> dict[str, Any]:
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=world.sandbox.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    found = cloudwatch.describe_alarms(AlarmNamePrefix="sagemaker-gitops-rollback-")
    return {a["AlarmName"]: a for a in found["MetricAlarms"]}


def test_a_stages_checks_roll_the_endpoints_own_deployment_back(world: World) -> None:
    world.write("churn.yaml", endpoint(1))
    world.write("pipeline.yaml", PIPELINE)
    assert world.apply().code == 0
    assert alarms(world) == {}  # a create is no rollout: nothing watches alarms yet

    # v2's rollout puts the alarms first, then names them (after the team's own) in its update.
    world.write("churn.yaml", endpoint(2))
    plan = json.loads(world.plan("--format", "json").out)
    planned = [(a["op"], a["type"]) for a in plan["endpoints"][0]["actions"]]
    assert planned.count(("create", "RollbackAlarm")) == 2
    assert world.apply().code == 0
    found = alarms(world)
    assert sorted(found) == [PREFIX + "errors-max", PREFIX + "p99-max"]
    errors, p99 = found[PREFIX + "errors-max"], found[PREFIX + "p99-max"]
    assert [m.get("Expression") for m in errors["Metrics"]] == [None, None, "errors / invocations"]
    assert (errors["Threshold"], errors["TreatMissingData"]) == (0.05, "notBreaching")
    assert (p99["ExtendedStatistic"], p99["Threshold"], p99["Period"]) == ("p99", 500000.0, 120)
    update = world.sandbox.requests("UpdateEndpoint")[-1]
    named = update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in named] == ["team-latency", *sorted(found)]
    assert world.mutations_during(lambda: world.apply()) == {}

    # v3 (20% errors): the endpoint's own deployment rolls back on the generated alarm.
    world.write("churn.yaml", endpoint(3))
    world.apply()
    live = world.endpoint("churn")
    assert PREFIX + "errors-max" in live.get("FailureReason", ""), live
    assert live["EndpointStatus"] == "InService"
    config = world.sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    model = world.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"].endswith("/2")  # back on v2

    # Pruned with its endpoint: the alarms go too.
    (world.root / "churn.yaml").unlink()
    (world.root / "pipeline.yaml").unlink()
    assert world.apply("--prune", "--allow-empty").code == 0
    assert alarms(world) == {}
