"""Risk assessment: one row per rule of the table in `controller.core.plan.risk`'s docstring."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    FieldChange,
    Op,
    Reason,
    ResourceType,
    Status,
)
from controller.core.plan.risk import Risk, assess
from tests.unit.builders import PROPERTY

M, EC, EP = ResourceType.MODEL, ResourceType.ENDPOINT_CONFIG, ResourceType.ENDPOINT
NO_ALARMS = "no auto-rollback alarms: a failing version is not rolled back automatically"
PROD = {"env": "prod"}


def plan(status: Status, *actions: Action, **kw: Any) -> EndpointPlan:
    return EndpointPlan(name="churn", manifest="churn.yaml", region="us-east-1", status=status,
                        actions=actions, **kw)  # fmt: skip


def rollout(reason: Reason = Reason.VERSION_CHANGED, *changes: FieldChange) -> tuple[Action, ...]:
    return (
        Action(Op.CREATE, M, "churn-primary-1", reason, changes),
        Action(Op.CREATE, EC, "churn-1", reason),
        Action(Op.UPDATE, EP, "churn", reason),
    )


def weights(*changes: FieldChange) -> Action:
    return Action(Op.UPDATE, EP, "churn", Reason.WEIGHTS_ONLY, changes)


def change(path: str, before: Any = 1, after: Any = 2) -> FieldChange:
    return FieldChange(path, before, after)


TAGS = Action(Op.TAG, EP, "churn", Reason.TAGS_ONLY, tags_set={"team": "ml"})
GC = Action(Op.DELETE, EC, "churn-0", Reason.SUPERSEDED)
U = Status.UPDATE

CASES = [
    # high
    # taking over an endpoint we do not own (possibly another controller's) is never routine
    ("adopt by tagging", plan(U, Action(Op.TAG, EP, "churn", Reason.ADOPT)), Risk.HIGH),
    ("adopt with a rollout", plan(U, *rollout(Reason.ADOPT)), Risk.HIGH),
    ("error status", plan(Status.ERROR, errors=("version 9 not Approved",)), Risk.HIGH),
    ("error message on an update", plan(U, *rollout(), errors=("boom",)), Risk.HIGH),
    ("prune", plan(Status.DELETE, Action(Op.DELETE, EP, "churn", Reason.MANIFEST_REMOVED)),
     Risk.HIGH),
    ("delete status without actions", plan(Status.DELETE), Risk.HIGH),
    ("recreate a Failed endpoint", plan(U, Action(Op.DELETE, EP, "churn", Reason.RECREATE_FAILED),
     Action(Op.CREATE, EP, "churn", Reason.RECREATE_FAILED)), Risk.HIGH),
    # medium: compute or traffic split on an existing endpoint
    ("instance type", plan(U, *rollout(Reason.CONFIG_IMMUTABLE,
     change("variants[primary].instanceType", "ml.m5.xlarge", "ml.m5.2xlarge"))), Risk.MEDIUM),
    ("instances to serverless", plan(U, *rollout(Reason.CONFIG_IMMUTABLE,
     change("variants[primary].serverless", None, {"memorySizeInMB": 2048}))), Risk.MEDIUM),
    ("weight shift", plan(U, weights(change("variants[a].initialWeight", 1.0, 0.5))), Risk.MEDIUM),
    # half the instances (or component copies) must carry all the traffic
    ("instance count halved", plan(U, weights(change("variants[a].initialInstanceCount", 4, 2))),
     Risk.MEDIUM),
    ("copies cut by more than half", plan(U, Action(Op.UPDATE, ResourceType.INFERENCE_COMPONENT,
     "llm", Reason.COPIES_ONLY, (change("inferenceComponents[llm].copies", 3, 1),))), Risk.MEDIUM),
    ("desired weight", plan(U, weights(change("variants[a].desiredWeight"))), Risk.MEDIUM),
    ("variant added", plan(U, *rollout(Reason.CONFIG_IMMUTABLE,
     change("variants[canary]", None, {"initialWeight": 0.1}))), Risk.MEDIUM),
    ("prod rollout without alarms", plan(U, *rollout(), labels=PROD, warnings=(NO_ALARMS,)),
     Risk.MEDIUM),
    ("production label, other wording", plan(U, *rollout(Reason.DRIFT),
     labels={"env": "Production"}, warnings=("Auto rollback alarms are not set",)), Risk.MEDIUM),
    # low
    ("prod rollout with alarms", plan(U, *rollout(), labels=PROD), Risk.LOW),
    ("dev rollout without alarms", plan(U, *rollout(), labels={"env": "dev"},
     warnings=(NO_ALARMS,)), Risk.LOW),
    ("prod capacity only, alarms warning", plan(U, weights(
     change("variants[a].initialInstanceCount")), labels=PROD, warnings=(NO_ALARMS,)), Risk.LOW),
    ("instance count cut by a quarter", plan(U, weights(
     change("variants[a].initialInstanceCount", 4, 3))), Risk.LOW),
    ("new endpoint, even on prod with new compute", plan(Status.CREATE, *rollout(
     Reason.NEW_ENDPOINT, change("variants[a].instanceType", None, "ml.g5.xlarge")), labels=PROD,
     warnings=(NO_ALARMS,)), Risk.LOW),
    ("drift self-heal", plan(U, *rollout(Reason.DRIFT)), Risk.LOW),
    ("serverless memory inside the block", plan(U, *rollout(Reason.CONFIG_IMMUTABLE,
     change("variants[a].serverless.memorySizeInMB", 2048, 4096))), Risk.LOW),
    ("delete of a non-superseded config", plan(U, Action(Op.DELETE, EC, "c", Reason.DRIFT)),
     Risk.LOW),
    # none
    ("unchanged", plan(Status.UNCHANGED), Risk.NONE),
    ("tags only", plan(U, TAGS), Risk.NONE),
    ("tags only on prod with a warning", plan(U, TAGS, labels=PROD, warnings=(NO_ALARMS,)),
     Risk.NONE),
    ("garbage collection", plan(Status.UNCHANGED, GC), Risk.NONE),
    ("tag changes described as paths", plan(U, Action(Op.TAG, EP, "churn", Reason.TAGS_ONLY,
     (change("tags.team", "a", "b"),))), Risk.NONE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_assess(endpoint: EndpointPlan, expected: Risk) -> None:
    assert assess(endpoint) is expected


@PROPERTY
@given(st.integers(1, 500), st.integers(0, 500))
def test_a_capacity_cut_of_half_or_more_is_never_below_medium(before: int, after: int) -> None:
    endpoint = plan(U, weights(change("variants[a].initialInstanceCount", before, after)))
    assert assess(endpoint) is (Risk.MEDIUM if after * 2 <= before else Risk.LOW)


def test_risk_order() -> None:
    ranks = [r.rank for r in (Risk.NONE, Risk.LOW, Risk.MEDIUM, Risk.HIGH)]
    assert ranks == sorted(ranks) == list(range(4))
    assert max(Risk, key=lambda r: r.rank) is Risk.HIGH
    assert [r.value for r in Risk] == ["none", "low", "medium", "high"]
