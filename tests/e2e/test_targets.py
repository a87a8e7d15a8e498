"""Deployment targets end to end: one repo, a shared registry account, staging and prod.

Three sandbox accounts (registry 111111111111, staging 222222222222, prod 333333333333) and two
regions; the controller runs with the sandbox's default credentials and reaches each target by
assuming the target's role, as it would from a CI or tooling account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import IMAGE, World, sandbox_world

REGISTRY, STAGING, PROD = "111111111111", "222222222222", "333333333333"
DEFAULT = "123456789012"  # the account of the sandbox's default credentials
GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package-group/churn"
VERSION = {"image": IMAGE, "modelDataUrl": "s3://models/churn/1.tar.gz", "approval": "Approved"}
SEED = {
    "modelPackageGroups": [
        {
            "name": "churn",
            "account": REGISTRY,
            "shareWith": [STAGING, PROD],
            "versions": [VERSION, {**VERSION, "modelDataUrl": "s3://models/churn/2.tar.gz"}],
        },
        {"name": "fraud", "account": REGISTRY, "versions": [VERSION]},
    ]
}
IAM = Path(__file__).resolve().parents[2] / "iam"
TARGETS = {
    "staging": (STAGING, "us-east-1"),
    "prod": (PROD, "us-east-1"),
    "prod-west": (PROD, "us-west-2"),
}


def target(name: str, account: str, region: str, role_account: str | None = None) -> str:
    role = f"arn:aws:iam::{role_account or account}:role/deployer"
    return f"""
        apiVersion: sagemaker-gitops/v1
        kind: Target
        metadata:
          name: {name}
          labels: {{env: {name.split("-")[0]}}}
        spec:
          accountId: "{account}"
          region: {region}
          roleArn: {role}
          sessionName: gitops-test
        """


def endpoint(name: str, where: str, version: int = 1, group: str = GROUP_ARN) -> str:
    """A registry endpoint in target `where`, on `group` (by default the shared group's ARN)."""
    model = f'{{packageGroup: "{group}", version: {version}}}'
    return _endpoint(name, where, "primary", model, "instanceType: ml.m5.xlarge")


def image_endpoint(name: str, where: str) -> str:
    """A serverless bring-your-own-image endpoint in target `where` (no registry involved)."""
    serverless = "serverless: {memorySizeInMB: 2048, maxConcurrency: 5}"
    return _endpoint(name, where, "main", f'{{image: "{IMAGE}"}}', serverless)


def _endpoint(name: str, where: str, variant: str, model: str, capacity: str) -> str:
    role = f"arn:aws:iam::{TARGETS[where][0]}:role/SageMakerExecution"
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {where}\n  executionRoleArn: {role}\n"
        f"  variants:\n    - name: {variant}\n      model: {model}\n      {capacity}\n"
    )


@pytest.fixture
def accounts(tmp_path: Path, capsys: Any, monkeypatch: Any) -> Iterator[World]:
    with sandbox_world(tmp_path, capsys, monkeypatch, SEED) as world:
        for name, (account, region) in TARGETS.items():
            world.write(f"targets/{name}.yaml", target(name, account, region))
        yield world


def sagemaker_in(world: World, account: str, region: str = "us-east-1") -> Any:
    return in_account(world, account, "sagemaker", region)


def in_account(world: World, account: str, service: str, region: str = "us-east-1") -> Any:
    """A client of `service` acting in `account` (through a role assumed there)."""
    sts = boto3.client("sts", endpoint_url=world.sandbox.url, region_name=region)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/inspector", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=world.sandbox.url,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def endpoints_in(world: World, account: str, region: str = "us-east-1") -> list[str]:
    listed = sagemaker_in(world, account, region).list_endpoints()["Endpoints"]
    return sorted(e["EndpointName"] for e in listed)


