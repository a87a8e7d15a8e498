"""Tags on models, configs and endpoints, and GetResources finding what a controller owns."""

from __future__ import annotations

from typing import Any

from sandbox_helpers import ManualClock, client, error_of, make_endpoint

from controller.sandbox import Sandbox

OWNER = "sagemaker-gitops/managed-by"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def owned(tagging: Any, owner: str, *types: str) -> list[str]:
    """All ARNs tagged managed-by=owner, following pagination."""
    arns: list[str] = []
    paginator = tagging.get_paginator("get_resources")
    kwargs: dict[str, Any] = {"TagFilters": [{"Key": OWNER, "Values": [owner]}]}
    if types:
        kwargs["ResourceTypeFilters"] = list(types)
    for page in paginator.paginate(**kwargs, ResourcesPerPage=2):
        arns.extend(r["ResourceARN"] for r in page["ResourceTagMappingList"])
    return arns


def test_add_list_delete_tags_on_all_three_kinds(sm: Any) -> None:
    make_endpoint(sm, "churn")
    for arn in (
        f"{ARN}:model/churn-m1",
        f"{ARN}:endpoint-config/churn-c1",
        f"{ARN}:endpoint/churn",
    ):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [
            {"Key": "a", "Value": "3"},
            {"Key": "b", "Value": "2"},
        ]
        sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_tagging_a_missing_resource_is_a_validation_error(sm: Any) -> None:
    code, _ = error_of(
        lambda: sm.add_tags(ResourceArn=f"{ARN}:endpoint/ghost", Tags=[{"Key": "a", "Value": "1"}])
    )
    assert code == "ValidationException"


def test_get_resources_finds_what_an_owner_tagged(sandbox: Sandbox, sm: Any) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    for name, owner in [("a", "ctl-1"), ("b", "ctl-1"), ("c", "ctl-2")]:
        make_endpoint(sm, name, tags={OWNER: owner})
        for arn in (f"{ARN}:model/{name}-m1", f"{ARN}:endpoint-config/{name}-c1"):
            sm.add_tags(ResourceArn=arn, Tags=[{"Key": OWNER, "Value": owner}])
    assert sorted(owned(tagging, "ctl-1")) == sorted(
        [
            f"{ARN}:endpoint/a",
            f"{ARN}:endpoint/b",
            f"{ARN}:endpoint-config/a-c1",
            f"{ARN}:endpoint-config/b-c1",
            f"{ARN}:model/a-m1",
            f"{ARN}:model/b-m1",
        ]
    )
    assert owned(tagging, "ctl-1", "sagemaker:endpoint") == [
        f"{ARN}:endpoint/a",
        f"{ARN}:endpoint/b",
    ]
    assert owned(tagging, "ctl-2", "sagemaker:endpoint-config") == [f"{ARN}:endpoint-config/c-c1"]
    assert len(owned(tagging, "ctl-2", "sagemaker")) == 3
    page = tagging.get_resources(TagFilters=[{"Key": OWNER, "Values": ["ctl-2"]}])
    tags = page["ResourceTagMappingList"][0]["Tags"]
    assert {"Key": OWNER, "Value": "ctl-2"} in tags


def test_deleted_resources_disappear_from_get_resources(
    slow_sandbox: Sandbox, clock: ManualClock
) -> None:
    sm = client(slow_sandbox)
    tagging = client(slow_sandbox, "resourcegroupstaggingapi")
    make_endpoint(sm, "a", tags={OWNER: "ctl"})
    clock.advance(10)
    sm.delete_endpoint(EndpointName="a")
    assert owned(tagging, "ctl", "sagemaker:endpoint") == [f"{ARN}:endpoint/a"]
    clock.advance(10)
    assert owned(tagging, "ctl", "sagemaker:endpoint") == []


def test_pages_survive_deletions_between_pages(sm: Any, sandbox: Sandbox) -> None:
    tagging = client(sandbox, "resourcegroupstaggingapi")
    for i in range(5):
        make_endpoint(sm, f"e{i}", tags={OWNER: "ctl"})
    filters = {"TagFilters": [{"Key": OWNER, "Values": ["ctl"]}], "ResourcesPerPage": 2}
    first = tagging.get_resources(**filters)
    assert [r["ResourceARN"] for r in first["ResourceTagMappingList"]] == [
        f"{ARN}:endpoint/e0",
        f"{ARN}:endpoint/e1",
    ]
    sm.delete_endpoint(EndpointName="e2")
    second = tagging.get_resources(**filters, PaginationToken=first["PaginationToken"])
    assert [r["ResourceARN"] for r in second["ResourceTagMappingList"]] == [
        f"{ARN}:endpoint/e3",
        f"{ARN}:endpoint/e4",
    ]
    assert second["PaginationToken"] == ""
