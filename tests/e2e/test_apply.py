"""apply/plan end to end: creation, rollouts, change classes and idempotence."""

from __future__ import annotations

import json

from tests.e2e.conftest import ROLE, World, byom_manifest, registry_manifest

TWO_VARIANTS = f"""
    apiVersion: sagemaker-gitops/v1
    kind: Endpoint
    metadata:
      name: fraud
    spec:
      executionRoleArn: {ROLE}
      variants:
        - name: current
          model: {{packageGroup: fraud-detector, version: 1}}
          instanceType: ml.c5.large
          initialInstanceCount: 2
          initialWeight: 9
        - name: challenger
          model: {{packageGroup: fraud-detector, version: 2}}
          instanceType: ml.c5.large
          initialWeight: 1
      tags: {{owner: risk-ml}}
    """


def test_creates_registry_byom_serverless_and_weighted_endpoints(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    world.write("kmeans.yaml", byom_manifest())
    world.write("fraud.yaml", TWO_VARIANTS)

    result = world.apply()

    assert result.code == 0, result.err
    assert world.names("endpoint") == ["churn", "fraud", "kmeans"]
    churn = world.endpoint("churn")
    assert churn["EndpointStatus"] == "InService"
    config = world.sm.describe_endpoint_config(EndpointConfigName=churn["EndpointConfigName"])
    model = world.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"].endswith("model-package/churn-xgb/1")
    kmeans = world.sm.describe_endpoint_config(
        EndpointConfigName=world.endpoint("kmeans")["EndpointConfigName"]
    )
    assert kmeans["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    fraud = {v["VariantName"]: v for v in world.endpoint("fraud")["ProductionVariants"]}
    assert fraud["current"]["CurrentWeight"] == 9.0
    assert fraud["challenger"]["CurrentWeight"] == 1.0
    assert fraud["current"]["CurrentInstanceCount"] == 2


def test_owned_resources_carry_the_ownership_tags(world: World) -> None:
    world.write("team/churn.yaml", registry_manifest(extra_spec="  tags: {cost-center: '42'}"))
    assert world.apply("--controller-id", "ml-platform").code == 0

    tags = world.tags(world.endpoint("churn")["EndpointArn"])

    assert tags["sagemaker-gitops/managed-by"] == "ml-platform"
    assert tags["sagemaker-gitops/source"] == "team/churn.yaml"
    assert tags["cost-center"] == "42"
    assert len(tags["sagemaker-gitops/spec-hash"]) == 12


def test_second_apply_makes_no_mutating_call_and_plan_is_empty(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    world.write("fraud.yaml", TWO_VARIANTS)
    world.write("kmeans.yaml", byom_manifest())
    assert world.apply().code == 0

    mutations = world.mutations_during(lambda: world.apply())
    plan = world.plan("--detailed-exitcode")

    assert mutations == {}
    assert plan.code == 0, plan.out
    assert "No changes" in plan.out


def test_a_no_op_apply_stays_within_the_api_call_budget(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    world.write("fraud.yaml", TWO_VARIANTS)
    world.write("kmeans.yaml", byom_manifest())
    assert world.apply().code == 0

    used = world.calls_during(lambda: world.apply("--concurrency", "8"))
    # One DescribeEndpoint per endpoint, one listing per package group, one index query and one
    # scalable-target listing: even with endpoints reconciled in parallel, shared listings are
    # fetched once.
    assert used == {
        "DescribeEndpoint": 3,
        "ListModelPackages": 2,
        "GetResources": 1,
        "DescribeScalableTargets": 1,
    }


def test_version_bump_rolls_out_with_update_endpoint(world: World) -> None:
    world.write("churn.yaml", registry_manifest(version=1))
    assert world.apply().code == 0
    old_config = world.endpoint("churn")["EndpointConfigName"]
    world.write("churn.yaml", registry_manifest(version=2))

    plan = world.plan("--format", "json", "--detailed-exitcode")
    doc = json.loads(plan.out)
    mutations = world.mutations_during(lambda: world.apply())

    assert plan.code == 2
    assert doc["summary"]["update"] == 1
    changes = [c for a in doc["endpoints"][0]["actions"] for c in a["changes"]]
    assert {"path": "variants[primary].model.version", "before": 1, "after": 2}.items() <= next(
        c for c in changes if c["path"].endswith("version")
    ).items()
    assert mutations.get("UpdateEndpoint") == 1
    assert mutations.get("CreateEndpoint") is None
    assert world.endpoint("churn")["EndpointConfigName"] != old_config


def test_weights_only_change_updates_in_place(world: World) -> None:
    world.write("fraud.yaml", TWO_VARIANTS)
    assert world.apply().code == 0
    config = world.endpoint("fraud")["EndpointConfigName"]
    world.write("fraud.yaml", TWO_VARIANTS.replace("initialWeight: 9", "initialWeight: 5"))

    plan = json.loads(world.plan("--format", "json").out)
    mutations = world.mutations_during(lambda: world.apply())

    reasons = {a["reason"] for a in plan["endpoints"][0]["actions"]}
    assert reasons == {"WeightsOnly"}
    assert mutations.get("UpdateEndpointWeightsAndCapacities") == 1
    assert "CreateEndpointConfig" not in mutations and "UpdateEndpoint" not in mutations
    endpoint = world.endpoint("fraud")
    assert endpoint["EndpointConfigName"] == config
    weights = {v["VariantName"]: v["CurrentWeight"] for v in endpoint["ProductionVariants"]}
    assert weights == {"current": 5.0, "challenger": 1.0}
    assert world.mutations_during(lambda: world.apply()) == {}


def test_tag_only_change_uses_add_and_delete_tags(world: World) -> None:
    world.write("fraud.yaml", TWO_VARIANTS)
    assert world.apply().code == 0
    world.write("fraud.yaml", TWO_VARIANTS.replace("owner: risk-ml", "team: fraud"))

    mutations = world.mutations_during(lambda: world.apply())

    assert set(mutations) == {"AddTags", "DeleteTags"}
    tags = world.tags(world.endpoint("fraud")["EndpointArn"])
    assert tags["team"] == "fraud" and "owner" not in tags
    assert world.mutations_during(lambda: world.apply()) == {}


def test_plan_only_reads(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    before = world.calls()

    result = world.plan("--detailed-exitcode")

    after = world.calls()
    used = {op for op, n in after.items() if n != before.get(op, 0)}
    assert result.code == 2
    assert used and all(op.startswith(("Describe", "List", "Get")) for op in used), used


def test_no_wait_returns_while_the_endpoint_is_still_creating(world: World) -> None:
    world.sandbox.set_faults(transition_seconds=30)
    world.write("churn.yaml", registry_manifest())

    result = world.apply("--no-wait")

    assert result.code == 0, result.err
    assert world.endpoint("churn")["EndpointStatus"] == "Creating"
    assert "in progress" in result.out


def test_wait_times_out_with_an_error(world: World) -> None:
    world.sandbox.set_faults(transition_seconds=30)
    world.write("churn.yaml", registry_manifest())

    result = world.apply("--timeout", "0.3")

    assert result.code == 1
    assert "timed out" in result.err


def test_garbage_collection_keeps_the_live_config_and_two_previous(world: World) -> None:
    world.sandbox.seed_registry(
        {
            "modelPackageGroups": [
                {
                    "name": "gc-group",
                    "versions": [
                        {
                            "image": "i:1",
                            "modelDataUrl": f"s3://m/{n}/model.tar.gz",
                            "approval": "Approved",
                        }
                        for n in range(1, 6)
                    ],
                }
            ]
        }
    )
    configs = []
    for version in range(1, 6):
        world.write("gc.yaml", registry_manifest(name="gc", group="gc-group", version=version))
        assert world.apply("--gc-min-age", "0").code == 0  # GC what was made seconds ago
        configs.append(world.endpoint("gc")["EndpointConfigName"])

    kept = [c for c in world.names("config") if c.startswith("gc-")]
    models = [m for m in world.names("model") if m.startswith("gc-")]

    assert sorted(kept) == sorted(configs[-3:])
    assert len(models) == 3
    assert world.mutations_during(lambda: world.apply()) == {}


def test_apply_converges_through_throttling_and_server_errors(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    world.write("kmeans.yaml", byom_manifest())
    world.sandbox.set_faults(throttle_rate=0.25, error_rate=0.05)

    result = world.apply()

    world.sandbox.set_faults(throttle_rate=0.0, error_rate=0.0)
    assert result.code == 0, result.err
    assert world.calls().get("rejected", 0) > 0  # faults were injected and retried
    assert world.names("endpoint") == ["churn", "kmeans"]
    assert world.mutations_during(lambda: world.apply()) == {}


def test_a_persistent_server_error_is_tried_a_bounded_number_of_times(world: World) -> None:
    """UpdateEndpoint answers 500 every time (as plain moto does for an API it lacks): the
    change gets the retry budget (8 attempts) across apply's re-reads, then the endpoint is an
    error. It was sent 148 times in 150 s, until --timeout."""
    world.write("churn.yaml", registry_manifest())
    assert world.apply().code == 0
    world.sandbox.set_faults(failing_operations=["UpdateEndpoint"])
    world.write("churn.yaml", registry_manifest(version=2))
    results = []

    calls = world.calls_during(lambda: results.append(world.apply("--timeout", "120")))

    world.sandbox.set_faults(failing_operations=[])
    (result,) = results
    assert result.code == 1
    assert "failed 8 times" in result.err and "timed out" not in result.err
    # Every refused request is an UpdateEndpoint here (no other fault is set).
    assert calls.get("rejected") == 8