def test_one_repo_deploys_to_staging_and_prod_from_the_shared_registry(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging", version=2))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod", version=1))
    accounts.write("prod/west.yaml", image_endpoint("kmeans", "prod-west"))

    result = accounts.apply()

    assert result.code == 0, result.err
    assert endpoints_in(accounts, STAGING) == ["churn"]
    assert endpoints_in(accounts, PROD) == ["churn"]
    assert endpoints_in(accounts, PROD, "us-west-2") == ["kmeans"]
    assert endpoints_in(accounts, REGISTRY) == []
    assert accounts.names("endpoint") == []  # nothing in the controller's own account
    prod = sagemaker_in(accounts, PROD)
    config = prod.describe_endpoint(EndpointName="churn")["EndpointConfigName"]
    model = prod.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    described = prod.describe_model(ModelName=model["ModelName"])
    assert described["ModelArn"].startswith(f"arn:aws:sagemaker:us-east-1:{PROD}:model/")
    package = described["Containers"][0]["ModelPackageName"]
    assert package == f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package/churn/1"
    assert "prod/churn: converged" in result.out and "staging/churn: converged" in result.out
    # A second apply is a no-op everywhere.
    assert accounts.mutations_during(accounts.apply) == {}


def test_plans_group_endpoints_by_target_and_show_accounts(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))

    plan = json.loads(accounts.plan("--format", "json").out)
    markdown = accounts.plan("--format", "markdown").out

    rows = [(e["target"], e["account"], e["region"], e["name"]) for e in plan["endpoints"]]
    assert rows == [
        ("prod", PROD, "us-east-1", "churn"),
        ("staging", STAGING, "us-east-1", "churn"),
    ]
    assert all(
        e["models"] == {"primary": f"churn v1 (registry {REGISTRY})"} for e in plan["endpoints"]
    )
    assert markdown.index("prod") < markdown.index("staging")
    assert f"target <code>prod</code> · account {PROD}" in markdown
    assert f"target <code>staging</code> · account {STAGING}" in markdown
    status = accounts.cli("status", "-m", str(accounts.root)).out.splitlines()
    assert status[0].split() == [
        "ENDPOINT",
        "TARGET",
        "REGION",
        "SYNC",
        "HEALTH",
        "REVISION",
        "ERROR",
    ]
    assert [line.split()[:3] for line in status[1:]] == [
        ["churn", "prod", "us-east-1"],
        ["churn", "staging", "us-east-1"],
    ]


def test_an_account_mismatch_changes_nothing_and_names_both_accounts(accounts: World) -> None:
    # No role: the controller's own credentials (the default account 123456789012) are used,
    # and the target says prod. The guard refuses before the first read, so before any change.
    accounts.write(
        "targets/prod.yaml",
        target("prod", PROD, "us-east-1").replace(
            f"          roleArn: arn:aws:iam::{PROD}:role/deployer\n", ""
        ),
    )
    accounts.write("prod/churn.yaml", image_endpoint("churn", "prod"))
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))

    result = accounts.apply()

    assert result.code == 1
    assert "prod/churn: error: target prod: refused reading live state" in result.err
    assert f"the credentials act in account {DEFAULT}, but the target's accountId is {PROD}" in (
        result.err
    )
    assert "Traceback" not in result.err
    assert accounts.names("model") == [] and accounts.names("endpoint") == []
    assert endpoints_in(accounts, PROD) == []
    assert endpoints_in(accounts, STAGING) == ["churn"]  # other targets go on


OTHER = "444444444444"  # a target account the ambient credentials (DEFAULT) do not act in
MISMATCH = f"the credentials act in account {DEFAULT}, but the target's accountId is {OTHER}"


def only_target_other(world: World) -> None:
    """Replace the targets by `other`: account OTHER, no role, so the ambient credentials."""
    for name in TARGETS:
        (world.root / "targets" / f"{name}.yaml").unlink()
    role = f"          roleArn: arn:aws:iam::{OTHER}:role/deployer\n"
    world.write("targets/other.yaml", target("other", OTHER, "us-east-1").replace(role, ""))


