"""A stage's verdict on a model package version, kept on the version in the Model Registry.

State lives where users look and where a new replica or a CI job finds it, never on local disk:
`ModelLifeCycle` (Stage, StageStatus, StageDescription) says where the version last got to, and
one `CustomerMetadataProperties` entry per stage (`sagemaker-gitops/stage/<stage>`) keeps every
stage's verdict, since ModelLifeCycle holds one stage at a time. `promote --stage` reads the
upstream stage's entry before it moves a version on.

IAM condition keys `sagemaker:ModelLifeCycle:stage` / `:stageStatus` let AWS itself decide who may
record a verdict for which stage (docs/stages.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from controller.aws import reading

KEY_PREFIX = "sagemaker-gitops/stage/"
MAX_VALUE = 256
MAX_DESCRIPTION = 1024
_NOT_ALLOWED = re.compile(r"[^\w .:/=+\-@]")
"""CustomerMetadataValue allows letters, numbers, spaces and _.:/=+-@ only."""
STATUS = {"Successful": "Verified", "Failed": "Failed", "Inconclusive": "Inconclusive"}
"""StageStatus recorded for each final phase (an Error taught nothing and is not recorded)."""


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

    def value(self) -> str:
        text = _NOT_ALLOWED.sub("_", f"{self.status} {self.at} {self.detail}".strip())
        return text[:MAX_VALUE]

    @classmethod
    def parse(cls, stage: str, value: str) -> Verdict:
        status, _, rest = value.partition(" ")
        at, _, detail = rest.partition(" ")
        return cls(stage, status, at, detail)


def record(sagemaker: Any, package_arn: str, verdict: Verdict, description: str) -> None:
    """Write the verdict on the version: its lifecycle stage and the stage's metadata entry."""
    with reading.translated("UpdateModelPackage"):
        sagemaker.update_model_package(
            ModelPackageArn=package_arn,
            ModelLifeCycle={
                "Stage": verdict.stage,
                "StageStatus": verdict.status,
                "StageDescription": description[:MAX_DESCRIPTION],
            },
            CustomerMetadataProperties={KEY_PREFIX + verdict.stage: verdict.value()},
        )


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
