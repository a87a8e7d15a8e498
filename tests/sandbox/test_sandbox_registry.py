"""Model Registry: seeding, listing, describing by ARN or group/version, approval changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sandbox_helpers import ROLE, client, error_of, make_config

from controller.sandbox import Sandbox, SeedError

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package"


@pytest.fixture
def reg(seeded_sandbox: Sandbox) -> Any:
    return client(seeded_sandbox)


def test_seed_creates_groups_and_numbered_versions(reg: Any) -> None:
    groups = reg.list_model_package_groups(SortBy="Name")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["churn-xgb", "fraud-detector"]
    listed = reg.list_model_packages(
        ModelPackageGroupName="churn-xgb", SortBy="CreationTime", SortOrder="Ascending"
    )["ModelPackageSummaryList"]
    assert [(p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in listed] == [
        (1, "Approved"),
        (2, "Approved"),
        (3, "PendingManualApproval"),
    ]
    assert listed[0]["ModelPackageArn"] == f"{PACKAGE}/churn-xgb/1"


def test_list_model_packages_sorts_and_paginates(reg: Any) -> None:
    first = reg.list_model_packages(
        ModelPackageGroupName="churn-xgb",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=2,
    )
    assert [p["ModelPackageVersion"] for p in first["ModelPackageSummaryList"]] == [3, 2]
    rest = reg.list_model_packages(
        ModelPackageGroupName="churn-xgb",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert [p["ModelPackageVersion"] for p in rest["ModelPackageSummaryList"]] == [1]
    approved = reg.list_model_packages(
        ModelPackageGroupName="churn-xgb", ModelApprovalStatus="Approved"
    )
    assert len(approved["ModelPackageSummaryList"]) == 2


@pytest.mark.parametrize("name", [f"{PACKAGE}/churn-xgb/2", "churn-xgb/2"])
def test_describe_model_package_by_arn_or_group_version(reg: Any, name: str) -> None:
    described = reg.describe_model_package(ModelPackageName=name)
    assert described["ModelPackageArn"] == f"{PACKAGE}/churn-xgb/2"
    assert described["ModelApprovalStatus"] == "Approved"
    container = described["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"
    assert container["ModelDataUrl"] == "s3://models/churn/2/model.tar.gz"
    assert described["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    assert described["LastModifiedTime"] >= described["CreationTime"]


def test_update_model_package_changes_approval_only(reg: Any) -> None:
    arn = f"{PACKAGE}/churn-xgb/3"
    reg.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="looks good"
    )
    reg.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"owner": "ml"})
    described = reg.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "looks good"
    assert "LastModifiedBy" in described


def test_model_from_package_deploys_and_fail_marker_inside_package_fails(
    seeded_sandbox: Sandbox, reg: Any
) -> None:
    reg.create_model(
        ModelName="ok",
        ExecutionRoleArn=ROLE,
        Containers=[{"ModelPackageName": f"{PACKAGE}/churn-xgb/1"}],
    )
    make_config(reg, "ok-c", "ok")
    reg.create_endpoint(EndpointName="ok", EndpointConfigName="ok-c")
    assert reg.describe_endpoint(EndpointName="ok")["EndpointStatus"] == "InService"
    (bad,) = seeded_sandbox.seed_registry(
        {
            "modelPackageGroups": [
                {
                    "name": "churn-xgb",
                    "versions": [
                        {
                            "image": "img:2",
                            "modelDataUrl": "s3://m/4.tar.gz",
                            "approval": "Approved",
                            "environment": {"SAGEMAKER_SANDBOX_FAIL": "1"},
                        }
                    ],
                }
            ]
        }
    )
    assert bad == f"{PACKAGE}/churn-xgb/4"
    reg.create_model(ModelName="bad", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": bad}])
    make_config(reg, "bad-c", "bad")
    reg.create_endpoint(EndpointName="bad", EndpointConfigName="bad-c")
    described = reg.describe_endpoint(EndpointName="bad")
    assert described["EndpointStatus"] == "Failed"
    assert "FailureReason" in described


def test_missing_model_package_is_a_validation_error(reg: Any) -> None:
    code, _ = error_of(lambda: reg.describe_model_package(ModelPackageName="churn-xgb/99"))
    assert code == "ValidationException"


def test_seed_calls_are_not_counted(seeded_sandbox: Sandbox) -> None:
    assert seeded_sandbox.calls() == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "modelPackageGroups: [{name: g, versions: [{image: i, approval: Approved}]}]",
            "modelPackageGroups[0].versions[0].modelDataUrl: Field required",
        ),
        (
            "modelPackageGroups: [{name: g, versions: [{image: i, modelDataUrl: s3://x, "
            "approval: Yes}]}]",
            "modelPackageGroups[0].versions[0].approval",
        ),
        (
            "modelPackageGroups: [{name: bad_name}]",
            "modelPackageGroups[0].name: 1 validation error",
        ),
        (
            "modelPackageGroups: [{name: g, colour: red}]",
            "modelPackageGroups[0].colour: Extra inputs",
        ),
        ("modelPackageGroups: [unclosed", "invalid YAML"),
        ("- just a list", "a seed must be a mapping"),
    ],
)
def test_bad_seed_names_file_and_field(
    sandbox: Sandbox, tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(text)
    with pytest.raises(SeedError) as caught:
        sandbox.seed_registry(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
    assert client(sandbox).list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_missing_seed_file_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read seed file"):
        Sandbox(seed=tmp_path / "nope.yaml").start()
    with Sandbox() as sandbox:  # the failed start released the one-per-process slot
        assert sandbox.running
