"""Inference components changed by hand in the account: the next plan shows it, apply undoes it.

Each test starts from the `shared` endpoint (components chat and fraud, two copies each, on a
sandbox whose changes take zero seconds), changes one component outside the controller the way
an operator would, and checks the plan's row, action and reason, then that one apply restores
the manifest's state with only the call that state needs. A copy count owned by a scalable
target is the autoscaler's business, not drift. The last tests keep one reconciler across passes,
as `run` does, so they go through the kept descriptions: a hand edit must be caught there too.
"""

from __future__ import annotations

import json
from typing import Any

from controller.aws.clients import AwsOptions, Clients
from controller.core.plan.outcomes import OutcomeKind
from controller.reconcile.reconciling import ReconcileOptions, Reconciler
from tests.e2e import test_components
from tests.e2e.conftest import IMAGE, ROLE, World
from tests.e2e.test_components import describe

COPIES = "sagemaker:inference-component:DesiredCopyCount"


# Endpoint `gpu` InService with components chat and fraud (two copies each).
shared = test_components.shared


def planned(world: World, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The component's plan row and its actions, from the JSON plan."""
    (endpoint,) = json.loads(world.plan("--format", "json").out)["endpoints"]
    row = next(c for c in endpoint["components"] if c["name"] == name)
    actions = [a for a in endpoint["actions"] if a["name"] == name]
    return row, actions


def changes_of(action: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["path"]: (c["before"], c["after"]) for c in action["changes"]}


def restored(world: World, expected: dict[str, int]) -> None:
    """One apply makes exactly `expected` mutating calls; a second one makes none."""
    assert world.mutations_during(lambda: world.apply()) == expected
    assert world.mutations_during(lambda: world.apply()) == {}


def test_copies_changed_by_hand_are_planned_and_restored(shared: World) -> None:
    shared.sm.update_inference_component_runtime_config(
        InferenceComponentName="fraud", DesiredRuntimeConfig={"CopyCount": 5}
    )

    row, (action,) = planned(shared, "fraud")

    assert row["plan"] == "copies"
    assert (action["op"], action["reason"]) == ("update", "CopiesOnly")
    assert changes_of(action) == {"inferenceComponents[fraud].copies": (5, 2)}
    restored(shared, {"UpdateInferenceComponentRuntimeConfig": 1})
    assert describe(shared, "fraud")["RuntimeConfig"] == {
        "DesiredCopyCount": 2,
        "CurrentCopyCount": 2,
    }


def test_compute_changed_by_hand_is_drift_and_rolled_back(shared: World) -> None:
    live = describe(shared, "chat")["Specification"]
    shared.sm.update_inference_component(
        InferenceComponentName="chat",
        Specification={
            **live,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 2,
                "MinMemoryRequiredInMb": 4096,
            },
        },
    )

    row, (action,) = planned(shared, "chat")

    assert row["plan"] == "update"
    assert (action["op"], action["reason"]) == ("update", "Drift")
    changes = changes_of(action)
    assert changes["inferenceComponents[chat].compute.acceleratorDevices"] == (2, 1)
    assert changes["inferenceComponents[chat].compute.minMemoryMb"] == (4096, 1024)
    restored(shared, {"UpdateInferenceComponent": 1, "AddTags": 1})
    compute = describe(shared, "chat")["Specification"]["ComputeResourceRequirements"]
    assert compute == {"NumberOfAcceleratorDevicesRequired": 1.0, "MinMemoryRequiredInMb": 1024}


def test_a_model_swapped_by_hand_is_drift_and_the_manifest_model_returns(shared: World) -> None:
    ours = describe(shared, "fraud")["Specification"]["ModelName"]
    shared.sm.create_model(
        ModelName="hotfix", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
    )
    live = describe(shared, "fraud")["Specification"]
    shared.sm.update_inference_component(
        InferenceComponentName="fraud", Specification={**live, "ModelName": "hotfix"}
    )

    row, (action,) = planned(shared, "fraud")

    assert row["plan"] == "update"
    assert action["reason"] == "Drift"
    assert any(c["before"] == "hotfix" or "model" in c["path"] for c in action["changes"])
    restored(shared, {"UpdateInferenceComponent": 1, "AddTags": 1})
    assert describe(shared, "fraud")["Specification"]["ModelName"] == ours
    assert "hotfix" in shared.names("model")  # not ours: left alone


