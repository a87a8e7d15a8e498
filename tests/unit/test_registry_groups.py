"""An unknown model package group: "does not exist" with close names, listed only on the error
path and once per pass; an existing but empty group keeps saying "has no versions"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.aws.registry import Registry, empty_group_error
from controller.errors import ResolutionError

GROUPS = ["churn-xgb", "fraud-detector", "churn-lgbm", "empty-group"]


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("churn-xbg", "model package group 'churn-xbg' does not exist in us-east-1; did you mean "),
        ("fraud-detecter", "did you mean 'fraud-detector'?"),
        ("zzz", "model package group 'zzz' does not exist in us-east-1"),
        ("empty-group", "model package group 'empty-group' has no versions"),
    ],
)
def test_empty_group_error_tells_missing_from_empty(group: str, expected: str) -> None:
    assert expected in str(empty_group_error(group, "us-east-1", GROUPS))


def test_close_names_are_ranked_and_unrelated_names_left_out() -> None:
    message = str(empty_group_error("churn-xbg", "us-east-1", GROUPS))
    assert message.endswith("did you mean 'churn-xgb' or 'churn-lgbm'?")
    assert "fraud" not in message
    assert "did you mean" not in str(empty_group_error("zzz", "us-east-1", GROUPS))


def test_without_a_group_listing_the_message_says_both() -> None:
    message = str(empty_group_error("churn-xbg", "us-east-1", None))
    assert message == "model package group 'churn-xbg' does not exist or has no versions"


class _Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return self.pages


class FakeRegistryClient:
    """ListModelPackages answers an unknown group with no versions, as SageMaker does."""

    class exceptions:  # mirrors boto3's client.exceptions
        ResourceNotFound = type("ResourceNotFound", (Exception,), {})

    def __init__(self, groups: list[str], *, listing_fails: bool = False) -> None:
        self.groups = groups
        self.listing_fails = listing_fails
        self.calls: dict[str, int] = {}

    def get_paginator(self, name: str) -> _Pages:
        self.calls[name] = self.calls.get(name, 0) + 1
        if name == "list_model_packages":
            return _Pages([{"ModelPackageSummaryList": []}])
        if self.listing_fails:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}
            raise ClientError(error, "ListModelPackageGroups")  # type: ignore[arg-type]
        summaries = [{"ModelPackageGroupName": g} for g in self.groups]
        return _Pages(
            [
                {"ModelPackageGroupSummaryList": summaries[:2]},
                {"ModelPackageGroupSummaryList": summaries[2:]},
            ]
        )


def test_registry_lists_group_names_once_per_pass_and_only_on_the_error_path() -> None:
    client = FakeRegistryClient(GROUPS)
    registry = Registry()
    for group in ("churn-xbg", "fraud-detecter", "churn-xbg"):
        with pytest.raises(ResolutionError, match="does not exist in us-east-1; did you mean"):
            registry.resolve(client, "us-east-1", group, 1)
    assert client.calls["list_model_package_groups"] == 1
    registry.new_pass()
    with pytest.raises(ResolutionError, match="does not exist"):
        registry.resolve(client, "us-east-1", "churn-xbg", 1)
    assert client.calls["list_model_package_groups"] == 2


def test_a_denied_group_listing_falls_back_to_the_vaguer_message() -> None:
    client = FakeRegistryClient(GROUPS, listing_fails=True)
    with pytest.raises(ResolutionError, match="does not exist or has no versions"):
        Registry().resolve(client, "us-east-1", "churn-xbg", 1)
