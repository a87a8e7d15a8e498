"""Policy rules: each one passing and failing, selectors, both file forms, and file:line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.core.plan.plans import EndpointPlan, Plan, Status
from controller.core.plan.policy import (
    Policy,
    PolicyRules,
    Violation,
    apply_policy,
    evaluate,
    load_policy,
)
from controller.errors import Diagnostic, ManifestError
from controller.manifests.models import EndpointManifest

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
ALARMS = {"autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-5xx"}]}}


def manifest(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    count: int | None = 2,
    instance_type: str = "ml.m5.xlarge",
    deployment: dict[str, Any] | None = None,
    serverless: bool = False,
    region: str | None = None,
) -> EndpointManifest:
    variant: dict[str, Any] = {
        "name": "primary",
        "model": {"packageGroup": "churn-xgb", "version": 7},
    }
    if serverless:
        variant["serverless"] = {"memorySizeInMB": 2048, "maxConcurrency": 5}
    else:
        variant["instanceType"] = instance_type
        if count is not None:
            variant["initialInstanceCount"] = count
    spec: dict[str, Any] = {"executionRoleArn": ROLE, "variants": [variant]}
    if deployment is not None:
        spec["deployment"] = deployment
    if region is not None:
        spec["region"] = region
    return EndpointManifest.model_validate(
        {
            "apiVersion": "sagemaker-gitops/v1",
            "kind": "Endpoint",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": spec,
        }
    )


def endpoint(name: str, status: Status = Status.UPDATE, **kwargs: Any) -> EndpointPlan:
    return EndpointPlan(
        name=name,
        manifest=f"{name}.yaml",
        region=kwargs.pop("region", "us-east-1"),
        status=status,
        **kwargs,
    )


def policy(**rules: Any) -> Policy:
    return Policy(rules=PolicyRules.model_validate(rules), source="policy.yaml")


PROD = {"when": {"labels": {"env": "prod"}}}


# Rules, one at a time.


@pytest.mark.parametrize(
    ("count", "instances", "violations"),
    [(2, 2, 0), (2, 3, 0), (2, 1, 1), (2, None, 1), (1, None, 0)],
)
def test_min_instance_count(count: int, instances: int | None, violations: int) -> None:
    rules = policy(minInstanceCount={"count": count})
    found = evaluate(rules, Plan(()), [manifest("a", count=instances)])
    assert len(found) == violations
    if violations:
        have = instances or 1
        assert found[0] == Violation(
            "minInstanceCount",
            f"variant primary has initialInstanceCount {have}; at least {count} required",
            "a",
        )


def test_min_instance_count_ignores_serverless() -> None:
    found = evaluate(
        policy(minInstanceCount={"count": 3}), Plan(()), [manifest("a", serverless=True)]
    )
    assert found == []


def test_require_rollback_alarms() -> None:
    rules = policy(requireRollbackAlarms=True)
    assert evaluate(rules, Plan(()), [manifest("a", deployment=ALARMS)]) == []
    found = evaluate(rules, Plan(()), [manifest("a"), manifest("b", deployment={})])
    assert [(v.rule, v.endpoint) for v in found] == [
        ("requireRollbackAlarms", "a"),
        ("requireRollbackAlarms", "b"),
    ]
    assert "autoRollbackConfiguration.alarms" in found[0].message


@pytest.mark.parametrize(
    ("types", "instance_type", "ok"),
    [
        (["ml.m5.*"], "ml.m5.xlarge", True),
        (["ml.m5.*"], "ml.m5d.xlarge", False),
        (["ml.m5.*", "ml.g5.xlarge"], "ml.g5.xlarge", True),
        (["ml.g5.xlarge"], "ml.g5.2xlarge", False),
        (["ml.?5.large"], "ml.c5.large", True),
    ],
)
def test_allowed_instance_types(types: list[str], instance_type: str, ok: bool) -> None:
    rules = policy(allowedInstanceTypes={"types": types})
    found = evaluate(rules, Plan(()), [manifest("a", instance_type=instance_type)])
    assert (found == []) is ok
    if not ok:
        assert found[0].message.startswith(f"variant primary uses {instance_type}; allowed")


def test_allowed_instance_types_ignores_serverless() -> None:
    rules = policy(allowedInstanceTypes={"types": ["ml.m5.*"]})
    assert evaluate(rules, Plan(()), [manifest("a", serverless=True)]) == []


def test_max_endpoint_deletes() -> None:
    plan = Plan(
        (
            endpoint("a", Status.DELETE),
            endpoint("b", Status.DELETE, labels={"env": "prod"}),
            endpoint("c", Status.UPDATE),
        )
    )
    assert evaluate(policy(maxEndpointDeletes={"count": 2}), plan, []) == []
    found = evaluate(policy(maxEndpointDeletes={"count": 1}), plan, [])
    assert found == [
        Violation("maxEndpointDeletes", "2 endpoints would be deleted (a, b); at most 1 allowed")
    ]
    scoped = policy(maxEndpointDeletes={"count": 0, **PROD})
    assert [v.message for v in evaluate(scoped, plan, [])] == [
        "1 endpoints would be deleted (b); at most 0 allowed (for env=prod)"
    ]


# Selectors.


def test_selector_limits_rule_to_matching_labels() -> None:
    rules = policy(minInstanceCount={"count": 2, **PROD})
    manifests = [
        manifest("prod-a", {"env": "prod"}, count=1),
        manifest("dev-a", {"env": "dev"}, count=1),
        manifest("unlabelled", count=1),
    ]
    found = evaluate(rules, Plan(()), manifests)
    assert [v.endpoint for v in found] == ["prod-a"]
    assert found[0].message.endswith("(for env=prod)")


def test_selector_needs_every_label_and_accepts_lists() -> None:
    rules = policy(
        requireRollbackAlarms={"when": {"labels": {"env": ["prod", "staging"], "tier": "1"}}}
    )
    manifests = [
        manifest("a", {"env": "staging", "tier": "1"}),
        manifest("b", {"env": "prod"}),
        manifest("c", {"env": "dev", "tier": "1"}),
    ]
    assert [v.endpoint for v in evaluate(rules, Plan(()), manifests)] == ["a"]


def test_selector_names_projects_by_name_or_glob() -> None:
    rules = policy(minInstanceCount={"count": 2, "when": {"projects": ["fraud", "risk-*"]}})
    manifests = [manifest(n, count=1) for n in ("f", "r", "c", "none")]
    plan = Plan(
        (
            endpoint("f", project="fraud"),
            endpoint("r", project="risk-eu"),
            endpoint("c", project="churn"),
            endpoint("none"),  # no projects: a selector naming projects never matches it
        )
    )
    found = evaluate(rules, plan, manifests)
    assert [v.endpoint for v in found] == ["f", "r"]
    assert found[0].message.endswith("(for project=fraud|risk-*)")
    deletes = policy(maxEndpointDeletes={"count": 0, "when": {"projects": ["churn"]}})
    doomed = Plan((endpoint("c", Status.DELETE, project="churn"), endpoint("f", Status.DELETE)))
    assert [v.message for v in evaluate(deletes, doomed, [])] == [
        "1 endpoints would be deleted (c); at most 0 allowed (for project=churn)"
    ]


def test_a_rule_may_be_a_list_with_different_thresholds() -> None:
    rules = policy(
        minInstanceCount=[
            {"count": 3, **PROD},
            {"count": 2, "when": {"labels": {"env": "staging"}}},
        ]
    )
    manifests = [
        manifest("p", {"env": "prod"}, count=2),
        manifest("s", {"env": "staging"}, count=2),
        manifest("d", {"env": "dev"}, count=1),
    ]
    assert [v.endpoint for v in evaluate(rules, Plan(()), manifests)] == ["p"]


# Folding violations into the plan.


def test_apply_policy_marks_endpoints_and_adds_plan_errors() -> None:
    existing = Diagnostic("bad.yaml", 3, "spec", "broken")
    plan = Plan(
        (
            endpoint("a", Status.UPDATE, errors=("earlier",)),
            endpoint("b", Status.CREATE),
            endpoint("gone-1", Status.DELETE),
            endpoint("gone-2", Status.DELETE),
        ),
        errors=(existing,),
    )
    rules = policy(minInstanceCount={"count": 2}, maxEndpointDeletes={"count": 1})
    result = apply_policy(plan, rules, [manifest("a", count=1), manifest("b", count=2)])
    a, b = result.endpoint("a"), result.endpoint("b")
    assert a is not None and b is not None
    assert a.status is Status.ERROR
    assert a.errors == (
        "earlier",
        "policy minInstanceCount: variant primary has initialInstanceCount 1; at least 2 required",
    )
    assert b == plan.endpoint("b")
    assert result.errors == (
        existing,
        Diagnostic(
            "policy.yaml",
            None,
            "policy.maxEndpointDeletes",
            "2 endpoints would be deleted (gone-1, gone-2); at most 1 allowed",
        ),
    )
    assert result.has_errors
    assert result.summary["error"] == 1
    original = plan.endpoint("a")
    assert original is not None and original.status is Status.UPDATE  # the input is not changed


def test_apply_policy_without_violations_changes_nothing() -> None:
    plan = Plan((endpoint("a"),))
    assert apply_policy(plan, policy(minInstanceCount={"count": 1}), [manifest("a")]) == plan


def test_violation_for_an_endpoint_missing_from_the_plan_is_kept() -> None:
    result = apply_policy(Plan(()), policy(requireRollbackAlarms=True), [manifest("x")])
    assert len(result.errors) == 1
    assert result.errors[0].path == "policy.requireRollbackAlarms"
    assert result.errors[0].message.startswith("x: spec.deployment")


def test_region_of_the_manifest_picks_the_endpoint() -> None:
    plan = Plan((endpoint("a", region="us-east-1"), endpoint("a", region="eu-west-1")))
    rules = policy(minInstanceCount={"count": 2})
    result = apply_policy(plan, rules, [manifest("a", count=1, region="eu-west-1")])
    assert [e.status for e in result.endpoints] == [Status.UPDATE, Status.ERROR]


# Loading.


def test_load_plain_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "# reviewed by platform team\n"
        "minInstanceCount: {count: 2, when: {labels: {env: prod}}}\n"
        "requireRollbackAlarms: {when: {labels: {env: prod}}}\n"
        "allowedInstanceTypes:\n"
        "  types: ['ml.m5.*', ml.g5.xlarge]\n"
        "maxEndpointDeletes: {count: 1}\n"
    )
    loaded = load_policy(path)
    assert loaded.source == str(path)
    assert loaded.rules.min_instance_count[0].count == 2
    assert loaded.rules.min_instance_count[0].when.labels == {"env": "prod"}
    assert loaded.rules.allowed_instance_types[0].types == ["ml.m5.*", "ml.g5.xlarge"]
    assert loaded.rules.max_endpoint_deletes[0].count == 1
    assert len(loaded.rules.require_rollback_alarms) == 1


def test_load_repo_config_policy_section(tmp_path: Path) -> None:
    path = tmp_path / ".sagemaker-gitops.yaml"
    path.write_text(
        "controllerId: team-a   # other settings belong to other parts of the tool\n"
        "policy:\n"
        "  maxEndpointDeletes: {count: 0}\n"
    )
    assert load_policy(path).rules.max_endpoint_deletes[0].count == 0


def test_repo_config_without_policy_section(tmp_path: Path) -> None:
    path = tmp_path / ".sagemaker-gitops.yaml"
    path.write_text("controllerId: team-a\n")
    with pytest.raises(ManifestError, match="no policy: section"):
        load_policy(path)


def errors_of(tmp_path: Path, text: str, name: str = "policy.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_policy(path)
    prefix = f"{path}:"
    return [str(d).removeprefix(prefix) for d in caught.value.diagnostics]


def test_bad_policy_names_file_line_and_path(tmp_path: Path) -> None:
    text = (
        "# policy\n"
        "minInstanceCount:\n"
        "  count: 0\n"
        "allowedInstanceTypes:\n"
        "  - types: [ml.m5.*]\n"
        "  - typs: [ml.g5.*]\n"
        "requireApproved: {}\n"
        "maxEndpointDelete: {count: 1}\n"
    )
    errors = errors_of(tmp_path, text)
    assert (
        errors[0] == "3: minInstanceCount.count: Input should be greater than or equal to 1 (got 0)"
    )
    assert "6: allowedInstanceTypes[1].types: required field is missing" in errors
    assert "6: allowedInstanceTypes[1].typs: unknown field" in errors
    assert any(e.startswith("7: requireApproved: not a policy rule") for e in errors)
    assert any(e.startswith("8: maxEndpointDelete: unknown rule (known rules: ") for e in errors)


def test_bad_repo_config_lines_point_into_the_policy_section(tmp_path: Path) -> None:
    text = "controllerId: a\npolicy:\n  minInstanceCount: {count: two}\n"
    errors = errors_of(tmp_path, text, ".sagemaker-gitops.yaml")
    assert len(errors) == 1
    assert errors[0].startswith("3: policy.minInstanceCount.count: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "policy file is empty; expected one"),
        ("a: 1\n---\nb: 2\n", "policy file has 2 YAML documents; expected one"),
        ("- minInstanceCount\n", "1: a policy must be a mapping of rules"),
        ("minInstanceCount: {count: 1\n", "1: invalid YAML"),
        (
            "maxEndpointDeletes: {count: 1}\nmaxEndpointDeletes: {count: 2}\n",
            "2: maxEndpointDeletes: duplicate key",
        ),
    ],
)
def test_unusable_policy_files(tmp_path: Path, text: str, expected: str) -> None:
    errors = errors_of(tmp_path, text)
    assert errors[0].lstrip(" ").startswith(expected), errors


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.yaml")
