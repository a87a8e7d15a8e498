"""Inference components end to end: the real CLI against the sandbox.

One GPU endpoint hosts two models as inference components; each change is decided per component
and checked by the exact requests the sandbox recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from controller.aws.clients import AwsOptions, Clients
from controller.core.plan.outcomes import OutcomeKind
from controller.reconcile.reconciling import ReconcileOptions, Reconciler
from tests.e2e.conftest import IMAGE, ROLE, World

REPO = Path(__file__).resolve().parents[2]

ROLLING = """
        deployment:
          rollingUpdatePolicy:
            maximumBatchSize: {type: COPY_COUNT, value: 1}
            waitIntervalInSeconds: 60
            rollbackMaximumBatchSize: {type: CAPACITY_PERCENT, value: 50}
          autoRollbackConfiguration:
            alarms: [{alarmName: chat-5xx}]"""


def component(
    name: str, group: str, version: int, copies: int = 2, env: str = "", extra: str = ""
) -> str:
    environment = f"\n          environment: {{{env}}}" if env else ""
    return f"""
      - name: {name}
        variant: shared
        model:
          packageGroup: {group}
          version: {version}{environment}
        compute: {{acceleratorDevices: 1, minMemoryMb: 1024}}
        copies: {copies}
        startup: {{containerStartupHealthCheckTimeoutInSeconds: 300}}{extra}"""


def ic_manifest(*components: str, instance_type: str = "ml.g5.12xlarge", max_count: int = 4) -> str:
    return f"""
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: gpu
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: shared
      instanceType: {instance_type}
      managedInstanceScaling:
        minInstanceCount: 1
        maxInstanceCount: {max_count}
        scaleInPolicy: {{strategy: IDLE_RELEASE}}
      routingConfig: {{routingStrategy: LEAST_OUTSTANDING_REQUESTS}}
  inferenceComponents:{"".join(components)}
