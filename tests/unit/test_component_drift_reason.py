"""A component specification edited by hand plans as Drift; a manifest edit keeps its reason.

The attempted-spec tag tells them apart: it holds the specification the controller last sent, so
when it equals the manifest's and the live one differs, someone changed the live one.
"""

from __future__ import annotations

from builders import ACCOUNT_PREFIX, desired, manifest, mirror, options
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.component.model import LiveComponent
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import Reason, ResourceType

POOL = {
    "name": "shared",
    "instanceType": "ml.g5.12xlarge",
    "managedInstanceScaling": {"minInstanceCount": 1, "maxInstanceCount": 4},
}


def want(memory: int = 1024) -> DesiredEndpoint:
    component = {
        "name": "chat",
        "variant": "shared",
        "model": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:1"},
        "compute": {"acceleratorDevices": 1, "minMemoryMb": memory},
        "copies": 2,
    }
    return desired(manifest("gpu", [POOL], inferenceComponents=[component]))


def live(of: DesiredEndpoint, memory: int) -> LiveComponent:
    component = of.components[0]
    compute = {**component.specification["ComputeResourceRequirements"]}
    compute["MinMemoryRequiredInMb"] = memory
    return LiveComponent(
        name="chat",
        arn=f"{ACCOUNT_PREFIX}:inference-component/chat",
        variant="shared",
        status="InService",
        last_modified="1",
        specification={**component.specification, "ComputeResourceRequirements": compute},
        desired_copies=2,
        current_copies=2,
    )


def reason_of(manifest_memory: int, live_memory: int, attempted: str) -> Reason:
    wanted = want(manifest_memory)
    tags = {**wanted.tags, tagging.ATTEMPTED_SPEC: attempted}
    seen = mirror(wanted, components=(live(wanted, live_memory),), component_tags={"chat": tags})
    (update,) = [
        a
        for a in diff_endpoint(wanted, seen, options()).actions
        if a.type is ResourceType.INFERENCE_COMPONENT
    ]
    return update.reason


@settings(derandomize=True, max_examples=20, deadline=None)
@given(st.integers(128, 65536), st.integers(128, 65536))
def test_hand_edit_is_drift_and_a_manifest_edit_is_not(manifest_memory: int, other: int) -> None:
    if other == manifest_memory:
        other += 1
    ours = want(manifest_memory).components[0].spec_id
    # We sent the manifest's spec; the live one differs: changed by hand.
    assert reason_of(manifest_memory, other, attempted=ours) is Reason.DRIFT
    # We last sent another spec (the live one): the manifest changed.
    theirs = want(other).components[0].spec_id
    assert reason_of(manifest_memory, other, attempted=theirs) is Reason.COMPONENT_CHANGED


def test_untouched_live_plans_nothing() -> None:
    wanted = want()
    tags = {**wanted.tags, tagging.ATTEMPTED_SPEC: wanted.components[0].spec_id}
    seen = mirror(wanted, components=(live(wanted, 1024),), component_tags={"chat": tags})
    assert diff_endpoint(wanted, seen, options()).actions == ()
