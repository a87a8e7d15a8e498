"""`verify --stage` end to end: the real CLI against the sandbox's synthesised CloudWatch metrics.

A shared registry account (111111111111) holds `churn`; staging (222222222222) and prod
(333333333333) are targets reached through their roles. Version 2 has a bad traffic profile.
Time runs 60 times faster in the sandbox's metrics, so a 1-second interval holds a minute of
invocations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import IMAGE, World, sandbox_world
from tests.e2e.test_targets import (
    GROUP_ARN,
    PROD,
    REGISTRY,
    STAGING,
    endpoint,
    in_account,
    sagemaker_in,
    target,
)

VERSION = {"image": IMAGE, "modelDataUrl": "s3://models/churn/1.tar.gz", "approval": "Approved"}
BAD = {
    **VERSION,
    "modelDataUrl": "s3://models/churn/2.tar.gz",
    "traffic": {"error5xxRate": 0.2, "modelLatencyMs": {"p50": 200, "p99": 900}},
}
SEED = {
    "modelPackageGroups": [
        {
            "name": "churn",
            "account": REGISTRY,
            "shareWith": [STAGING, PROD],
            "versions": [VERSION, BAD],
        }
    ]
}
PIPELINE = f"""
    apiVersion: sagemaker-gitops/v1
    kind: Pipeline
    metadata: {{name: churn}}
    spec:
      packageGroups: ["{GROUP_ARN}"]
      stages:
        - name: staging
          endpoints: {{targets: [staging]}}
          verification:
            interval: 1s
            count: 2
            initialDelay: 1s
            minInvocations: 100
            metrics:
              - {{name: errors, errorRate: {{}}, max: 0.05}}
              - {{name: p99, latency: {{statistic: p99}}, max: 500}}
        - name: prod
          endpoints: {{targets: [prod]}}
          verification:
            interval: 1s
            count: 1
            initialDelay: 1s
            metrics:
              - {{name: errors, errorRate: {{}}, max: 0.05}}
    """


@pytest.fixture
def stages(tmp_path: Path, capsys: Any, monkeypatch: Any) -> Iterator[World]:
    with sandbox_world(tmp_path, capsys, monkeypatch, SEED) as world:
        world.sandbox.set_traffic({"timeScale": 60})
        world.write("targets/staging.yaml", target("staging", STAGING, "us-east-1"))
        world.write("targets/prod.yaml", target("prod", PROD, "us-east-1"))
        world.write("staging/churn.yaml", endpoint("churn", "staging"))
        world.write("prod/churn.yaml", endpoint("churn", "prod"))
        world.write("pipeline.yaml", PIPELINE)
        assert world.apply().code == 0
        yield world


def verify(world: World, *extra: str) -> tuple[int, Any]:
    result = world.cli(
        "verify", "--stage", "staging", "-m", str(world.root), "--format", "json", *extra
    )
    return result.code, json.loads(result.out) if result.out.startswith("{") else result.err


def test_a_version_is_verified_then_a_bad_one_fails_and_too_little_traffic_is_inconclusive(
    stages: World,
) -> None:
    world = stages
    world.sandbox.reset_calls()

    code, report = verify(world)

    assert code == 0, report
    assert report["phase"] == "Successful" and report["versions"] == {"churn": [1]}
    assert [m["phase"] for m in report["measurements"]] == ["Successful", "Successful"]
    checks = report["measurements"][0]["subjects"][0]["checks"]
    assert checks["errors"]["value"] < 0.05 and 100 < checks["p99"]["value"] < 140
    # One GetMetricData a measurement, made in the stage's own account through its role.
    by_account = world.sandbox.calls_by_account()
    assert by_account[STAGING]["GetMetricData"] == 2
    assert "GetMetricData" not in by_account.get(PROD, {})
    assert not {op for op in world.calls() if op.startswith(("Create", "Update", "Delete", "Put"))}
    # The prod stage is measured in the prod account, through the prod target's role.
    prod = world.cli("verify", "--stage", "prod", "-m", str(world.root), "--format", "json")
    assert prod.code == 0, prod.out
    by_account = world.sandbox.calls_by_account()
    assert by_account[PROD]["GetMetricData"] == 1 and by_account[STAGING]["GetMetricData"] == 2

    # The manifests move staging to v2, not yet applied: not converged, so not measured.
    world.write("staging/churn.yaml", endpoint("churn", "staging", version=2))
    code, report = verify(world)
    assert code == 3
    assert report["phase"] == "Inconclusive" and report["measurements"] == []
    assert report["notes"] == [
        "churn (staging): variant primary serves v1, the manifests pin churn v2"
    ]

    # Applied, v2's traffic shows its error rate: Failed at the first measurement.
    assert world.apply().code == 0
    code, report = verify(world)
    assert code == 1
    assert report["phase"] == "Failed" and len(report["measurements"]) == 1
    errors = report["measurements"][0]["subjects"][0]["checks"]["errors"]
    assert errors["phase"] == "Failed" and errors["value"] > 0.15
    markdown = world.cli(
        "verify", "--stage", "staging", "-m", str(world.root), "--format", "markdown"
    )
    assert markdown.code == 1 and "❌ Stage `staging` of pipeline `churn`: Failed" in markdown.out

    # No traffic at all: Inconclusive, never Successful.
    world.sandbox.set_traffic(
        {
            "account": STAGING,
            "endpoints": {"churn": {"invocationsPerMinute": 0}},
            "versions": {"churn/2": {"invocationsPerMinute": 0}},
        }
    )
    code, report = verify(world)
    assert code == 3 and report["phase"] == "Inconclusive", json.dumps(report)
    assert (
        report["measurements"][0]["subjects"][0]["reason"] == "0 invocations < minInvocations 100"
    )


def test_an_unknown_stage_or_a_stage_without_verification_is_an_error(stages: World) -> None:
    unknown = stages.cli("verify", "--stage", "qa", "-m", str(stages.root))
    stages.write(
        "pipeline.yaml",
        PIPELINE.split("          verification:\n            interval: 1s\n            count: 1")[
            0
        ],
    )
    unverified = stages.cli("verify", "--stage", "prod", "-m", str(stages.root))

    assert unknown.code == 1 and "no stage 'qa' in any kind: Pipeline" in unknown.err
    assert (
        unverified.code == 1
        and "stage 'prod' of pipeline 'churn' has no verification" in unverified.err
    )


def allow_stages_to_record(world: World) -> None:
    """The registry account lets the stage accounts record verdicts (UpdateModelPackage) on
    its versions, besides reading and deploying them (what the seed's shareWith grants)."""
    accounts = [f"arn:aws:iam::{a}:root" for a in (STAGING, PROD)]
    packages = GROUP_ARN.replace(":model-package-group/", ":model-package/") + "/*"
    actions = [
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
        "sagemaker:UpdateModelPackage",
    ]
    statement = {"Effect": "Allow", "Principal": {"AWS": accounts}, "Action": actions}
    policy = {
        "Version": "2012-10-17",
        "Statement": [{**statement, "Resource": [GROUP_ARN, packages]}],
    }
    sagemaker_in(world, REGISTRY).put_model_package_group_policy(
        ModelPackageGroupName="churn", ResourcePolicy=json.dumps(policy)
    )


def promote_to_prod(world: World, *extra: str) -> Any:
    return world.cli(
        "promote",
        "--group",
        GROUP_ARN,
        "--to",
        "2",
        "--stage",
        "prod",
        "-m",
        str(world.root),
        *extra,
    )


def test_a_recorded_verdict_gates_promotion_to_the_next_stage(stages: World) -> None:
    world = stages
    allow_stages_to_record(world)
    registry = sagemaker_in(world, REGISTRY)
    v2 = GROUP_ARN.replace(":model-package-group/", ":model-package/") + "/2"

    refused = promote_to_prod(world)
    assert refused.code == 1
    assert "churn v2 is not verified in stage staging (no verdict)" in refused.err

    # Staging serves the bad v2: the analysis fails, and the failure is recorded on v2.
    world.write("staging/churn.yaml", endpoint("churn", "staging", version=2))
    assert world.apply().code == 0
    code, _ = verify(world, "--record")
    assert code == 1
    described = registry.describe_model_package(ModelPackageName=v2)
    assert described["ModelLifeCycle"]["Stage"] == "staging"
    assert described["ModelLifeCycle"]["StageStatus"] == "Failed"
    assert described["CustomerMetadataProperties"]["sagemaker-gitops/stage/staging"].startswith(
        "Failed "
    )
    refused = promote_to_prod(world)
    assert refused.code == 1 and "its verdict there: Failed" in refused.err

    # The same version behaving well (say, a fixed dependency): verified, then promoted to prod
    # alone, staging's manifest untouched.
    world.sandbox.set_traffic({"versions": {"churn/2": {}}})
    code, _ = verify(world, "--record")
    assert code == 0
    described = registry.describe_model_package(ModelPackageName=v2)
    assert described["ModelLifeCycle"]["StageStatus"] == "Verified"
    promoted = promote_to_prod(world)
    assert promoted.code == 0, promoted.err
    assert "verified in stage staging" in promoted.err
    assert "version: 2" in (world.root / "prod/churn.yaml").read_text()
    assert "version: 2" in (world.root / "staging/churn.yaml").read_text()

    # status shows where the pipeline stands: each stage's pinned version and its verdict.
    status = world.cli("status", "-m", str(world.root), "--format", "json")
    pipelines = json.loads(status.out)["pipelines"]
    assert [(p["stage"], p["versions"], p["verdict"].split(" ")[0]) for p in pipelines] == [
        ("staging", [2], "Verified"),
        ("prod", [2], "-"),
    ]
    table = world.cli("status", "-m", str(world.root)).out
    assert "PIPELINE  STAGE" in table and "Verified" in table


def test_a_whole_stage_rolls_back_in_one_change(stages: World) -> None:
    world = stages
    world.write("staging/churn.yaml", endpoint("churn", "staging", version=2))
    assert world.apply().code == 0

    both = world.cli("rollback", "churn", "--stage", "staging", "-m", str(world.root))
    rolled = world.cli("rollback", "--stage", "staging", "-m", str(world.root))

    assert both.code == 1 and "name an ENDPOINT or a --stage (one of them)" in both.err
    assert rolled.code == 0, rolled.err
    assert "rolled back stage staging: " in rolled.err and " 2 -> 1 " in rolled.err
    assert "version: 1" in (world.root / "staging/churn.yaml").read_text()
    assert "version: 1" in (world.root / "prod/churn.yaml").read_text()  # never moved
    assert world.plan("--detailed-exitcode").code == 2  # staging's revert is a change to apply


def test_a_human_decides_an_inconclusive_stage(stages: World) -> None:
    """`--approve` / `--reject` record the stage's verdict on its pinned version by hand, with
    the reason, exactly where a measured verdict goes; nothing is measured."""
    world = stages
    allow_stages_to_record(world)
    registry = sagemaker_in(world, REGISTRY)
    v1 = GROUP_ARN.replace(":model-package-group/", ":model-package/") + "/1"
    world.sandbox.reset_calls()

    rejected = world.cli("verify", "--stage", "staging", "-m", str(world.root), "--reject")
    assert rejected.code == 0, rejected.err
    said = registry.describe_model_package(ModelPackageName=v1)
    assert said["CustomerMetadataProperties"]["sagemaker-gitops/stage/staging"].startswith(
        "Failed "
    )
    assert said["ModelLifeCycle"]["StageStatus"] == "Failed"

    approved = world.cli(
        "verify", "--stage", "staging", "-m", str(world.root), "--approve", "--reason", "p99 ok"
    )
    assert approved.code == 0, approved.err
    assert "recorded Verified for churn v1 in stage staging" in approved.out
    said = registry.describe_model_package(ModelPackageName=v1)
    value = said["CustomerMetadataProperties"]["sagemaker-gitops/stage/staging"]
    assert value.startswith("Verified ") and value.endswith("approved by hand: p99 ok")
    assert "GetMetricData" not in world.sandbox.calls_by_account().get(STAGING, {})

    with pytest.raises(SystemExit):  # argparse: --approve and --reject exclude each other
        world.cli("verify", "--stage", "staging", "-m", str(world.root), "--approve", "--reject")


SHADOW_GATE = """
          shadow:
            verification:
              interval: 1s
              count: 2
              initialDelay: 1s
              metrics:
                - {name: p99-ratio, latency: {statistic: p99}, compare: ratio, max: 1.5}
"""


def test_a_shadow_candidate_is_measured_against_production_in_ci(stages: World) -> None:
    """`verify --shadow`: the CI route to a shadow gate. The bad v2 as prod's shadow is judged
    against production's v1 on the same endpoint and fails; its verdict is recorded on v2 only,
    as stage prod-shadow."""
    from controller.edits.shadowing import add_shadow

    world = stages
    allow_stages_to_record(world)
    pipeline = PIPELINE.replace(
        "        - name: prod\n          endpoints: {targets: [prod]}\n",
        "        - name: prod\n          endpoints: {targets: [prod]}\n" + SHADOW_GATE,
    )
    world.write("pipeline.yaml", pipeline)
    prod = (world.root / "prod/churn.yaml").read_text()
    world.write(
        "prod/churn.yaml",
        add_shadow(prod, 0, "prod/churn.yaml", variant="shadow", version=2, weight=1),
    )
    assert world.apply().code == 0
    world.sandbox.reset_calls()

    result = world.cli(
        "verify",
        "--stage",
        "prod",
        "-m",
        str(world.root),
        "--shadow",
        "--format",
        "json",
        "--record",
    )

    report = json.loads(result.out)
    assert result.code == 1 and report["phase"] == "Failed", result.err
    assert report["stage"] == "prod-shadow" and report["versions"] == {"churn": [2]}
    subjects = report["measurements"][0]["subjects"]
    assert [s["variant"] for s in subjects] == ["shadow"]
    assert subjects[0]["checks"]["p99-ratio"]["value"] > 1.5
    registry = sagemaker_in(world, REGISTRY)
    package = GROUP_ARN.replace(":model-package-group/", ":model-package/")
    v2 = registry.describe_model_package(ModelPackageName=f"{package}/2")
    v1 = registry.describe_model_package(ModelPackageName=f"{package}/1")
    assert v2["CustomerMetadataProperties"]["sagemaker-gitops/stage/prod-shadow"].startswith(
        "Failed"
    )
    assert "sagemaker-gitops/stage/prod-shadow" not in v1.get("CustomerMetadataProperties", {})
    # One measurement: the first Failed one ends the run (failureLimit 0).
    assert world.sandbox.calls_by_account()[PROD]["GetMetricData"] == 1


def test_a_query_check_reads_a_metric_the_team_publishes(stages: World) -> None:
    """Any CloudWatch metric can gate a stage: a data-drift score the team publishes per
    endpoint (PutMetricData), read with the endpoint's name in its dimension."""
    world = stages
    drift = "{name: drift, query: {namespace: Churn/Quality, metricName: DriftScore, "
    drift += 'dimensions: {Endpoint: "{endpoint}"}, statistic: Maximum}, max: 0.3}'
    pipeline = PIPELINE.replace(
        "              - {name: p99, latency: {statistic: p99}, max: 500}",
        "              - {name: p99, latency: {statistic: p99}, max: 500}\n              - "
        + drift,
    )
    world.write("pipeline.yaml", pipeline)
    cloudwatch = in_account(world, STAGING, "cloudwatch")

    def publish(score: float) -> None:
        now = datetime.now(UTC)
        cloudwatch.put_metric_data(
            Namespace="Churn/Quality",
            MetricData=[
                {
                    "MetricName": "DriftScore",
                    "Dimensions": [{"Name": "Endpoint", "Value": "churn"}],
                    "Timestamp": now + timedelta(seconds=offset),
                    "Value": score,
                }
                for offset in range(-2, 12)
            ],
        )

    publish(0.1)
    code, report = verify(world)
    assert code == 0, report
    values = report["measurements"][-1]["subjects"][0]["checks"]["drift"]
    assert values["value"] == 0.1 and values["phase"] == "Successful"

    publish(0.6)  # the maximum of the window's published values now fails the check
    code, report = verify(world)
    assert code == 1 and report["phase"] == "Failed"
    assert report["measurements"][0]["subjects"][0]["checks"]["drift"]["value"] == 0.6


def test_a_math_check_combines_metrics_in_one_expression(stages: World) -> None:
    """Raw metric math gates a stage: 4XX and 5XX together per invocation, as one expression
    over three metrics of the variant, in the same GetMetricData batch."""
    world = stages
    dims = '{EndpointName: "{endpoint}", VariantName: "{variant}"}'
    metrics = ", ".join(
        f"{ident}: {{namespace: AWS/SageMaker, metricName: {name}, dimensions: {dims}, "
        "statistic: Sum}"
        for ident, name in (
            ("e5", "Invocation5XXErrors"),
            ("e4", "Invocation4XXErrors"),
            ("inv", "Invocations"),
        )
    )
    check = f'{{name: failures, math: {{expression: "(e5 + e4) / inv", metrics: {{{metrics}}}}}, '
    check += "max: 0.05}"
    pipeline = PIPELINE.replace(
        "              - {name: p99, latency: {statistic: p99}, max: 500}",
        "              - {name: p99, latency: {statistic: p99}, max: 500}\n              - "
        + check,
    )
    world.write("pipeline.yaml", pipeline)
    world.sandbox.reset_calls()

    code, report = verify(world)

    assert code == 0, report
    value = report["measurements"][0]["subjects"][0]["checks"]["failures"]["value"]
    assert 0.001 < value < 0.01  # v1's default profile: 0.2% 4XX + 0.1% 5XX
    (first, *_) = world.sandbox.requests("GetMetricData")
    expressions = [q["Expression"] for q in first["MetricDataQueries"] if "Expression" in q]
    assert expressions == ["(s0_c2_e5 + s0_c2_e4) / s0_c2_inv"]

    world.write("staging/churn.yaml", endpoint("churn", "staging", version=2))
    assert world.apply().code == 0
    code, report = verify(world)
    assert code == 1  # v2's 20% 5XX
    assert report["measurements"][0]["subjects"][0]["checks"]["failures"]["value"] > 0.15