"""


CHAT = component("chat", "churn-xgb", 1, extra=ROLLING)
FRAUD = component("fraud", "fraud-detector", 1)


def write(world: World, *components: str, **options: Any) -> None:
    (world.root / "gpu.yaml").write_text(ic_manifest(*components, **options))


def describe(world: World, name: str) -> dict[str, Any]:
    return dict(world.sm.describe_inference_component(InferenceComponentName=name))


@pytest.fixture
def shared(world: World) -> World:
    """Endpoint `gpu` InService with components chat and fraud (two copies each)."""
    write(world, CHAT, FRAUD)
    result = world.apply()
    assert result.code == 0, result.out + result.err
    return world


def test_creates_the_endpoint_then_both_components(shared: World) -> None:
    config = shared.sm.describe_endpoint_config(
        EndpointConfigName=shared.endpoint("gpu")["EndpointConfigName"]
    )
    variant = config["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 4
    assert config["ExecutionRoleArn"] == ROLE
    for name in ("chat", "fraud"):
        found = describe(shared, name)
        assert found["InferenceComponentStatus"] == "InService"
        assert found["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
        assert found["Specification"]["ComputeResourceRequirements"] == {
            "NumberOfAcceleratorDevicesRequired": 1.0,
            "MinMemoryRequiredInMb": 1024,
        }
        tags = shared.tags(found["InferenceComponentArn"])
        assert tags["sagemaker-gitops/managed-by"] == "default"
        assert tags["sagemaker-gitops/endpoint"] == "gpu"


def test_second_apply_makes_no_mutating_call(shared: World) -> None:
    mutations = shared.mutations_during(lambda: shared.apply())
    assert mutations == {}
    assert "No changes" in shared.plan().out


def test_a_version_bump_updates_only_that_component_with_its_rolling_config(
    shared: World,
) -> None:
    write(shared, component("chat", "churn-xgb", 2, extra=ROLLING), FRAUD)
    plan = json.loads(shared.plan("--format", "json").out)
    (endpoint,) = plan["endpoints"]
    update = next(a for a in endpoint["actions"] if a["type"] == "InferenceComponent")
    assert (update["op"], update["name"], update["reason"]) == ("update", "chat", "VersionChanged")
    assert {"path": "inferenceComponents[chat].model.version", "before": 1, "after": 2} in [
        {k: c[k] for k in ("path", "before", "after")} for c in update["changes"]
    ]

    mutations = shared.mutations_during(lambda: shared.apply())

    assert mutations == {"CreateModel": 1, "UpdateInferenceComponent": 1, "AddTags": 1}
    (sent,) = shared.sandbox.requests("UpdateInferenceComponent")
    assert sent["InferenceComponentName"] == "chat"
    assert sent["DeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"] == {
        "Type": "COPY_COUNT",
        "Value": 1,
    }
    assert sent["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "chat-5xx"}]
    }
    assert "RuntimeConfig" not in sent
    assert (
        describe(shared, "chat")["Specification"]["ModelName"] == sent["Specification"]["ModelName"]
    )


def test_a_copy_count_change_is_a_runtime_config_call_only(shared: World) -> None:
    write(shared, CHAT, component("fraud", "fraud-detector", 1, copies=3))

    mutations = shared.mutations_during(lambda: shared.apply())

    assert mutations == {"UpdateInferenceComponentRuntimeConfig": 1}
    (sent,) = shared.sandbox.requests("UpdateInferenceComponentRuntimeConfig")
    assert sent == {"InferenceComponentName": "fraud", "DesiredRuntimeConfig": {"CopyCount": 3}}
    assert describe(shared, "fraud")["RuntimeConfig"]["CurrentCopyCount"] == 3


def test_an_added_component_is_created_and_a_removed_one_pruned(shared: World) -> None:
    embed = component("embed", "churn-xgb", 2, copies=1)
    write(shared, CHAT, FRAUD, embed)
    assert shared.mutations_during(lambda: shared.apply()) == {
        "CreateModel": 1,
        "CreateInferenceComponent": 1,
    }
    write(shared, CHAT, embed)

    assert "fraud removed from the manifest; kept (use --prune)" in shared.plan().out
    assert shared.mutations_during(lambda: shared.apply()) == {}
    assert describe(shared, "fraud")["InferenceComponentStatus"] == "InService"

    mutations = shared.mutations_during(lambda: shared.apply("--prune"))
    assert mutations == {"DeleteInferenceComponent": 1}
    names = [
        c["InferenceComponentName"]
        for c in shared.sm.list_inference_components(EndpointNameEquals="gpu")[
            "InferenceComponents"
        ]
    ]
    assert sorted(names) == ["chat", "embed"]


def test_an_endpoint_level_change_leaves_components_alone(shared: World) -> None:
    write(shared, CHAT, FRAUD, max_count=6)
    mutations = shared.mutations_during(lambda: shared.apply())
    # AddTags: the attempt before the update, and the observed stamp once it settled.
    assert mutations == {"CreateEndpointConfig": 1, "UpdateEndpoint": 1, "AddTags": 2}


def test_a_failed_component_rollout_is_reported_and_not_retried(shared: World) -> None:
    broken = component("chat", "churn-xgb", 2, env="SAGEMAKER_SANDBOX_FAIL: '1'", extra=ROLLING)
    write(shared, broken, FRAUD)

    first = shared.apply()

    assert first.code != 0
    assert "update of inference component chat failed and was rolled back" in first.err
    assert "did not pass the ping health check" in first.err
    live = describe(shared, "chat")
    assert live["InferenceComponentStatus"] == "InService"
    assert shared.mutations_during(lambda: shared.apply()) == {}
    status = json.loads(shared.plan("--format", "json").out)["endpoints"][0]
    assert status["status"] == "error"
    chat = next(c for c in status["components"] if c["name"] == "chat")
    assert chat["plan"] == "error"


def test_an_unowned_component_on_the_endpoint_is_left_alone(shared: World) -> None:
    shared.sm.create_model(
        ModelName="handmade-m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
    )
    shared.sm.create_inference_component(
        InferenceComponentName="handmade",
        EndpointName="gpu",
        VariantName="shared",
        Specification={
            "ModelName": "handmade-m",
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 512},
        },
        RuntimeConfig={"CopyCount": 1},
    )

    mutations = shared.mutations_during(lambda: shared.apply("--prune"))

    assert mutations == {}
    assert describe(shared, "handmade")["InferenceComponentStatus"] == "InService"
    plan = json.loads(shared.plan("--format", "json", "--prune").out)["endpoints"][0]
    row = next(c for c in plan["components"] if c["name"] == "handmade")
    assert row["plan"] == "unmanaged"


def test_a_registered_scalable_target_keeps_its_copy_count(shared: World) -> None:
    autoscaling = shared.sandbox_client("application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/fraud",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    write(shared, CHAT, component("fraud", "fraud-detector", 1, copies=3))

    assert shared.mutations_during(lambda: shared.apply()) == {}
    row = next(
        c
        for c in json.loads(shared.plan("--format", "json").out)["endpoints"][0]["components"]
        if c["name"] == "fraud"
    )
    assert row["autoscaled"] is True


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_plans_show_components_as_rows(world: World, fmt: str) -> None:
    write(world, CHAT, FRAUD)
    out = world.plan("--format", fmt).out
    for name in ("chat", "fraud"):
        assert name in out
    if fmt == "json":
        rows = json.loads(out)["endpoints"][0]["components"]
        assert [(r["name"], r["plan"]) for r in rows] == [("chat", "waiting"), ("fraud", "waiting")]


def test_status_lists_each_component(shared: World) -> None:
    result = shared.cli("status", "-m", str(shared.root), "--format", "json")
    (row,) = json.loads(result.out)["endpoints"]
    assert [(c["name"], c["status"], c["copies"]["current"]) for c in row["components"]] == [
        ("chat", "InService", 2),
        ("fraud", "InService", 2),
    ]
    table = shared.cli("status", "-m", str(shared.root)).out
    assert "component chat: unchanged, InService, 2/2 copies" in table


def test_a_pruned_endpoint_loses_its_components_first(shared: World) -> None:
    (shared.root / "gpu.yaml").unlink()

    result = shared.apply("--prune", "--allow-empty")  # the only manifest is gone

    assert result.code == 0, result.out + result.err
    assert shared.sm.list_inference_components()["InferenceComponents"] == []
    assert "gpu" not in shared.names("endpoint")
    deletes = shared.sandbox.requests("DeleteInferenceComponent")
    assert sorted(d["InferenceComponentName"] for d in deletes) == ["chat", "fraud"]


def test_the_example_manifest_applies_and_converges(world: World) -> None:
    example = REPO / "manifests" / "examples" / "llm-shared-gpu.yaml"
    (world.root / example.name).write_text(example.read_text())

    assert world.apply().code == 0
    listed = world.sm.list_inference_components(EndpointNameEquals="llm-shared")
    assert sorted(c["InferenceComponentName"] for c in listed["InferenceComponents"]) == [
        "llm-chat",
        "llm-embed",
    ]
    assert world.mutations_during(lambda: world.apply()) == {}


def test_a_no_op_resync_costs_one_listing_per_component_endpoint(shared: World) -> None:
    """Beside a plain endpoint's calls: one ListInferenceComponents for the endpoint and one
    DescribeScalableTargets for the region; components are not described when unchanged."""
    rec = Reconciler(Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions())
    snapshot = rec.load(shared.root)

    def one_pass() -> dict[str, int]:
        before = shared.calls()
        rec.begin_pass()
        for key in sorted(snapshot.keys()):
            assert rec.reconcile(snapshot, key).kind is OutcomeKind.CONVERGED
        after = shared.calls()
        return {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}

    one_pass()
    second = one_pass()

    assert second["ListInferenceComponents"] == 1
    assert second["DescribeScalableTargets"] == 1
    assert "DescribeInferenceComponent" not in second
    assert "DescribeEndpoint" not in second


def test_a_component_failed_on_create_is_reported_and_recreated_on_request(shared: World) -> None:
    broken = component("embed", "churn-xgb", 2, copies=1, env="SAGEMAKER_SANDBOX_FAIL: '1'")
    write(shared, CHAT, FRAUD, broken)

    failed = shared.apply()

    assert failed.code != 0
    assert "inference component embed is Failed" in failed.err
    assert describe(shared, "embed")["InferenceComponentStatus"] == "Failed"
    assert shared.mutations_during(lambda: shared.apply()) == {}
    write(shared, CHAT, FRAUD, component("embed", "churn-xgb", 2, copies=1))

    fixed = shared.apply("--recreate-failed")

    assert fixed.code == 0, fixed.out + fixed.err
    assert describe(shared, "embed")["InferenceComponentStatus"] == "InService"


GC_NOW = ("--gc-min-age", "0")  # the Models were made seconds ago: let GC see them as old


def models_of(world: World, component_name: str) -> list[str]:
    """Names of the Models tagged as made for this component."""
    found = []
    for name in world.names("model"):
        arn = world.sm.describe_model(ModelName=name)["ModelArn"]
        if world.tags(arn).get("sagemaker-gitops/component") == component_name:
            found.append(name)
    return sorted(found)


def test_component_models_beyond_the_rollback_history_are_collected(shared: World) -> None:
    """Three bumps of chat: its live Model and the two live before it stay, the first goes
    (once the last rollout is InService: apply converges, then collects)."""
    live = [describe(shared, "chat")["Specification"]["ModelName"]]
    fraud = models_of(shared, "fraud")
    deletes = {}
    for step in (1, 2, 3):
        write(shared, component("chat", "churn-xgb", 1, env=f"STEP: '{step}'"), FRAUD)
        mutations = shared.mutations_during(lambda: shared.apply(*GC_NOW))
        deletes[step] = mutations.get("DeleteModel", 0)
        live.append(describe(shared, "chat")["Specification"]["ModelName"])

    assert deletes == {1: 0, 2: 0, 3: 1}
    assert [r["ModelName"] for r in shared.recorded("DeleteModel")] == [live[0]]
    tags = shared.tags(describe(shared, "chat")["InferenceComponentArn"])
    # GC pruned the history tag with the Model: it names only Models that still exist.
    assert tags["sagemaker-gitops/history"].split() == [live[2], live[1]]
    assert models_of(shared, "chat") == sorted(live[1:])
    assert models_of(shared, "fraud") == fraud
    assert shared.mutations_during(lambda: shared.apply(*GC_NOW)) == {}


def test_a_pruned_component_takes_its_models_along(shared: World) -> None:
    (model,) = models_of(shared, "fraud")
    write(shared, CHAT)

    mutations = shared.mutations_during(lambda: shared.apply("--prune", *GC_NOW))

    assert mutations == {"DeleteInferenceComponent": 1, "DeleteModel": 1}
    assert [r["ModelName"] for r in shared.recorded("DeleteModel")] == [model]
    assert models_of(shared, "fraud") == []
    assert len(models_of(shared, "chat")) == 1
    assert shared.mutations_during(lambda: shared.apply("--prune", *GC_NOW)) == {}


def test_a_pruned_component_endpoint_takes_every_model_along(shared: World) -> None:
    (shared.root / "gpu.yaml").unlink()

    result = shared.apply("--prune", "--allow-empty", *GC_NOW)

    assert result.code == 0, result.out + result.err
    assert "gpu" not in shared.names("endpoint")
    assert shared.names("model") == []
    assert shared.names("config") == []


ISOLATED = """  enableNetworkIsolation: true
  vpcConfig:
    securityGroupIds: [sg-0a1b2c3d]
    subnets: [subnet-0a1b2c3d, subnet-4e5f6a7b]