def test_a_component_deleted_by_hand_is_created_again(shared: World) -> None:
    shared.sm.delete_inference_component(InferenceComponentName="fraud")

    row, actions = planned(shared, "fraud")

    assert (row["plan"], row["status"]) == ("create", "Missing")
    assert [(a["op"], a["reason"]) for a in actions] == [("create", "NewComponent")]
    restored(shared, {"CreateInferenceComponent": 1})
    assert describe(shared, "fraud")["InferenceComponentStatus"] == "InService"
    assert describe(shared, "chat")["RuntimeConfig"]["DesiredCopyCount"] == 2


def test_tags_changed_by_hand_are_put_back(shared: World) -> None:
    arn = describe(shared, "chat")["InferenceComponentArn"]
    shared.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "someone-else"}])
    before = shared.tags(arn)

    row, (action,) = planned(shared, "chat")

    assert row["plan"] == "tag"
    assert (action["reason"], action["tags_removed"]) == ("TagsOnly", ["team"])
    restored(shared, {"DeleteTags": 1})
    after = shared.tags(arn)
    assert "team" not in after
    assert {k: v for k, v in before.items() if k != "team"} == after


def test_an_autoscaled_copy_count_is_not_drift(shared: World) -> None:
    shared.sandbox_client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/fraud",
        ScalableDimension=COPIES,
        MinCapacity=0,
        MaxCapacity=6,
    )
    # What the autoscaler does when traffic grows.
    shared.sm.update_inference_component_runtime_config(
        InferenceComponentName="fraud", DesiredRuntimeConfig={"CopyCount": 5}
    )

    row, actions = planned(shared, "fraud")

    assert (row["plan"], row["autoscaled"], actions) == ("unchanged", True, [])
    assert "No changes" in shared.plan().out
    assert shared.mutations_during(lambda: shared.apply()) == {}
    assert describe(shared, "fraud")["RuntimeConfig"]["DesiredCopyCount"] == 5


class Passes:
    """One reconciler kept across passes (as `run` keeps it), counting each pass's calls."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rec = Reconciler(Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions())
        self.snapshot = self.rec.load(world.root)

    def run(self) -> dict[str, int]:
        def one_pass() -> None:
            self.rec.begin_pass()
            for key in sorted(self.snapshot.keys()):
                # A repair pass requeues while the component updates; nothing fails.
                kind = self.rec.reconcile(self.snapshot, key).kind
                assert kind in (OutcomeKind.CONVERGED, OutcomeKind.REQUEUE)

        return self.world.calls_during(one_pass)


def test_a_long_lived_reconciler_catches_a_hand_edit_through_its_kept_descriptions(
    shared: World,
) -> None:
    passes = Passes(shared)
    passes.run()
    assert "DescribeInferenceComponent" not in passes.run()  # kept: nothing changed

    shared.sm.update_inference_component_runtime_config(
        InferenceComponentName="fraud", DesiredRuntimeConfig={"CopyCount": 4}
    )
    repaired = passes.run()

    assert repaired.get("UpdateInferenceComponentRuntimeConfig") == 1
    assert describe(shared, "fraud")["RuntimeConfig"]["DesiredCopyCount"] == 2
    # Our own repair moved fraud's LastModifiedTime: the next pass describes fraud alone, the
    # one after nothing, and neither changes anything.
    before = len(shared.sandbox.requests("DescribeInferenceComponent"))
    settled = passes.run()
    described = shared.sandbox.requests("DescribeInferenceComponent")[before:]
    assert [d["InferenceComponentName"] for d in described] == ["fraud"]
    quiet = passes.run()
    for calls in (settled, quiet):
        assert calls["ListInferenceComponents"] == 1
        assert not [op for op in calls if op.startswith(("Update", "Create", "Delete", "Add"))]
    assert "DescribeInferenceComponent" not in quiet


def test_the_pass_after_a_hand_edit_describes_only_the_changed_component(shared: World) -> None:
    passes = Passes(shared)
    passes.run()
    live = describe(shared, "chat")["Specification"]
    shared.sm.update_inference_component(
        InferenceComponentName="chat",
        Specification={**live, "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 900}},
    )
    before = shared.sandbox.requests("DescribeInferenceComponent")

    repaired = passes.run()

    described = shared.sandbox.requests("DescribeInferenceComponent")[len(before) :]
    assert {d["InferenceComponentName"] for d in described} == {"chat"}
    assert repaired.get("UpdateInferenceComponent") == 1
    startup = describe(shared, "chat")["Specification"]["StartupParameters"]
    assert startup == {"ContainerStartupHealthCheckTimeoutInSeconds": 300}
