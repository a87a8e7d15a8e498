"""Model Registry versions as plain data, and reading a version out of a model package ARN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APPROVED = "Approved"


@dataclass(frozen=True)
class PackageVersion:
    """One registry version as the controller needs it."""

    group: str
    version: int
    arn: str
    approval: str
    created: str = ""  # ISO date of creation, for reviewers

    @property
    def approved(self) -> bool:
        return self.approval == APPROVED

    @property
    def display(self) -> str:
        """`churn v7`, or `churn v7 (registry 111111111111)` for a group named by ARN."""
        account = account_of(self.group)
        shown = f"{group_name(self.group)} v{self.version}"
        return f"{shown} (registry {account})" if account else shown


def account_of(arn: str) -> str:
    """The account of an ARN (`arn:aws:sagemaker:region:account:...`); "" for a plain name."""
    parts = arn.split(":")
    return parts[4] if arn.startswith("arn:") and len(parts) > 5 else ""


def group_name(group: str) -> str:
    """The group's name, whether `group` is a name or a model package group ARN."""
    return group.rpartition(":model-package-group/")[2] if group.startswith("arn:") else group


def group_arn(package_arn: str) -> str:
    """The group ARN of a versioned package ARN (`...:model-package/<group>/<n>`)."""
    prefix, _, resource = package_arn.partition(":model-package/")
    return f"{prefix}:model-package-group/{resource.rpartition('/')[0]}"


def parse_package_arn(arn: str) -> tuple[str, int] | None:
    """(group, version) from `arn:...:model-package/<group>/<version>`; None when not versioned."""
    _, _, resource = arn.partition(":model-package/")
    group, _, version = resource.rpartition("/")
    return (group, int(version)) if group and version.isdigit() else None


def approval_note(detail: dict[str, Any]) -> str:
    """A reviewer note such as `Approved 2026-11-20 by alice`, from DescribeModelPackage."""
    status = detail.get("ModelApprovalStatus", "")
    when: Any = detail.get("LastModifiedTime") or detail.get("CreationTime")
    date = when.date().isoformat() if hasattr(when, "date") else ""
    who = (detail.get("LastModifiedBy") or {}).get("UserProfileName", "")
    return " ".join(p for p in (status, date, f"by {who}" if who else "") if p)
