"""Model Registry versions as plain data, and reading a version out of a model package ARN."""

from __future__ import annotations

from dataclasses import dataclass

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


def parse_package_arn(arn: str) -> tuple[str, int] | None:
    """(group, version) from `arn:...:model-package/<group>/<version>`; None when not versioned."""
    _, _, resource = arn.partition(":model-package/")
    group, _, version = resource.rpartition("/")
    return (group, int(version)) if group and version.isdigit() else None
