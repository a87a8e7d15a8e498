"""Rollback history by deployment order, GC timing, and Drift for hand edits (issue 8)."""

from __future__ import annotations

import json

from tests.e2e.conftest import ROLE, World, registry_manifest

FAST = ("--calls-per-second", "1000", "--gc-min-age", "0")


def _seed_versions(world: World, count: int) -> None:
    versions = [
        {"image": "i:1", "modelDataUrl": f"s3://m/{n}/model.tar.gz", "approval": "Approved"}
        for n in range(1, count + 1)
    ]
    world.sandbox.seed_registry({"modelPackageGroups": [{"name": "hist", "versions": versions}]})


def _deploy(world: World, version: int) -> str:
    world.write("h.yaml", registry_manifest(name="h", group="hist", version=version))
    result = world.apply(*FAST)
    assert result.code == 0, result.err
    return str(world.endpoint("h")["EndpointConfigName"])


def test_gc_keeps_the_configs_that_were_live_not_the_newest(world: World) -> None:
    """Deploy 1, 2, 5, 1, 6: the config live just before 6 (v1) is kept, unused v2 goes."""
    _seed_versions(world, 6)
    config = {v: _deploy(world, v) for v in (1, 2, 5)}
    assert _deploy(world, 1) == config[1]  # content-hashed: the same config again
    config[6] = _deploy(world, 6)
    world.apply(*FAST)  # the pass after the rollout settled, as the next apply or resync does

    kept = sorted(c for c in world.names("config") if c.startswith("h-"))
    tags = world.tags(world.endpoint("h")["EndpointArn"])

    assert tags["sagemaker-gitops/history"].split() == [config[1], config[5], config[2]]
    assert kept == sorted([config[6], config[1], config[5]])  # live + the last 2 live ones
    assert config[2] not in kept
    models = [m for m in world.names("model") if m.startswith("h-")]
    assert len(models) == 3
    assert world.mutations_during(lambda: world.apply(*FAST)) == {}


def test_no_gc_while_the_endpoint_is_updating(world: World) -> None:
    _seed_versions(world, 4)
    for version in (1, 2, 3):
        _deploy(world, version)
    world.sandbox.set_faults(transition_seconds=30)
    world.write("h.yaml", registry_manifest(name="h", group="hist", version=4))

    first = world.mutations_during(lambda: world.apply("--no-wait", *FAST))
    second = world.mutations_during(lambda: world.apply("--no-wait", *FAST))

    assert first.get("UpdateEndpoint") == 1
    assert world.endpoint("h")["EndpointStatus"] == "Updating"
    assert not any(op.startswith("Delete") for op in {**first, **second})


def test_a_hand_edit_in_the_account_plans_as_drift(world: World) -> None:
    world.write("h.yaml", registry_manifest(name="h"))
    assert world.apply(*FAST).code == 0
    world.sm.create_model(
        ModelName="h-by-hand",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    world.sm.create_endpoint_config(
        EndpointConfigName="h-by-hand",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "h-by-hand",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    world.sm.update_endpoint(EndpointName="h", EndpointConfigName="h-by-hand")
    world.write("h.yaml", registry_manifest(name="h", version=2))  # and a new version on top

    plan = json.loads(world.plan("--format", "json").out)

    (update,) = [a for a in plan["endpoints"][0]["actions"] if a["op"] == "update"]
    assert update["reason"] == "Drift"
