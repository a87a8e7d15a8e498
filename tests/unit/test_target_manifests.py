"""Deployment targets: loading and validating `kind: Target`, locations, and per-target clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.aws.clients import AwsOptions, Clients
from controller.core.plan.plans import EndpointPlan, Plan, Status
from controller.core.plan.policy import Policy, PolicyRules, apply_policy
from controller.core.snapshots import Snapshot
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests
from controller.manifests.models import EndpointManifest
from controller.manifests.targets import TargetSpec

TARGET = """\
apiVersion: sagemaker-gitops/v1
kind: Target
metadata:
  name: {name}
spec:
  accountId: "{account}"
  region: us-east-1
  roleArn: arn:aws:iam::{role_account}:role/deployer
"""
ENDPOINT = """\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: churn
spec:
  {where}
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: primary
      model: {{packageGroup: "{group}", version: 1}}
      instanceType: ml.m5.xlarge
"""
GROUP_ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/churn"


def target(name: str = "prod", account: str = "333333333333", role_account: str = "") -> str:
    return TARGET.format(name=name, account=account, role_account=role_account or account)


def endpoint(where: str = "target: prod", group: str = "churn") -> str:
    return ENDPOINT.format(where=where, group=group)


def problems(tmp_path: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return [str(d) for d in load_manifests([Path(".")]).diagnostics]


def test_endpoints_deploy_through_their_target(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(target() + "---\n" + target("staging", "222222222222"))
    (tmp_path / "churn.yaml").write_text(endpoint() + "---\n" + endpoint("target: staging"))
    (tmp_path / "local.yaml").write_text(endpoint("region: eu-west-1").replace("churn", "local"))

    result = load_manifests([tmp_path])
    snapshot = Snapshot.build(result, None, lambda: "us-east-1")

    assert result.ok, result.diagnostics
    assert sorted(result.targets) == ["prod", "staging"]
    assert snapshot.keys() == ["eu-west-1/local", "prod/churn", "staging/churn"]
    assert snapshot.regions() == {"eu-west-1", "prod", "staging"}
    assert snapshot.targets["prod"].account_id == "333333333333"


def test_unknown_target_is_reported_at_its_line_and_the_endpoint_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"t.yaml": target(), "e.yaml": endpoint("target: prdo")}
    assert problems(tmp_path, files, monkeypatch) == [
        "e.yaml:6: spec.target: unknown target 'prdo'; did you mean prod? (targets: prod)"
    ]
    assert load_manifests([tmp_path]).manifests == []


def test_duplicate_target_names_are_errors_at_both_and_neither_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"a.yaml": target(), "b.yaml": target(account="444444444444"), "e.yaml": endpoint()}
    assert problems(tmp_path, files, monkeypatch) == [
        "a.yaml:4: metadata.name: target 'prod' is also defined at b.yaml:4",
        "b.yaml:4: metadata.name: target 'prod' is also defined at a.yaml:4",
        # the endpoint says it is not reconciled, and why
        "e.yaml:6: spec.target: not reconciled: target 'prod' is defined more than once "
        "(a.yaml:4, b.yaml:4)",
    ]
    result = load_manifests([tmp_path])
    assert result.targets == {} and result.manifests == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            target(account="33333333333"),
            "t.yaml:6: spec.accountId: '33333333333' does not match the pattern ^[0-9]{12}$",
        ),
        (
            target(role_account="222222222222"),
            "t.yaml:5: spec: roleArn arn:aws:iam::222222222222:role/deployer is in account "
            "222222222222, not in the target's accountId 333333333333",
        ),
        (
            target().replace("roleArn: arn:aws:iam::333333333333:role/", "roleArn: arn:aws:s3:::"),
            "t.yaml:8: spec.roleArn: 'arn:aws:s3:::deployer' does not match the pattern "
            "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$",
        ),
        (
            target() + "  sessionDuration: 900\n",
            "t.yaml:9: spec.sessionDuration: sessionDuration must be at least 1800 seconds: "
            "botocore renews assumed-role credentials 15 minutes before they expire",
        ),
        (
            target("us-east-1"),
            "t.yaml:4: metadata.name: target name 'us-east-1' looks like a region; pick another "
            "name",
        ),
        (
            target("default"),
            "t.yaml:4: metadata.name: target name 'default' is reserved for endpoints without "
            "spec.target; pick another name",
        ),
        (
            target().replace("  region:", "  regoin:"),
            "t.yaml:7: spec.regoin: unknown field, did you mean region? (allowed: accountId, "
            "region, roleArn, planRoleArn, externalId, sessionName, sessionDuration, "
            "callsPerSecond)",
        ),
    ],
)
def test_bad_targets_are_reported_with_file_line_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    assert expected in problems(tmp_path, {"t.yaml": text}, monkeypatch)


def test_an_endpoint_sets_region_or_target_not_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = endpoint("target: prod\n  region: us-east-1")
    found = problems(tmp_path, {"t.yaml": target(), "e.yaml": both}, monkeypatch)
    assert found == [
        "e.yaml:5: spec: set at most one of region or target (a target names its region)"
    ]


def test_the_same_endpoint_twice_in_one_target_is_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"t.yaml": target(), "a.yaml": endpoint(), "b.yaml": endpoint()}
    assert problems(tmp_path, files, monkeypatch) == [
        "a.yaml:4: metadata.name: endpoint 'churn' in target prod is also defined at b.yaml:4",
        "b.yaml:4: metadata.name: endpoint 'churn' in target prod is also defined at a.yaml:4",
    ]


def test_a_package_group_may_be_an_arn_in_another_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"t.yaml": target(), "e.yaml": endpoint(group=GROUP_ARN)}
    assert problems(tmp_path, files, monkeypatch) == []
    wrong = GROUP_ARN.replace("model-package-group", "model-package")
    found = problems(tmp_path, {"e.yaml": endpoint(group=wrong)}, monkeypatch)
    assert found[0].startswith("e.yaml:10: spec.variants[0].model.packageGroup: 'arn:aws:sag")


def test_clients_map_targets_and_refuse_a_removed_target_name() -> None:
    spec = TargetSpec.model_validate(
        {"accountId": "333333333333", "region": "eu-west-1", "callsPerSecond": 2}
    )
    clients = Clients(AwsOptions(region="us-east-1"))
    clients.set_targets({"prod": spec})
    assert clients.target("prod") == spec
    assert clients.target("us-east-1") is None
    assert clients.client("sagemaker", "prod").meta.region_name == "eu-west-1"
    clients.set_targets({})
    assert clients.removed_targets() == {"prod"}
    with pytest.raises(ControllerError, match="target prod is no longer defined"):
        clients.client("sagemaker", "prod")


def test_a_policy_violation_marks_the_endpoint_only_in_its_own_target() -> None:
    def manifest(where: str, count: int) -> EndpointManifest:
        return EndpointManifest.model_validate(
            yaml.safe_load(endpoint(f"target: {where}") + f"      initialInstanceCount: {count}\n")
        )

    plan = Plan(
        tuple(
            EndpointPlan("churn", f"{t}.yaml", "us-east-1", Status.UPDATE, target=t)
            for t in ("prod", "staging")
        )
    )
    rules = Policy(PolicyRules.model_validate({"minInstanceCount": {"count": 2}}), "policy.yaml")
    result = apply_policy(plan, rules, [manifest("prod", 1), manifest("staging", 2)])
    assert [(e.target, e.status) for e in result.endpoints] == [
        ("prod", Status.ERROR),
        ("staging", Status.UPDATE),
    ]
