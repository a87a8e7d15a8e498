"""GetResources paging: one snapshot per sweep (linear), yet deletes and tag edits between
pages are seen."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import client, error_of, make_model

from controller.sandbox import Sandbox, tagging

OWNER = "sagemaker-gitops/managed-by"


def page(tag_api: Any, token: str = "", owner: str = "me", per_page: int = 3) -> dict[str, Any]:
    return tag_api.get_resources(  # type: ignore[no-any-return]
        TagFilters=[{"Key": OWNER, "Values": [owner]}],
        ResourcesPerPage=per_page,
        PaginationToken=token,
    )


def arns(response: dict[str, Any]) -> list[str]:
    return [r["ResourceARN"].rsplit("/", 1)[1] for r in response["ResourceTagMappingList"]]


@pytest.fixture
def models(sandbox: Sandbox) -> Any:
    sm = client(sandbox)
    for i in range(10):
        make_model(sm, f"m{i}", Tags=[{"Key": OWNER, "Value": "me"}])
    return sm


def test_a_sweep_builds_one_snapshot_however_many_pages(
    sandbox: Sandbox, models: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    original = tagging._snapshot

    def counting(*args: Any) -> Any:
        built.append(1)
        return original(*args)

    monkeypatch.setattr(tagging, "_snapshot", counting)
    tag_api = client(sandbox, "resourcegroupstaggingapi")
    seen: list[str] = []
    paginator = tag_api.get_paginator("get_resources")
    for response in paginator.paginate(
        TagFilters=[{"Key": OWNER, "Values": ["me"]}], ResourcesPerPage=1
    ):
        seen.extend(arns(response))
    assert seen == [f"m{i}" for i in range(10)]
    assert len(built) == 1


def test_deletes_and_tag_changes_between_pages_are_seen(sandbox: Sandbox, models: Any) -> None:
    tag_api = client(sandbox, "resourcegroupstaggingapi")
    first = page(tag_api)
    assert arns(first) == ["m0", "m1", "m2"]
    models.delete_model(ModelName="m3")
    models.add_tags(
        ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:model/m4",
        Tags=[{"Key": OWNER, "Value": "someone-else"}],
    )
    models.add_tags(
        ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:model/m5",
        Tags=[{"Key": "team", "Value": "blue"}],
    )
    second = page(tag_api, first["PaginationToken"])
    assert arns(second) == ["m5", "m6", "m7"]
    assert {"Key": "team", "Value": "blue"} in second["ResourceTagMappingList"][0]["Tags"]
    third = page(tag_api, second["PaginationToken"])
    assert arns(third) == ["m8", "m9"]
    assert third["PaginationToken"] == ""


def test_a_token_used_with_other_filters_still_pages_correctly(
    sandbox: Sandbox, models: Any
) -> None:
    tag_api = client(sandbox, "resourcegroupstaggingapi")
    first = page(tag_api)
    # Same position, other query: the snapshot is not reused, the answer is still right.
    other = page(tag_api, first["PaginationToken"], owner="nobody")
    assert other["ResourceTagMappingList"] == []
    assert other["PaginationToken"] == ""


def test_bad_token_and_page_size(sandbox: Sandbox) -> None:
    tag_api = client(sandbox, "resourcegroupstaggingapi")
    code, _ = error_of(lambda: page(tag_api, "garbage!"))
    assert code == "InvalidParameterException"
    code, _ = error_of(lambda: page(tag_api, per_page=101))
    assert code == "InvalidParameterException"
