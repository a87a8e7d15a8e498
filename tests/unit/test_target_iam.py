"""The multi-account IAM documents in iam/: trust policies, AssumeRole grant, registry sharing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from controller.aws.iam import grants, statements

IAM = Path(__file__).resolve().parents[2] / "iam"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((IAM / name).read_text())
    assert document["Version"] == "2012-10-17"
    return document


@pytest.mark.parametrize(
    ("name", "principal"),
    [
        ("target-deployer-trust-policy.json", "role/sagemaker-gitops-controller"),
        ("target-planner-trust-policy.json", "role/sagemaker-gitops-plan"),
    ],
)
def test_target_roles_trust_one_role_and_require_the_external_id(name: str, principal: str) -> None:
    (statement,) = statements(load(name))
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"]["AWS"].endswith(principal)
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"]


def test_the_controller_may_assume_the_target_roles_and_check_its_account() -> None:
    document = load("assume-target-roles-policy.json")
    assert grants(document, "sts:AssumeRole") and grants(document, "sts:GetCallerIdentity")
    resources = [r for s in statements(document) for r in s["Resource"] if "role/" in r]
    assert sorted(r.rsplit("/", 1)[1] for r in resources) == [
        "sagemaker-gitops-deployer",
        "sagemaker-gitops-planner",
    ]


def test_the_registry_group_policy_grants_exactly_what_targets_read() -> None:
    document = load("registry-group-resource-policy.json")
    (statement,) = statements(document)
    # ListModelPackages resolves versions; DescribeModelPackage gives reviewer notes and is what
    # CreateModel from a shared version checks. Nothing else, and never a write.
    assert sorted(statement["Action"]) == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
    ]
    group, versions = statement["Resource"]
    assert ":model-package-group/" in group
    assert versions == group.replace("model-package-group/", "model-package/") + "/*"
