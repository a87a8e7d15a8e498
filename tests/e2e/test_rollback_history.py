"""Rollback history by deployment order, GC timing, and Drift for hand edits (issue 8)."""

from __future__ import annotations

import json

from tests.e2e.conftest import ROLE, World, byom_manifest, registry_manifest

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

    # GC pruned the tag with v2's config: it names only configs that still exist.
    assert tags["sagemaker-gitops/history"].split() == [config[1], config[5]]
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


BROKEN = "SAGEMAKER_SANDBOX_FAIL: '1'"  # the sandbox fails this container's health check


def _configs(world: World, name: str) -> list[str]:
    return [c for c in world.names("config") if c.startswith(f"{name}-")]


def test_a_config_whose_rollout_failed_is_not_kept_as_history(world: World) -> None:
    """v1 served, v2's rollout failed (rolled back to v1), v3 serves: v2 never served, so GC
    keeps v3 and v1 only, not v2 as one of the "newest other" configs."""
    world.write("f.yaml", byom_manifest(name="f", env="STEP: '1'"))
    assert world.apply(*FAST).code == 0
    served = str(world.endpoint("f")["EndpointConfigName"])
    world.write("f.yaml", byom_manifest(name="f", env=f"STEP: '2', {BROKEN}"))
    assert world.apply(*FAST).code != 0  # rolled back to v1
    world.write("f.yaml", byom_manifest(name="f", env="STEP: '3'"))

    assert world.apply(*FAST).code == 0

    live = str(world.endpoint("f")["EndpointConfigName"])
    assert sorted(_configs(world, "f")) == sorted([live, served])
    assert world.tags(world.endpoint("f")["EndpointArn"])["sagemaker-gitops/history"] == served
    assert len([m for m in world.names("model") if m.startswith("f-")]) == 2
    assert world.mutations_during(lambda: world.apply(*FAST)) == {}


def test_the_config_of_a_create_that_failed_is_not_kept_as_history(world: World) -> None:
    """CreateEndpoint committed a config that never served (the endpoint Failed); after the
    endpoint is recreated on a good config, GC deletes the failed one."""
    world.write("c.yaml", byom_manifest(name="c", env=BROKEN))
    assert world.apply(*FAST).code != 0
    failed = str(world.endpoint("c")["EndpointConfigName"])
    assert world.endpoint("c")["EndpointStatus"] == "Failed"
    world.write("c.yaml", byom_manifest(name="c"))

    assert world.apply(*FAST, "--recreate-failed").code == 0
    world.apply(*FAST)  # the pass after the endpoint settled

    live = str(world.endpoint("c")["EndpointConfigName"])
    assert _configs(world, "c") == [live]
    assert failed != live
    assert world.tags(world.endpoint("c")["EndpointArn"])["sagemaker-gitops/history"] == ""
    assert world.mutations_during(lambda: world.apply(*FAST)) == {}
