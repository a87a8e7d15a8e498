"""A stage's verdict on a model package version, as the Model Registry keeps it: reading it back.

`ModelLifeCycle` (Stage, StageStatus, StageDescription) says where the version last got to; one
`CustomerMetadataProperties` entry per stage (`sagemaker-gitops/stage/<stage>`) keeps every
stage's verdict, since ModelLifeCycle holds one stage at a time. `promote --stage` and `status`
read them here (DescribeModelPackage); `lifecycle` writes them (`verify --record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.aws import reading
from controller.core.tagging import MAX_VALUE, NOT_ALLOWED

KEY_PREFIX = "sagemaker-gitops/stage/"
STATUS = {"Successful": "Verified", "Failed": "Failed", "Inconclusive": "Inconclusive"}
"""StageStatus recorded for each final phase (an Error taught nothing and is not recorded)."""
VERIFYING = "Verifying"
"""StageStatus while `run --promote` measures a converged stage; `at` is when it converged,
from which every measurement's time follows (so another replica resumes it)."""


def stamp(when: datetime) -> str:
    """A UTC time as verdicts and measurements write it: `2026-12-05T12:00:00Z`."""
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Verdict:
    """What one stage recorded on a version."""

    stage: str
    status: str
    """Verified, Failed or Inconclusive."""
    at: str
    detail: str = ""

    @property
    def verified(self) -> bool:
        return self.status == "Verified"

    def time(self) -> datetime | None:
        """`at` as an aware datetime (None when it is not a time): `stamp`'s inverse."""
        try:
            return datetime.fromisoformat(self.at.replace("Z", "+00:00"))
        except ValueError:
            return None

    def value(self) -> str:
        text = NOT_ALLOWED.sub("_", f"{self.status} {self.at} {self.detail}".strip())
        return text[:MAX_VALUE]

    @classmethod
    def parse(cls, stage: str, value: str) -> Verdict:
        status, _, rest = value.partition(" ")
        at, _, detail = rest.partition(" ")
        return cls(stage, status, at, detail)


def verdicts(sagemaker: Any, package_arn: str) -> dict[str, Verdict]:
    """Every stage's verdict recorded on the version, by stage."""
    with reading.translated("DescribeModelPackage"):
        described = sagemaker.describe_model_package(ModelPackageName=package_arn)
    properties = described.get("CustomerMetadataProperties") or {}
    return {
        key.removeprefix(KEY_PREFIX): Verdict.parse(key.removeprefix(KEY_PREFIX), str(value))
        for key, value in properties.items()
        if key.startswith(KEY_PREFIX)
    }
