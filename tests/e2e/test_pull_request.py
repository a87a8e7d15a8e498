"""The pull-request workflow end to end: markdown/json plans on a fixed sandbox state, policy
checks, promote, and the IAM policies against the operations the controller really called."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from controller.aws.iam import IAM_PREFIXES, grants, operation_names
from tests.e2e.conftest import World, byom_manifest, registry_manifest

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]
PROD_POLICY = """
minInstanceCount:
  - {count: 2, when: {labels: {env: test}}}
allowedInstanceTypes:
  types: ["ml.c5.*"]
"""


def _fixed_state(world: World) -> None:
    """Three endpoints live; then a version bump, a weight shift, a new endpoint, a removal."""
    world.write("churn.yaml", registry_manifest(name="churn", version=1))
    world.write("kmeans.yaml", byom_manifest(weight=1))
    world.write("old.yaml", registry_manifest(name="old", group="fraud-detector"))
    assert world.apply().code == 0
    world.write("churn.yaml", registry_manifest(name="churn", version=2))
    world.write("kmeans.yaml", byom_manifest(weight=3))
    world.write("new.yaml", registry_manifest(name="new", group="fraud-detector", version=2))
    (world.root / "old.yaml").unlink()


def _normalise(text: str) -> str:
    # Approval notes carry the registry's dates, which are the day the test runs.
    return re.sub(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD", text)


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; UPDATE_GOLDEN=1 regenerates it"


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_plan_on_a_fixed_sandbox_state_matches_the_golden_file(world: World, fmt: str) -> None:
    _fixed_state(world)

    first = world.plan("--format", fmt, "--prune")
    second = world.plan("--format", fmt, "--prune")

    assert first.code == 0, first.err
    assert first.out == second.out  # byte-identical: a bot can update one sticky comment
    suffix = "md" if fmt == "markdown" else "json"
    _check_golden(f"pr-plan.{suffix}", _normalise(first.out))


def test_json_plan_summary_counts_statuses(world: World) -> None:
    _fixed_state(world)

    doc = json.loads(world.plan("--format", "json", "--prune").out)

    assert doc["format_version"] == 1
    assert doc["summary"] == {"create": 1, "update": 2, "delete": 1, "unchanged": 0, "error": 0}


def test_policy_violations_fail_the_plan(world: World, tmp_path: Path) -> None:
    world.write("churn.yaml", registry_manifest(name="churn"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(PROD_POLICY)

    result = world.plan("--policy", str(policy), "--format", "markdown")

    assert result.code == 1
    assert "minInstanceCount" in result.out and "allowedInstanceTypes" in result.out


def test_policy_passes_a_compliant_change(world: World, tmp_path: Path) -> None:
    manifest = registry_manifest(name="churn").replace("ml.m5.xlarge", "ml.c5.xlarge")
    world.write(
        "churn.yaml", manifest.replace("initialInstanceCount: 1", "initialInstanceCount: 2")
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(PROD_POLICY)

    assert world.plan("--policy", str(policy)).code == 0


def test_promote_to_latest_approved_changes_only_the_version_line(world: World) -> None:
    path = world.write("churn.yaml", "# keep me\n" + registry_manifest(name="churn", version=1))
    before = path.read_text()
    world.sm.update_model_package(
        ModelPackageArn=_package_arn(world, "churn-xgb", 3), ModelApprovalStatus="Approved"
    )

    result = world.cli(
        "promote", "--group", "churn-xgb", "--to", "latest-approved", "-m", str(world.root)
    )

    after = path.read_text()
    lines = zip(before.splitlines(), after.splitlines(), strict=True)
    changed = [(a, b) for a, b in lines if a != b]
    assert result.code == 0, result.err
    assert len(changed) == 1 and changed[0][1].strip().endswith("version: 3}")
    assert "# keep me" in after


def test_promote_refuses_an_unapproved_version(world: World) -> None:
    path = world.write("churn.yaml", registry_manifest(name="churn", version=1))
    before = path.read_text()

    result = world.cli("promote", "--group", "churn-xgb", "--to", "3", "-m", str(world.root))

    assert result.code == 1
    assert "PendingManualApproval" in result.err or "not Approved" in result.err
    assert path.read_text() == before


def test_iam_policies_grant_every_operation_the_e2e_flow_called(world: World) -> None:
    _fixed_state(world)
    before = world.calls()
    assert world.plan("--prune").code == 0
    plan_ops = _used(before, world.calls())
    before_apply = world.calls()
    world.apply("--prune")
    world.write("kmeans.yaml", byom_manifest(weight=3, env="TEAM: a"))
    world.apply()
    apply_ops = _used(before_apply, world.calls()) | plan_ops

    readonly = json.loads((REPO / "iam/plan-readonly-policy.json").read_text())
    full = json.loads((REPO / "iam/controller-policy.json").read_text())

    assert plan_ops and all(grants(readonly, _action(op)) for op in plan_ops), plan_ops
    missing = sorted(_action(op) for op in apply_ops if not grants(full, _action(op)))
    assert missing == []
    assert {"CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint"} <= apply_ops


def _used(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {op for op, n in after.items() if n != before.get(op, 0) and op != "rejected"}


def _action(operation: str) -> str:
    for service, prefix in IAM_PREFIXES.items():
        if operation in operation_names(service).values():
            return f"{prefix}:{operation}"
    raise AssertionError(f"no service has operation {operation}")


def _package_arn(world: World, group: str, version: int) -> str:
    pages = world.sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
    for page in pages:
        for summary in page["ModelPackageSummaryList"]:
            if summary["ModelPackageVersion"] == version:
                return str(summary["ModelPackageArn"])
    raise AssertionError(f"{group} has no version {version}")
