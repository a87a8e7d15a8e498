"""Several accounts: AssumeRole into another account, and a registry shared by resource policy."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from sandbox_helpers import IMAGE, ROLE, assumed_client, client, error_of, make_model

from controller.sandbox import Sandbox, SeedError

REGISTRY, STAGING, PROD = "111111111111", "222222222222", "333333333333"
GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package-group/churn"
VERSION_ARN = f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package/churn/1"
VERSION = {"image": IMAGE, "modelDataUrl": "s3://models/churn/1.tar.gz", "approval": "Approved"}
SEED = {
    "modelPackageGroups": [
        {"name": "churn", "account": REGISTRY, "shareWith": [STAGING], "versions": [VERSION]},
        {"name": "private", "account": REGISTRY, "versions": [VERSION]},
        {"name": "local", "versions": [VERSION]},
    ]
}


@pytest.fixture
def world() -> Any:
    with Sandbox(seed=SEED) as sandbox:
        yield sandbox


def deploy_model(sm: Any, name: str, package: str = VERSION_ARN) -> str:
    response = sm.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package}
    )
    return str(response["ModelArn"])


def test_assumed_role_credentials_act_in_the_roles_account(world: Sandbox) -> None:
    assert client(world, "sts").get_caller_identity()["Account"] == "123456789012"
    identity = assumed_client(world, STAGING, "sts").get_caller_identity()
    assert identity["Account"] == STAGING
    assert identity["Arn"] == f"arn:aws:sts::{STAGING}:assumed-role/deployer/sandbox-test"


def test_sagemaker_resources_are_separate_per_account(world: Sandbox) -> None:
    staging, prod = assumed_client(world, STAGING), assumed_client(world, PROD)
    arn = make_model(staging, "churn-m1")
    assert arn == f"arn:aws:sagemaker:us-east-1:{STAGING}:model/churn-m1"
    assert [m["ModelName"] for m in staging.list_models()["Models"]] == ["churn-m1"]
    assert prod.list_models()["Models"] == []
    code, _ = error_of(lambda: prod.describe_model(ModelName="churn-m1"))
    assert code == "ValidationException"
    make_model(prod, "churn-m1")  # the same name in another account is another model


def test_seeded_groups_live_in_their_account(world: Sandbox) -> None:
    registry = assumed_client(world, REGISTRY)
    names = [
        g["ModelPackageGroupName"]
        for g in registry.list_model_package_groups()["ModelPackageGroupSummaryList"]
    ]
    assert sorted(names) == ["churn", "private"]
    default = client(world).list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in default] == ["local"]


def test_a_shared_group_is_readable_by_arn_from_the_other_account(world: Sandbox) -> None:
    staging = assumed_client(world, STAGING)
    listed = staging.list_model_packages(ModelPackageGroupName=GROUP_ARN)
    summaries = listed["ModelPackageSummaryList"]
    assert [(p["ModelPackageArn"], p["ModelApprovalStatus"]) for p in summaries] == [
        (VERSION_ARN, "Approved")
    ]
    described = staging.describe_model_package(ModelPackageName=VERSION_ARN)
    assert described["ModelPackageGroupName"] == "churn"
    group = staging.describe_model_package_group(ModelPackageGroupName=GROUP_ARN)
    assert group["ModelPackageGroupArn"] == GROUP_ARN
    arn = deploy_model(staging, "churn-m1")
    assert arn.startswith(f"arn:aws:sagemaker:us-east-1:{STAGING}:")
    container = staging.describe_model(ModelName="churn-m1")["PrimaryContainer"]
    assert container["ModelPackageName"] == VERSION_ARN


def test_unshared_access_is_denied_as_iam_does(world: Sandbox) -> None:
    prod, staging = assumed_client(world, PROD), assumed_client(world, STAGING)
    code, message = error_of(lambda: prod.list_model_packages(ModelPackageGroupName=GROUP_ARN))
    assert code == "AccessDeniedException"
    assert message == (
        f"User: arn:aws:sts::{PROD}:assumed-role/deployer/sandbox-test is not authorized to "
        f"perform: sagemaker:ListModelPackages on resource: {GROUP_ARN} because no "
        "resource-based policy allows the sagemaker:ListModelPackages action"
    )
    code, _ = error_of(lambda: prod.describe_model_package(ModelPackageName=VERSION_ARN))
    assert code == "AccessDeniedException"
    code, _ = error_of(lambda: deploy_model(prod, "churn-m1"))
    assert code == "AccessDeniedException"
    assert prod.list_models()["Models"] == []
    private = GROUP_ARN.replace("/churn", "/private")
    code, _ = error_of(lambda: staging.list_model_packages(ModelPackageGroupName=private))
    assert code == "AccessDeniedException"


def policy(effect: str, principal: str, actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": effect,
                    "Principal": {"AWS": principal},
                    "Action": actions,
                    "Resource": [GROUP_ARN, GROUP_ARN.replace("-group/", "/") + "/*"],
                }
            ],
        }
    )


def test_policy_routes_grant_revoke_and_name_a_role(world: Sandbox) -> None:
    registry, prod = assumed_client(world, REGISTRY), assumed_client(world, PROD)
    role = f"arn:aws:iam::{PROD}:role/deployer"
    answer = registry.put_model_package_group_policy(
        ModelPackageGroupName="churn",
        ResourcePolicy=policy("Allow", role, ["sagemaker:ListModelPackages"]),
    )
    assert answer["ModelPackageGroupArn"] == GROUP_ARN
    assert (
        len(prod.list_model_packages(ModelPackageGroupName=GROUP_ARN)["ModelPackageSummaryList"])
        == 1
    )
    # Only the action granted: describing is still refused.
    code, _ = error_of(lambda: prod.describe_model_package(ModelPackageName=VERSION_ARN))
    assert code == "AccessDeniedException"
    other_role = assumed_client(world, PROD, role="someone-else")
    code, _ = error_of(lambda: other_role.list_model_packages(ModelPackageGroupName=GROUP_ARN))
    assert code == "AccessDeniedException"
    stored = registry.get_model_package_group_policy(ModelPackageGroupName="churn")
    assert json.loads(stored["ResourcePolicy"])["Statement"][0]["Principal"]["AWS"] == role
    registry.delete_model_package_group_policy(ModelPackageGroupName="churn")
    code, _ = error_of(lambda: prod.list_model_packages(ModelPackageGroupName=GROUP_ARN))
    assert code == "AccessDeniedException"
    code, _ = error_of(
        lambda: registry.get_model_package_group_policy(ModelPackageGroupName="churn")
    )
    assert code == "ValidationException"


def test_an_explicit_deny_wins(world: Sandbox) -> None:
    registry, staging = assumed_client(world, REGISTRY), assumed_client(world, STAGING)
    document = json.loads(policy("Allow", "*", ["sagemaker:*"]))
    deny = json.loads(policy("Deny", STAGING, ["sagemaker:DescribeModelPackage"]))
    document["Statement"] += deny["Statement"]
    registry.put_model_package_group_policy(
        ModelPackageGroupName="churn", ResourcePolicy=json.dumps(document)
    )
    assert staging.list_model_packages(ModelPackageGroupName=GROUP_ARN)["ModelPackageSummaryList"]
    code, message = error_of(lambda: staging.describe_model_package(ModelPackageName=VERSION_ARN))
    assert code == "AccessDeniedException"
    assert message.endswith("with an explicit deny in a resource-based policy")


def test_policy_errors(world: Sandbox) -> None:
    registry = assumed_client(world, REGISTRY)
    code, message = error_of(
        lambda: registry.put_model_package_group_policy(
            ModelPackageGroupName="missing", ResourcePolicy="{}"
        )
    )
    assert (code, message) == (
        "ValidationException",
        f"ModelPackageGroup arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package-group/missing "
        "does not exist.",
    )
    code, _ = error_of(
        lambda: registry.put_model_package_group_policy(
            ModelPackageGroupName="churn", ResourcePolicy="not json"
        )
    )
    assert code == "ValidationException"


def test_seed_accounts_are_checked() -> None:
    bad = {"modelPackageGroups": [{"name": "g", "account": "12345", "shareWith": ["x"]}]}
    with pytest.raises(SeedError) as caught, Sandbox(seed=bad):
        pass
    message = str(caught.value)
    assert "<seed>: modelPackageGroups[0].account: String should match pattern" in message
    assert "<seed>: modelPackageGroups[0].shareWith[0]: String should match pattern" in message


def test_calls_are_counted_per_calling_account(world: Sandbox) -> None:
    """What each deployment target cost: served calls by the account the credentials act in."""
    staging = assumed_client(world, STAGING)
    world.reset_calls()
    staging.list_endpoints()
    staging.list_endpoints()
    client(world).list_endpoints()
    with pytest.raises(staging.exceptions.ClientError):
        staging.describe_endpoint(EndpointName="absent")
    by_account = world.calls_by_account()
    assert by_account == {
        STAGING: {"DescribeEndpoint": 1, "ListEndpoints": 2},
        "123456789012": {"ListEndpoints": 1},
    }
    assert world.calls() == {"DescribeEndpoint": 1, "ListEndpoints": 3}
    with urllib.request.urlopen(f"{world.url}/_sandbox/calls/by-account", timeout=10) as answer:
        assert json.loads(answer.read()) == {"accounts": by_account}
    world.reset_calls()
    assert world.calls_by_account() == {}
