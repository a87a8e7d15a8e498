"""Writing a stage's verdict on a model package version into the Model Registry (`verify
--record`): its ModelLifeCycle and the stage's metadata entry (see `verdicts` for the format and
for reading them back).

Kept apart from `verdicts` because it is a write: `promotion` may read verdicts, never record
them (an import-linter contract), so only the command edge changes the registry. IAM condition
keys `sagemaker:ModelLifeCycle:stage` / `:stageStatus` let AWS itself decide who may record a
verdict for which stage (docs/stages.md).
"""

from __future__ import annotations

from typing import Any

from controller.aws import reading
from controller.aws.stages.verdicts import KEY_PREFIX, Verdict

MAX_DESCRIPTION = 1024


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
