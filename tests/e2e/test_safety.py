"""Safety end to end: bad input, unowned resources, prune rules, failed rollouts."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import ROLE, World, byom_manifest, registry_manifest


def test_unapproved_and_missing_versions_fail_only_their_endpoint(world: World) -> None:
    world.write("pending.yaml", registry_manifest(name="pending", version=3))
    world.write("missing.yaml", registry_manifest(name="missing", version=99))
    world.write("good.yaml", registry_manifest(name="good", version=2))

    plan = json.loads(world.plan("--format", "json").out)
    result = world.apply()

    errors = {e["name"]: e["errors"] for e in plan["endpoints"] if e["status"] == "error"}
    assert "PendingManualApproval, not Approved" in errors["pending"][0]
    assert "no version 99" in errors["missing"][0]
    assert result.code == 1
    assert world.names("endpoint") == ["good"]


def test_invalid_manifest_is_reported_with_file_and_line_and_nothing_applied(world: World) -> None:
    world.write("good.yaml", registry_manifest(name="good"))
    world.write("bad.yaml", registry_manifest(name="bad").replace("ml.m5.xlarge", "ml.m5.huge"))

    result = world.apply()

    assert result.code == 1
    assert "bad.yaml:11: spec.variants[0].instanceType: unknown instance type" in result.err
    assert "Traceback" not in result.err
    assert world.names("endpoint") == ["good"]


def test_cli_subprocess_reports_bad_input_without_traceback(world: World) -> None:
    world.write("bad.yaml", "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: [\n")
    done = subprocess.run(
        [sys.executable, "-m", "controller", "plan", "-m", str(world.root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "bad.yaml:3:" in output and "Traceback" not in output


def test_prune_deletes_only_with_the_flag(world: World) -> None:
    world.write("a.yaml", registry_manifest(name="a"))
    world.write("b.yaml", registry_manifest(name="b"))
    assert world.apply().code == 0
    (world.root / "b.yaml").unlink()

    kept = world.apply()
    plan = world.plan()
    assert kept.code == 0 and world.names("endpoint") == ["a", "b"]
    assert "use --prune" in plan.out

    pruned = world.apply("--prune")
    assert pruned.code == 0, pruned.err
    assert world.names("endpoint") == ["a"]
    assert not [c for c in world.names("config") if c.startswith("b-")]
    assert not [m for m in world.names("model") if m.startswith("b-")]


def test_a_broken_manifest_never_reads_as_removed(world: World) -> None:
    world.write("a.yaml", registry_manifest(name="a"))
    world.write("b.yaml", registry_manifest(name="b"))
    assert world.apply().code == 0
    world.write("b.yaml", "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: {name: b\n")

    mutations = world.mutations_during(lambda: world.apply("--prune"))

    assert "DeleteEndpoint" not in mutations
    assert world.names("endpoint") == ["a", "b"]


def test_unowned_endpoint_is_never_touched(world: World) -> None:
    _hand_made_endpoint(world, "churn")
    _hand_made_endpoint(world, "stranger")
    world.write("churn.yaml", registry_manifest(name="churn"))

    plan = world.plan()
    mutations = world.mutations_during(lambda: world.apply("--prune"))

    assert plan.code == 1
    assert "not managed by sagemaker-gitops" in plan.out
    assert mutations == {}
    assert world.endpoint("churn")["EndpointConfigName"] == "churn-handmade"
    assert "stranger" in world.names("endpoint")


def test_adopt_takes_over_an_unowned_endpoint(world: World) -> None:
    _hand_made_endpoint(world, "churn")
    world.write("churn.yaml", registry_manifest(name="churn", extra_spec="  adopt: true"))

    result = world.apply()

    assert result.code == 0, result.err
    endpoint = world.endpoint("churn")
    assert endpoint["EndpointConfigName"] != "churn-handmade"
    assert world.tags(endpoint["EndpointArn"])["sagemaker-gitops/managed-by"] == "default"
    assert world.mutations_during(lambda: world.apply()) == {}


def test_endpoint_of_another_controller_is_left_alone(world: World) -> None:
    world.write("churn.yaml", registry_manifest(name="churn"))
    assert world.apply("--controller-id", "team-a").code == 0

    result = world.apply("--controller-id", "team-b", "--prune")

    assert result.code == 1
    assert "managed by controller 'team-a'" in result.err


def test_failed_rollout_is_reported_and_not_retried_until_the_manifest_changes(
    world: World,
) -> None:
    world.write("kmeans.yaml", byom_manifest(env="LOG_LEVEL: info"))
    assert world.apply().code == 0
    good = world.endpoint("kmeans")["EndpointConfigName"]
    world.write("kmeans.yaml", byom_manifest(env="SAGEMAKER_SANDBOX_FAIL: '1'"))

    attempts = world.calls().get("UpdateEndpoint", 0)
    failed = world.apply()
    attempts = world.calls().get("UpdateEndpoint", 0) - attempts
    again = world.mutations_during(lambda: world.apply())
    world.write("kmeans.yaml", byom_manifest(env="LOG_LEVEL: debug"))
    fixed = world.apply()

    assert failed.code == 1
    assert "failed and was rolled back" in failed.err
    assert attempts == 1  # the failed config is tried once, not again on each poll
    assert world.endpoint("kmeans")["EndpointConfigName"] != good or fixed.code == 0
    assert again == {}
    assert fixed.code == 0, fixed.err
    assert world.endpoint("kmeans")["EndpointStatus"] == "InService"
    assert not world.endpoint("kmeans").get("FailureReason")


def test_after_a_failed_rollout_capacity_drift_is_still_healed_and_the_config_not_retried(
    world: World,
) -> None:
    """Issue 19 item 11: waiting for new input holds the failed config, not everything. A hand
    scale-out of the rolled-back endpoint is undone in place (no UpdateEndpoint), and the heal
    (which clears SageMaker's FailureReason) does not make the failed config look retryable."""

    def on_instances(env: str) -> str:
        serverless = "serverless: {memorySizeInMB: 2048, maxConcurrency: 5}"
        instances = "instanceType: ml.m5.large\n              initialInstanceCount: 1"
        return byom_manifest(env=env).replace(serverless, instances)

    world.write("kmeans.yaml", on_instances("LOG_LEVEL: info"))
    assert world.apply().code == 0
    world.write("kmeans.yaml", on_instances("SAGEMAKER_SANDBOX_FAIL: '1'"))
    assert world.apply().code == 1
    world.sm.update_endpoint_weights_and_capacities(
        EndpointName="kmeans",
        DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 3}],
    )

    plan = world.plan()
    healed_result: list[Any] = []
    healed = world.mutations_during(lambda: healed_result.append(world.apply()))
    again = world.mutations_during(lambda: world.apply())

    assert "variants[main].initialInstanceCount: 3 -> 1" in plan.out
    assert "failed and was rolled back" in plan.out + plan.err
    assert healed_result[0].code == 1  # the failed rollout is still reported
    assert healed == {"UpdateEndpointWeightsAndCapacities": 1}
    [variant] = world.endpoint("kmeans")["ProductionVariants"]
    assert variant["CurrentInstanceCount"] == 1
    assert again == {}  # no retry of the failed config, though FailureReason may be gone


