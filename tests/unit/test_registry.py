"""Model Registry: version ARNs and the rules for choosing a deployable version."""

from __future__ import annotations

import pytest
from builders import package, package_arn

from controller.aws.registry import choose
from controller.core.packages import PackageVersion, approval_note, parse_package_arn
from controller.errors import ResolutionError


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (package_arn("churn-xgb", 7), ("churn-xgb", 7)),
        (package_arn("a", 1), ("a", 1)),
        (package_arn("group-2024", 123), ("group-2024", 123)),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g/3", ("g", 3)),
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned-pkg", None),
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-xgb/latest", None),
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-xgb/", None),
        ("arn:aws:sagemaker:us-east-1:123456789012:model/churn-prod-primary-1", None),
        ("", None),
    ],
)
def test_parse_package_arn(arn: str, expected: tuple[str, int] | None) -> None:
    assert parse_package_arn(arn) == expected


def versions(*spec: tuple[int, str]) -> dict[int, PackageVersion]:
    return {n: package("churn-xgb", n, approval) for n, approval in spec}


def test_choose_returns_an_approved_version() -> None:
    found = choose(versions((6, "Approved"), (7, "Approved")), "churn-xgb", 7)
    assert (found.group, found.version, found.arn) == ("churn-xgb", 7, package_arn("churn-xgb", 7))
    assert found.approved


def test_missing_version_lists_the_latest_versions() -> None:
    listing = versions(*((n, "Approved") for n in range(1, 9)))
    with pytest.raises(ResolutionError) as caught:
        choose(listing, "churn-xgb", 42)
    message = str(caught.value)
    assert "'churn-xgb' has no version 42" in message
    assert "latest versions: 4, 5, 6, 7, 8" in message


def test_missing_version_in_an_empty_group() -> None:
    with pytest.raises(ResolutionError, match="latest versions: none"):
        choose({}, "churn-xgb", 1)


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_unapproved_version_is_refused(status: str) -> None:
    with pytest.raises(ResolutionError) as caught:
        choose(versions((7, status)), "churn-xgb", 7)
    assert status in str(caught.value)
    assert "not Approved" in str(caught.value)


class _When:
    def __init__(self, iso: str) -> None:
        self.iso = iso

    def date(self) -> _When:
        return self

    def isoformat(self) -> str:
        return self.iso


@pytest.mark.parametrize(
    ("detail", "note"),
    [
        (
            {
                "ModelApprovalStatus": "Approved",
                "LastModifiedTime": _When("2026-11-20"),
                "LastModifiedBy": {"UserProfileName": "alice"},
            },
            "Approved 2026-11-20 by alice",
        ),
        (
            {"ModelApprovalStatus": "Approved", "CreationTime": _When("2026-01-02")},
            "Approved 2026-01-02",
        ),
        ({"ModelApprovalStatus": "Approved"}, "Approved"),
        ({}, ""),
    ],
)
def test_approval_note(detail: dict[str, object], note: str) -> None:
    assert approval_note(detail) == note


class _ListingClient:
    """A SageMaker client stand-in whose listing can change between calls (at our boundary)."""

    class exceptions:  # mirrors boto3's client.exceptions
        class ResourceNotFound(Exception):
            pass

    def __init__(self, approvals: dict[int, str]) -> None:
        self.approvals = approvals
        self.listings = 0

    def get_paginator(self, name: str) -> _ListingClient:
        assert name == "list_model_packages"
        return self

    def paginate(self, **_: object) -> list[dict[str, object]]:
        self.listings += 1
        summaries = [
            {
                "ModelPackageVersion": v,
                "ModelApprovalStatus": a,
                "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:1:model-package/g/{v}",
            }
            for v, a in self.approvals.items()
        ]
        return [{"ModelPackageSummaryList": summaries}]


def test_a_stale_listing_is_refreshed_once_before_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    from controller.aws import registry as registry_mod

    client = _ListingClient({1: "Approved", 2: "PendingManualApproval"})
    cache = registry_mod.Registry()
    assert cache.resolve(client, "us-east-1", "g", 1).version == 1
    client.approvals[2] = "Approved"  # approved after the listing was cached
    monkeypatch.setattr(registry_mod, "RELIST_AFTER", 0.0)

    assert cache.resolve(client, "us-east-1", "g", 2).version == 2
    assert client.listings == 2


def test_a_fresh_listing_is_not_fetched_again_for_a_failing_version() -> None:
    from controller.aws.registry import Registry

    client = _ListingClient({1: "PendingManualApproval"})
    cache = Registry()
    for _ in range(3):
        with pytest.raises(ResolutionError):
            cache.resolve(client, "us-east-1", "g", 1)
    assert client.listings == 1


def test_a_version_approved_just_after_another_lookup_listed_is_seen_at_once() -> None:
    """`run --promote` may pin a version approved a second after a reconcile listed its group
    for another version: the first lookup of that version looks again, however fresh the
    listing (waiting for the next resync would hold the promotion for minutes)."""
    from controller.aws.registry import Registry

    client = _ListingClient({1: "Approved", 2: "PendingManualApproval"})
    cache = Registry()
    assert cache.resolve(client, "us-east-1", "g", 1).version == 1
    client.approvals[2] = "Approved"

    assert cache.resolve(client, "us-east-1", "g", 2).version == 2
    assert client.listings == 2
