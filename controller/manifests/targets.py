"""`kind: Target` manifests: where endpoints deploy (account, region, role to assume).

A target is declared once, in the same manifest tree as the endpoints (any file, any directory),
and endpoints select it by name with `spec.target`. Targets live in manifests rather than in a
separate config file so that one loader reports every problem with `file:line: path:` and the
service picks up a new target with the same git pull that brings the endpoints using it.
Limits come from the botocore STS and SageMaker models.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from controller.manifests import botocore_model as api
from controller.manifests.models import REGION_PATTERN, TARGET_NAME_PATTERN, Strict

ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
# An IAM role ARN (the STS model only says "printable, 20..2048"): the account is checked too.
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"

MIN_SESSION_SECONDS = 1800
RoleArn = Annotated[str, Field(pattern=ROLE_ARN_PATTERN, min_length=20, max_length=2048)]


class TargetMetadata(Strict):
    """Identity of the target."""

    name: str = Field(pattern=TARGET_NAME_PATTERN)
    """Target name, used by endpoints in spec.target (lower case, digits and '-', at most 63)."""
    labels: dict[str, str] = {}
    """Free-form labels (env, team, ...)."""

    @field_validator("name")
    @classmethod
    def _not_a_region(cls, name: str) -> str:
        # Endpoint keys are `<region or target>/<name>`: a target named like a region would be
        # mistaken for that region.
        if re.match(REGION_PATTERN, name):
            raise ValueError(f"target name {name!r} looks like a region; pick another name")
        # Metrics and /status label endpoints without spec.target as target="default": a target
        # of that name would merge its series with theirs.
        if name == "default":
            raise ValueError(
                "target name 'default' is reserved for endpoints without spec.target; "
                "pick another name"
            )
        return name


class TargetSpec(Strict):
    """The account and region a target deploys to, and how the controller gets there."""

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    """The 12-digit AWS account; every mutating call is refused unless the caller is in it."""
    region: str = Field(pattern=REGION_PATTERN)
    """AWS region of the target's endpoints and registry lookups."""
    role_arn: RoleArn | None = None
    """Role assumed for this target (apply, run); leave out to use the ambient credentials."""
    plan_role_arn: RoleArn | None = None
    """Read-only role assumed by `plan`, so a PR job can plan every account without write rights."""
    external_id: str | None = Field(
        default=None,
        pattern=api.pattern("externalIdType", "sts"),
        min_length=2,
        max_length=1224,
    )
    """ExternalId passed to AssumeRole when the role's trust policy requires one."""
    session_name: str = Field(
        default="sagemaker-gitops",
        pattern=api.pattern("roleSessionNameType", "sts"),
        min_length=2,
        max_length=64,
    )
    """RoleSessionName, visible in CloudTrail of the target account."""
    session_duration: int | None = Field(default=None, le=43200)
    """Seconds an assumed-role session lasts (AssumeRole DurationSeconds, 1800..43200); refreshed
    before it ends."""
    calls_per_second: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    """Client-side cap on AWS calls per second for this target (default: --calls-per-second)."""

    @field_validator("session_duration")
    @classmethod
    def _long_enough_to_refresh(cls, seconds: int | None) -> int | None:
        # AWS allows 900, but botocore renews assumed-role credentials 15 minutes before they
        # expire: a 900-second session would be renewed (AssumeRole) on every call.
        if seconds is not None and seconds < MIN_SESSION_SECONDS:
            raise ValueError(
                f"sessionDuration must be at least {MIN_SESSION_SECONDS} seconds: botocore renews "
                "assumed-role credentials 15 minutes before they expire"
            )
        return seconds

    @model_validator(mode="after")
    def _roles_in_account(self) -> TargetSpec:
        for field, arn in (("roleArn", self.role_arn), ("planRoleArn", self.plan_role_arn)):
            if arn is not None and arn.split(":")[4] != self.account_id:
                raise ValueError(
                    f"{field} {arn} is in account {arn.split(':')[4]}, "
                    f"not in the target's accountId {self.account_id}"
                )
        return self


class TargetManifest(Strict):
    """One target manifest document."""

    api_version: Literal["sagemaker-gitops/v1"]
    """Always sagemaker-gitops/v1."""
    kind: Literal["Target"]
    """Always Target."""
    metadata: TargetMetadata
    """Name and labels."""
    spec: TargetSpec
    """Account, region and role."""