def test_failed_endpoint_needs_explicit_recreate(world: World) -> None:
    world.write("kmeans.yaml", byom_manifest(env="SAGEMAKER_SANDBOX_FAIL: '1'"))
    created = world.apply()
    world.write("kmeans.yaml", byom_manifest(env="LOG_LEVEL: info"))

    blocked = world.apply()
    recreated = world.apply("--recreate-failed")

    assert created.code == 1 and "is Failed" in created.err
    assert blocked.code == 1 and "--recreate-failed" in blocked.err
    assert recreated.code == 0, recreated.err
    assert world.endpoint("kmeans")["EndpointStatus"] == "InService"


def _hand_made_endpoint(world: World, name: str) -> None:
    world.sm.create_model(
        ModelName=f"{name}-handmade",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    world.sm.create_endpoint_config(
        EndpointConfigName=f"{name}-handmade",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": f"{name}-handmade",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    world.sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-handmade")


def test_recreate_failed_recreates_once_per_command_then_reports(world: World) -> None:
    """A container that fails every time: one delete and one create, then the endpoint is an
    error with its FailureReason (it used to be deleted and created every ~2 s until the
    timeout: in AWS each cycle provisions instances)."""
    world.write("kmeans.yaml", byom_manifest(env="SAGEMAKER_SANDBOX_FAIL: '1'"))
    assert world.apply().code == 1
    results = []

    calls = world.calls_during(
        lambda: results.append(world.apply("--recreate-failed", "--timeout", "120"))
    )

    (result,) = results
    assert result.code == 1
    assert "Failed again after it was recreated" in result.err
    assert (calls.get("DeleteEndpoint"), calls.get("CreateEndpoint")) == (1, 1)
    assert world.endpoint("kmeans")["EndpointStatus"] == "Failed"
