"""Change detection by listing: a resync describes only what changed, and still sees drift.

The reconciler is driven pass by pass as the service's resync does (`begin_pass`, then one
reconcile per endpoint). The first pass describes every endpoint; later passes read one
ListEndpoints sweep and describe only endpoints whose status or LastModifiedTime moved, so hand
changes (weights, UpdateEndpoint, delete, tags) are still found and corrected.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.aws.clients import AwsOptions, Clients
from controller.core.plan.outcomes import OutcomeKind
from controller.core.plan.plans import Reason
from controller.core.snapshots import Snapshot, split_key
from controller.reconcile.reconciling import ReconcileOptions, Reconciler
from tests.e2e.conftest import World, registry_manifest

NAMES = ("alpha", "beta", "gamma")
TAGS = "  tags: {team: ml}"


@pytest.fixture
def fleet(world: World) -> World:
    for name in NAMES:
        world.write(f"{name}.yaml", registry_manifest(name=name, extra_spec=TAGS))
    assert world.apply().code == 0
    return world


def reconciler(**options: Any) -> Reconciler:
    return Reconciler(Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions(**options))


def one_pass(world: World, rec: Reconciler) -> tuple[dict[str, int], dict[str, Any]]:
    """A resync: fresh pass state, then every endpoint once. Returns (calls, outcomes)."""
    snapshot: Snapshot = rec.load(world.root)
    before = world.calls()
    rec.begin_pass()
    outcomes = {split_key(key)[1]: rec.reconcile(snapshot, key) for key in sorted(snapshot.keys())}
    after = world.calls()
    used = {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}
    return used, outcomes


def test_a_second_resync_lists_instead_of_describing(fleet: World) -> None:
    rec = reconciler()
    first, _ = one_pass(fleet, rec)
    second, outcomes = one_pass(fleet, rec)

    assert first["DescribeEndpoint"] == len(NAMES)
    assert "DescribeEndpoint" not in second
    assert second["ListEndpoints"] == 1
    assert all(o.kind is OutcomeKind.CONVERGED for o in outcomes.values())


def test_weights_changed_by_hand_are_described_and_corrected(fleet: World) -> None:
    rec = reconciler()
    one_pass(fleet, rec)
    fleet.sm.update_endpoint_weights_and_capacities(
        EndpointName="beta",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 0.5}],
    )

    used, outcomes = one_pass(fleet, rec)

    assert used["DescribeEndpoint"] == 1
    plan = outcomes["beta"].plan
    assert plan is not None and [a.reason for a in plan.actions] == [Reason.WEIGHTS_ONLY]
    assert used.get("UpdateEndpointWeightsAndCapacities") == 1


def test_an_endpoint_updated_by_hand_is_rolled_back_as_drift(fleet: World) -> None:
    rec = reconciler()
    one_pass(fleet, rec)
    live = fleet.endpoint("gamma")
    config = fleet.sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    fleet.sm.create_endpoint_config(
        EndpointConfigName="gamma-by-hand", ProductionVariants=config["ProductionVariants"]
    )
    fleet.sm.update_endpoint(EndpointName="gamma", EndpointConfigName="gamma-by-hand")

    used, outcomes = one_pass(fleet, rec)

    assert used["DescribeEndpoint"] == 1
    plan = outcomes["gamma"].plan
    assert plan is not None and [a.reason for a in plan.actions] == [Reason.DRIFT]
    assert fleet.endpoint("gamma")["EndpointConfigName"] == live["EndpointConfigName"]


def test_an_endpoint_deleted_by_hand_is_created_again(fleet: World) -> None:
    rec = reconciler()
    one_pass(fleet, rec)
    fleet.sm.delete_endpoint(EndpointName="alpha")

    used, outcomes = one_pass(fleet, rec)

    assert used["DescribeEndpoint"] == 1
    assert used.get("CreateEndpoint") == 1
    assert outcomes["alpha"].kind is OutcomeKind.REQUEUE


def test_tags_removed_by_hand_are_put_back_without_a_describe(fleet: World) -> None:
    rec = reconciler()
    one_pass(fleet, rec)
    arn = fleet.endpoint("beta")["EndpointArn"]
    fleet.sm.delete_tags(ResourceArn=arn, TagKeys=["team"])

    used, _ = one_pass(fleet, rec)

    assert "DescribeEndpoint" not in used  # tags come from the index, read every pass
    assert fleet.tags(arn)["team"] == "ml"
    assert used.get("AddTags") == 1


def test_the_backstop_pass_describes_every_endpoint(fleet: World) -> None:
    rec = reconciler(full_describe_interval=0.0)
    one_pass(fleet, rec)

    used, _ = one_pass(fleet, rec)

    assert used["DescribeEndpoint"] == len(NAMES)


def test_an_edit_between_passes_describes_only_its_endpoint(fleet: World) -> None:
    rec = reconciler()
    one_pass(fleet, rec)
    one_pass(fleet, rec)
    fleet.write("beta.yaml", registry_manifest(name="beta", version=2, extra_spec=TAGS))
    snapshot = rec.load(fleet.root)
    before = fleet.calls()

    keys = snapshot.keys()
    rec.reconcile(snapshot, next(k for k in keys if split_key(k)[1] == "beta"))

    used = {op: n - before.get(op, 0) for op, n in fleet.calls().items() if n - before.get(op, 0)}
    assert "ListEndpoints" not in used
    assert used.get("UpdateEndpoint") == 1


# A cold plan (a new process, as every pull request's): endpoints the controller saw settle
# after its own change carry their LastModifiedTime in sagemaker-gitops/observed, and one
# ListEndpoints sweep shows whether it still holds (core/endpoint/observedstamp.py).


def test_a_cold_plan_lists_instead_of_describing_and_still_sees_hand_changes(
    fleet: World,
) -> None:
    cold = fleet.calls_during(lambda: fleet.plan("--detailed-exitcode"))
    fleet.sm.update_endpoint_weights_and_capacities(
        EndpointName="beta",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}],
    )
    drifted: list[Any] = []
    after_hand = fleet.calls_during(lambda: drifted.append(fleet.plan("--detailed-exitcode")))
    full = fleet.calls_during(lambda: fleet.plan("--full-describe"))

    assert cold.get("DescribeEndpoint", 0) == 0 and cold["ListEndpoints"] == 1
    assert after_hand["DescribeEndpoint"] == 1  # only the endpoint whose time moved
    assert drifted[0].code == 2
    assert "variants[primary].initialInstanceCount: 2 -> 1" in drifted[0].out
    assert full["DescribeEndpoint"] == len(NAMES) and "ListEndpoints" not in full


def test_a_manifest_edit_or_a_controller_change_is_never_trusted(fleet: World) -> None:
    fleet.write("alpha.yaml", registry_manifest(name="alpha", version=2, extra_spec=TAGS))
    edited = fleet.calls_during(lambda: fleet.plan())
    assert fleet.apply().code == 0  # the change settles and is stamped again
    settled = fleet.calls_during(lambda: fleet.plan("--detailed-exitcode"))
    second_apply = fleet.mutations_during(lambda: fleet.apply())

    assert edited["DescribeEndpoint"] == 1  # its spec hash no longer matches: described
    assert settled.get("DescribeEndpoint", 0) == 0
    assert second_apply == {}