def test_plan_and_status_refuse_a_target_in_another_account(accounts: World) -> None:
    # The ambient account DEFAULT holds this controller's `churn`; the manifest deploys `churn`
    # to target `other`. A plan that read DEFAULT's `churn` would diff the wrong account, label
    # it account 444444444444 and look green.
    ambient = image_endpoint("churn", "staging").replace("target: staging", "region: us-east-1")
    accounts.write("default/churn.yaml", ambient)
    assert accounts.apply().code == 0 and accounts.names("endpoint") == ["churn"]
    (accounts.root / "default" / "churn.yaml").unlink()
    only_target_other(accounts)
    accounts.write("other/churn.yaml", ambient.replace("region: us-east-1", "target: other"))
    accounts.sandbox.reset_calls()

    plan = accounts.plan("--format", "json")
    markdown = accounts.plan("--format", "markdown")
    status = accounts.cli("status", "-m", str(accounts.root), "--output", "json")

    assert (plan.code, markdown.code, status.code) == (1, 1, 1)
    [entry] = json.loads(plan.out)["endpoints"]
    assert (entry["status"], entry["account"], entry["actions"]) == ("error", OTHER, [])
    assert entry["errors"] == [
        f"target other: refused reading live state: {MISMATCH}; nothing was read or changed"
    ]
    assert json.loads(plan.out)["summary"]["error"] == 1
    assert MISMATCH in markdown.out
    [row] = json.loads(status.out)["endpoints"]
    assert (row["sync"], row["account"]) == ("Error", OTHER) and MISMATCH in row["error"]
    # The ambient account's `churn` was never read for the target; one identity per command.
    calls = accounts.calls()
    assert "DescribeEndpoint" not in calls and calls["GetCallerIdentity"] == 3


def test_a_target_in_another_account_is_an_error_even_without_endpoints(accounts: World) -> None:
    # The target's last endpoint manifest was deleted: prune would look for what it owns there.
    # Its credentials act in DEFAULT, whose index it must not read as the target's.
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))
    role = f"          roleArn: arn:aws:iam::{OTHER}:role/deployer\n"
    accounts.write("targets/other.yaml", target("other", OTHER, "us-east-1").replace(role, ""))

    plan = accounts.plan("--prune")
    status = accounts.cli("status", "-m", str(accounts.root))

    refused = f"target other: refused GetResources: {MISMATCH}; nothing was read or changed"
    assert plan.code == 1 and status.code == 1
    assert f"error: targets/other.yaml:1: spec.accountId: {refused}" in plan.out
    assert f"note: prune cannot list the owned endpoints of other: {refused}" in plan.err
    assert f"targets/other.yaml:1: spec.accountId: {refused}" in status.err
    assert "staging" in plan.out  # the other targets are planned as usual


def test_promote_refuses_a_target_in_another_account(accounts: World) -> None:
    # The registry shares the group with DEFAULT too, so only the account check can refuse.
    shared = (IAM / "registry-group-resource-policy.json").read_text().replace(PROD, DEFAULT)
    sagemaker_in(accounts, REGISTRY).put_model_package_group_policy(
        ModelPackageGroupName="churn", ResourcePolicy=json.dumps(json.loads(shared))
    )
    only_target_other(accounts)
    churn = endpoint("churn", "staging").replace("target: staging", "target: other")
    accounts.write("other/churn.yaml", churn)

    promote = accounts.cli("promote", "--group", GROUP_ARN, "-m", str(accounts.root))

    assert promote.code == 1, promote.out
    assert f"target other: refused ListModelPackages: {MISMATCH}" in promote.err
    assert "Traceback" not in promote.err
    assert (accounts.root / "other" / "churn.yaml").read_text() == churn  # not rewritten
    assert "ListModelPackages" not in accounts.calls()


def test_an_unshared_registry_fails_only_its_endpoint(accounts: World) -> None:
    private = GROUP_ARN.replace("/churn", "/private")
    accounts.write("staging/churn.yaml", endpoint("churn", "staging", group=private))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))

    result = accounts.apply()

    assert result.code == 1
    assert "staging/churn: error: variants[primary]: model package group" in result.err
    assert "access denied: User: arn:aws:sts::222222222222:assumed-role/deployer/" in result.err
    assert endpoints_in(accounts, STAGING) == [] and endpoints_in(accounts, PROD) == ["churn"]


def test_prune_in_one_target_never_touches_another(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))
    accounts.write("prod/west.yaml", image_endpoint("churn", "prod-west"))
    assert accounts.apply().code == 0

    (accounts.root / "prod" / "churn.yaml").unlink()
    result = accounts.apply("--prune")

    assert result.code == 0, result.err
    assert "prod/churn: converged (deleted Endpoint churn" in result.out
    assert endpoints_in(accounts, PROD) == []
    assert endpoints_in(accounts, STAGING) == ["churn"]
    assert endpoints_in(accounts, PROD, "us-west-2") == ["churn"]


