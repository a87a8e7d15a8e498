"""The apply order table: what others refer to is created first, deletes go in reverse."""

from __future__ import annotations

import itertools
import random

import pytest
from builders import PROPERTY, desired, manifest, mirror, registry_variant, rolled_out_from
from hypothesis import given
from hypothesis import strategies as st

from controller.aws.applying import ORDER, ordered
from controller.core.endpoint.diffs import DiffOptions, Observed, diff_endpoint
from controller.core.plan.plans import Action, Op, Reason, ResourceType

M, EC, EP = ResourceType.MODEL, ResourceType.ENDPOINT_CONFIG, ResourceType.ENDPOINT
ST, SP, SA = (
    ResourceType.SCALABLE_TARGET,
    ResourceType.SCALING_POLICY,
    ResourceType.SCHEDULED_ACTION,
)
IC = ResourceType.INFERENCE_COMPONENT
AL = ResourceType.ALARM  # a component's scale-out-from-zero alarm: it runs a step policy
RA = ResourceType.ROLLBACK_ALARM  # named by the endpoint update's DeploymentConfig

# The expected sequence, as phases: within a phase the order of the input is kept.
PHASES: list[set[tuple[Op, ResourceType]]] = [
    {(Op.CREATE, M)},
    {(Op.CREATE, EC)},
    {(Op.TAG, M), (Op.TAG, EC)},
    {(Op.TAG, EP), (Op.TAG, IC)},
    # Autoscaling goes before the endpoint is updated or deleted (SageMaker refuses to retype or
    # remove a registered variant): alarms, scheduled actions, then policies, then the target.
    {(Op.DELETE, AL)},
    {(Op.DELETE, SA)},
    {(Op.DELETE, SP)},
    {(Op.DELETE, ST)},
    # A rollout's rollback alarms exist before the update that names them.
    {(Op.CREATE, RA), (Op.UPDATE, RA)},
    {(Op.CREATE, EP), (Op.UPDATE, EP)},
    {(Op.CREATE, IC), (Op.UPDATE, IC)},
    {(Op.DELETE, IC)},
    {(Op.DELETE, EP)},
    {(Op.DELETE, RA)},  # after the update that stops naming them (or the endpoint's delete)
    {(Op.DELETE, EC)},
    {(Op.DELETE, M)},
    # Registration comes last: a target needs its variant, a policy or action its target.
    {(Op.CREATE, ST), (Op.UPDATE, ST)},
    {(Op.CREATE, SP), (Op.UPDATE, SP)},
    {(Op.CREATE, SA), (Op.UPDATE, SA)},
    {(Op.CREATE, AL), (Op.UPDATE, AL)},
]


def phase(action: Action) -> int:
    return next(i for i, kinds in enumerate(PHASES) if (action.op, action.type) in kinds)


def act(op: Op, kind: ResourceType, name: str = "x") -> Action:
    return Action(op, kind, name, Reason.SUPERSEDED)


ALL = [act(op, kind, f"{op}-{kind}") for op, kind in ORDER]


def test_every_planned_combination_has_a_place() -> None:
    assert set(ORDER) == set().union(*PHASES)


@PROPERTY
@given(st.permutations(ALL))
def test_ordered_follows_the_phases(actions: list[Action]) -> None:
    result = ordered(tuple(actions))
    assert sorted(result, key=phase) == result
    assert [phase(a) for a in result] == sorted(phase(a) for a in actions)


def test_creates_before_tags_before_endpoint_before_deletes() -> None:
    shuffled = list(ALL)
    random.Random(7).shuffle(shuffled)
    kinds = [(a.op, a.type) for a in ordered(tuple(shuffled))]
    assert kinds[:2] == [(Op.CREATE, M), (Op.CREATE, EC)]
    assert set(kinds[2:4]) == {(Op.TAG, M), (Op.TAG, EC)}
    assert set(kinds[4:6]) == {(Op.TAG, EP), (Op.TAG, IC)}
    assert kinds[6:10] == [(Op.DELETE, AL), (Op.DELETE, SA), (Op.DELETE, SP), (Op.DELETE, ST)]
    assert set(kinds[10:12]) == {(Op.CREATE, RA), (Op.UPDATE, RA)}
    assert set(kinds[12:14]) == {(Op.CREATE, EP), (Op.UPDATE, EP)}
    # A component goes on a live endpoint, and goes before the endpoint and the Models it runs.
    assert set(kinds[14:16]) == {(Op.CREATE, IC), (Op.UPDATE, IC)}
    assert kinds[16:21] == [
        (Op.DELETE, IC),
        (Op.DELETE, EP),
        (Op.DELETE, RA),
        (Op.DELETE, EC),
        (Op.DELETE, M),
    ]
    assert {k[1] for k in kinds[21:-2]} == {ST, SP, SA}
    assert {k[1] for k in kinds[-2:]} == {AL}  # put once its step policy (and ARN) exists


def test_order_is_stable_within_a_phase() -> None:
    models = [act(Op.CREATE, M, name) for name in ("b", "a", "c")]
    config = act(Op.CREATE, EC, "cfg")
    assert [a.name for a in ordered((config, *models))] == ["b", "a", "c", "cfg"]


@pytest.mark.parametrize(
    "pair",
    list(
        itertools.permutations(
            [(Op.DELETE, IC), (Op.DELETE, EP), (Op.DELETE, EC), (Op.DELETE, M)], 2
        )
    ),
)
def test_deletes_go_component_then_endpoint_then_config_then_model(
    pair: tuple[tuple[Op, ResourceType], tuple[Op, ResourceType]],
) -> None:
    rank = {IC: -1, EP: 0, EC: 1, M: 2}
    result = ordered(tuple(act(op, kind) for op, kind in pair))
    assert [rank[a.type] for a in result] == sorted(rank[kind] for _, kind in pair)


def test_plans_from_the_diff_are_already_in_apply_order() -> None:
    """The diff lists actions in the order they run, so reviewers read them in that order."""
    old = desired(manifest(variants=[registry_variant(version=6)]))
    new = desired(manifest(variants=[registry_variant(version=7)], tags={"team": "ml"}))
    options = DiffOptions()
    plans = [
        diff_endpoint(new, Observed(None, missing_models=frozenset({new.models[0].name})), options),
        diff_endpoint(new, rolled_out_from(old, new), options),
        diff_endpoint(new, mirror(new, superseded=((EC, "old"), (M, "old-m"))), options),
    ]
    for plan in plans:
        assert plan.actions
        assert ordered(plan.actions) == list(plan.actions)