"""


def test_vpc_and_network_isolation_reach_the_components_models(shared: World) -> None:
    """A security setting is never dropped: the endpoint's VPC and isolation bind the Models of
    its components as they bind its variants' (they were validated and silently not sent)."""
    manifest = ic_manifest(CHAT, FRAUD).replace("  variants:\n", ISOLATED + "  variants:\n", 1)
    (shared.root / "gpu.yaml").write_text(manifest)
    plan = json.loads(shared.plan("--format", "json").out)
    (endpoint,) = plan["endpoints"]
    updates = {a["name"] for a in endpoint["actions"] if a["type"] == "InferenceComponent"}
    assert updates == {"chat", "fraud"}
    paths = {c["path"] for a in endpoint["actions"] for c in a.get("changes", [])}
    assert "inferenceComponents[chat].enableNetworkIsolation" in paths
    assert "inferenceComponents[fraud].vpcConfig.subnets" in paths

    assert shared.apply().code == 0
    models = shared.sandbox.requests("CreateModel")[-2:]
    for sent in models:
        assert sent["EnableNetworkIsolation"] is True
        assert sent["VpcConfig"] == {
            "SecurityGroupIds": ["sg-0a1b2c3d"],
            "Subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
        }
    for name in ("chat", "fraud"):
        model = describe(shared, name)["Specification"]["ModelName"]
        assert shared.sm.describe_model(ModelName=model)["EnableNetworkIsolation"] is True
    assert shared.mutations_during(lambda: shared.apply()) == {}
