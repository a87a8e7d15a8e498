"""Plans tell the truth: hand edits are Drift, variant changes are named as such (issue 8)."""

from __future__ import annotations

import pytest

from controller.core import tagging
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import (
    EndpointPlan,
    FieldChange,
    Op,
    Plan,
    Reason,
    ResourceType,
    Status,
)
from controller.core.plan.policy import MaxEndpointDeletes
from controller.core.plan.risk import variant_changes
from tests.unit.builders import (
    byom_variant,
    desired,
    live,
    manifest,
    options,
    registry_variant,
    rolled_out_from,
)

EP = ResourceType.ENDPOINT


def _update(plan_actions: tuple[object, ...]) -> object:
    (update,) = [a for a in plan_actions if a.op is Op.UPDATE and a.type is EP]  # type: ignore[attr-defined]
    return update


def test_a_rollout_over_a_hand_edit_is_drift_not_version_changed() -> None:
    old = desired(manifest(variants=[registry_variant(version=6)]))
    new = desired(manifest(variants=[registry_variant(version=7)]))
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: old.config_name}
    hand = rolled_out_from(old, new, endpoint=live(old, config_name="churn-prod-by-hand"),
                           endpoint_tags=tags)  # fmt: skip
    ours = rolled_out_from(old, new, endpoint_tags=tags)
    assert _update(diff_endpoint(new, hand, options()).actions).reason is Reason.DRIFT
    assert _update(diff_endpoint(new, ours, options()).actions).reason is Reason.VERSION_CHANGED


def test_a_rollout_records_the_config_it_replaces_in_the_history_tag() -> None:
    old, new = desired(manifest(variants=[registry_variant(version=6)])), desired()
    seen = rolled_out_from(old, new, endpoint_tags={**old.tags, tagging.HISTORY: "older"})
    update = _update(diff_endpoint(new, seen, options()).actions)
    assert update.tags_set[tagging.HISTORY] == f"{old.config_name} older"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            [registry_variant("a")],
            [
                registry_variant("a", weight=0.5),
                byom_variant(
                    "b", serverless={"memorySizeInMB": 2048, "maxConcurrency": 5}, weight=0.5
                ),
            ],
            ["variant b: added", "variant a: traffic weight 1.0 -> 0.5"],
            id="add-serverless",
        ),
        pytest.param(
            [registry_variant("a", weight=0.5), registry_variant("b", weight=0.5)],
            [registry_variant("a")],
            [
                "variant b: removed; its traffic goes to the others",
                "variant a: traffic weight 0.5 -> 1.0",
            ],
            id="remove",
        ),
        pytest.param(
            [registry_variant("a")],
            [registry_variant("renamed")],
            ["variant renamed: added", "variant a: removed; its traffic goes to the others"],
            id="rename",
        ),
    ],
)
def test_variant_add_remove_rename_is_named_not_misread(
    before: list[dict[str, object]], after: list[dict[str, object]], expected: list[str]
) -> None:
    old, new = desired(manifest(variants=before)), desired(manifest(variants=after))
    plan = diff_endpoint(new, rolled_out_from(old, new), options())
    assert list(plan.warnings) == expected
    assert not any("switches" in w or "-> None" in w for w in plan.warnings)


def test_a_real_switch_to_serverless_is_still_warned() -> None:
    changes = (
        FieldChange("variants[a].instanceType", "ml.m5.large", None),
        FieldChange("variants[a].serverless.memorySizeInMB", None, 2048),
    )
    kept, notes = variant_changes(changes)
    assert kept == changes and notes == ()


def test_a_policy_violation_names_a_few_endpoints_and_counts() -> None:
    doomed = tuple(
        EndpointPlan(name=f"e{i:02}", manifest=None, region="us-east-1", status=Status.DELETE)
        for i in range(40)
    )
    (message,) = MaxEndpointDeletes(count=5).check_plan(Plan(endpoints=doomed))
    assert message.startswith("40 endpoints would be deleted (e00, e01, e02, e03, e04 and 35 more)")
    assert "e05" not in message