def test_a_target_removed_from_the_repo_deletes_nothing(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))
    assert accounts.apply().code == 0

    (accounts.root / "prod" / "churn.yaml").unlink()
    (accounts.root / "targets" / "prod.yaml").unlink()
    deleted = accounts.mutations_during(lambda: accounts.apply("--prune"))

    assert deleted == {}
    assert endpoints_in(accounts, PROD) == ["churn"]


def test_a_no_op_pass_stays_within_the_call_budget_per_target(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging"))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))
    accounts.write("prod/fraud.yaml", endpoint("fraud", "prod"))
    accounts.write("prod/west.yaml", image_endpoint("kmeans", "prod-west"))
    assert accounts.apply().code == 0
    accounts.sandbox.reset_calls()

    assert accounts.plan().code == 0
    calls = accounts.calls()

    # One owned-index query per target (three targets, two accounts, two regions) and one
    # registry listing per group and target that uses it (staging and prod share one group).
    # Plus one AssumeRole per target session, and one GetCallerIdentity per set of credentials
    # (the account check of each target session, and the ambient one for the plan's header,
    # which targets without a role share). The endpoints were seen settled by the apply that
    # made them (their sagemaker-gitops/observed stamp): one ListEndpoints per target shows them
    # unchanged, and none is described. Autoscaling adds one DescribeScalableTargets per target
    # and region, never one per endpoint.
    assert calls == {
        "AssumeRole": 3,
        "GetCallerIdentity": 4,
        "GetResources": 3,
        "DescribeScalableTargets": 3,
        "ListModelPackages": 2,
        "ListEndpoints": 3,
    }


def test_the_shipped_registry_policy_shares_a_group(accounts: World) -> None:
    fraud = GROUP_ARN.replace("/churn", "/fraud")
    accounts.write("staging/fraud.yaml", endpoint("fraud", "staging", group=fraud))
    assert "access denied" in accounts.apply().err  # not shared yet
    shipped = (IAM / "registry-group-resource-policy.json").read_text().replace("churn", "fraud")
    policy = json.dumps(json.loads(shipped))  # one line: the API's pattern is `.*`
    sagemaker_in(accounts, REGISTRY).put_model_package_group_policy(
        ModelPackageGroupName="fraud", ResourcePolicy=policy
    )

    result = accounts.apply()

    assert result.code == 0, result.err
    assert endpoints_in(accounts, STAGING) == ["fraud"]


def test_plan_assumes_the_read_only_plan_role(accounts: World) -> None:
    planner = f"arn:aws:iam::{PROD}:role/planner"
    for other in ("staging", "prod-west"):
        (accounts.root / "targets" / f"{other}.yaml").unlink()
    accounts.write(
        "targets/prod.yaml",
        target("prod", PROD, "us-east-1") + f"  planRoleArn: {planner}\n",
    )
    accounts.write("prod/churn.yaml", endpoint("churn", "prod"))

    assert accounts.plan().code == 0
    roles = [r["RoleArn"] for r in accounts.sandbox.requests("AssumeRole")]
    assert roles == [planner]
    assert accounts.apply().code == 0
    roles = [r["RoleArn"] for r in accounts.sandbox.requests("AssumeRole")]
    assert roles[-1] == f"arn:aws:iam::{PROD}:role/deployer"


def test_promote_reads_the_shared_group_through_each_target(accounts: World) -> None:
    accounts.write("staging/churn.yaml", endpoint("churn", "staging", version=1))
    accounts.write("prod/churn.yaml", endpoint("churn", "prod", version=1))

    result = accounts.cli(
        "promote", "--group", GROUP_ARN, "--to", "latest-approved", "-m", str(accounts.root)
    )

    assert result.code == 0, result.err
    for where in ("staging", "prod"):
        assert "version: 2}" in (accounts.root / where / "churn.yaml").read_text()
    roles = {r["RoleArn"] for r in accounts.sandbox.requests("AssumeRole")}
    assert roles == {f"arn:aws:iam::{STAGING}:role/deployer", f"arn:aws:iam::{PROD}:role/deployer"}
