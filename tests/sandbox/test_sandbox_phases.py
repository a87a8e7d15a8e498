"""The status table of a deployment over time (pure), and the server under concurrent calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sandbox_helpers import client, make_endpoint

from controller.sandbox import Sandbox
from controller.sandbox.hosting.lifecycle import Deployment, DeploymentKind, phase_at

ORDER = {
    (DeploymentKind.CREATE, False): ["Creating", "InService"],
    (DeploymentKind.CREATE, True): ["Creating", "Failed"],
    (DeploymentKind.UPDATE, False): ["Updating", "InService"],
    (DeploymentKind.UPDATE, True): ["Updating", "RollingBack", "InService"],
    (DeploymentKind.WEIGHTS, False): ["Updating", "InService"],
    (DeploymentKind.DELETE, False): ["Deleting", None],
}


@given(
    kind=st.sampled_from(sorted(ORDER, key=str)),
    seconds=st.floats(min_value=0, max_value=100),
    times=st.lists(st.floats(min_value=0, max_value=500), min_size=1, max_size=20),
)
def test_statuses_only_move_forward_and_end_finished(
    kind: tuple[DeploymentKind, bool], seconds: float, times: list[float]
) -> None:
    deployment_kind, fails = kind
    deployment = Deployment(
        deployment_kind, started_at=0.0, seconds=seconds, failure="boom" if fails else None
    )
    expected = ORDER[kind]
    positions = [expected.index(phase_at(deployment, t).status) for t in sorted(times)]
    assert positions == sorted(positions)
    final = phase_at(deployment, 2 * seconds)
    assert final.finished
    assert final.status == expected[-1]


def test_concurrent_clients_see_consistent_state() -> None:
    with Sandbox() as sandbox:

        def work(i: int) -> Any:
            sm = client(sandbox)
            make_endpoint(sm, f"e{i}")
            return sm.describe_endpoint(EndpointName=f"e{i}")["EndpointStatus"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(work, range(24)))
        assert statuses == ["InService"] * 24
        listed = client(sandbox).list_endpoints(MaxResults=100)["Endpoints"]
        assert len(listed) == 24
        assert sandbox.calls()["CreateEndpoint"] == 24
