"""`status --output json`: each row carries kstatus conditions, as `/status` does."""

from __future__ import annotations

from controller.cli import build_parser
from controller.commands.status import rows
from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    Health,
    Op,
    Plan,
    Reason,
    ResourceType,
    Status,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_output_json_is_accepted_and_format_stays_an_alias() -> None:
    parser = build_parser()
    assert parser.parse_args(["status", "-m", ".", "--output", "json"]).format == "json"
    assert parser.parse_args(["status", "-m", ".", "--format", "json"]).format == "json"


def test_rows_carry_ready_reconciling_and_stalled() -> None:
    update = Action(Op.UPDATE, ResourceType.ENDPOINT, "b", Reason.VERSION_CHANGED)
    plan = Plan(
        (
            EndpointPlan(
                "a", "a.yaml", "us-east-1", Status.UNCHANGED, Health.HEALTHY, revision=SHA
            ),
            EndpointPlan("b", "b.yaml", "us-east-1", Status.UPDATE, Health.HEALTHY, (update,)),
            EndpointPlan(
                "c",
                "c.yaml",
                "us-east-1",
                Status.ERROR,
                Health.DEGRADED,
                errors=("rollout of c-2 failed and was rolled back",),
                error_reason="RolloutFailed",
                revision=SHA,
            ),
        )
    )
    shown = {r["endpoint"]: r["conditions"] for r in rows(plan)}
    assert shown["a"] == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "sync Synced, health Healthy",
            "observedRevision": SHA,
        }
    ]
    assert [(c["type"], c["status"], c["reason"]) for c in shown["b"]] == [
        ("Ready", "False", "OutOfSync"),
        ("Reconciling", "True", "OutOfSync"),
    ]
    assert [(c["type"], c["status"], c["reason"]) for c in shown["c"]] == [
        ("Ready", "False", "RolloutFailed"),
        ("Stalled", "True", "RolloutFailed"),
    ]
    assert shown["c"][1]["message"] == "rollout of c-2 failed and was rolled back"
