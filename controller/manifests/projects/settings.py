"""The shape of ``targets:`` and ``projects:`` in ``.sagemaker-gitops.yaml``.

Every glob is checked when the file loads, so a typo in a restriction is an error with file, line
and path, never a pattern that silently matches nothing (or everything).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from controller.manifests.base import Strict
from controller.manifests.models import REGION_PATTERN, TARGET_NAME_PATTERN, InstanceType
from controller.manifests.projects import globs

PROJECT_NAME_PATTERN = TARGET_NAME_PATTERN


def _path_glob(pattern: str) -> str:
    problem = globs.path_problem(pattern)
    if problem is not None:
        raise ValueError(problem)
    return pattern


def _name_glob(allowed: str) -> AfterValidator:
    def check(pattern: str) -> str:
        problem = globs.name_problem(pattern, allowed)
        if problem is not None:
            raise ValueError(problem)
        return pattern

    return AfterValidator(check)


PathGlob = Annotated[str, AfterValidator(_path_glob)]
TargetGlob = Annotated[str, Field(max_length=63), _name_glob("a-z0-9-")]
InstanceTypeGlob = Annotated[str, Field(max_length=64), _name_glob("a-z0-9.")]
PathGlobs = Annotated[list[PathGlob], Field(min_length=1, max_length=100)]


class TargetsSettings(Strict):
    """Where `kind: Target` documents may be declared."""

    paths: PathGlobs
    """Path globs (relative to the manifest root) of the only files that may declare a
    `kind: Target`; with `projects`, a Target anywhere else is an error and is never used."""


class Project(Strict):
    """One team's manifests and what they may deploy."""

    name: str = Field(pattern=PROJECT_NAME_PATTERN)
    """Project name (lower case, digits and '-'), shown in plans and status."""
    paths: PathGlobs
    """Path globs (relative to the manifest root) of this project's manifest files."""
    targets: list[TargetGlob] = Field(default=[], max_length=100)
    """Targets (names or globs) its endpoints may use; empty: none, only `regions`."""
    regions: list[Annotated[str, Field(pattern=REGION_PATTERN)]] = Field(default=[], max_length=50)
    """Regions its endpoints without `spec.target` may name in `spec.region`; such an endpoint
    must name one (the default region depends on where a command runs, so it proves nothing).
    Empty: every endpoint needs a target."""
    instance_types: list[InstanceTypeGlob] | None = Field(default=None, max_length=100)
    """Instance types (globs, e.g. ml.g5.*) its variants may use; leave out to allow every type."""
    max_instances_per_variant: int | None = Field(default=None, ge=1, le=10000)
    """Most instances a variant may ask for: initial count, autoscaling and managed
    instance scaling maxima."""
    max_endpoints: int | None = Field(default=None, ge=0, le=100000)
    """Most endpoints the project may declare; past it, every endpoint of the project is refused
    (which ones to keep is not the controller's choice)."""
    prune: bool = True
    """Whether `--prune` may delete this project's endpoints whose manifests were removed."""
    name_prefix: str | None = Field(default=None, min_length=1, max_length=63)
    """Endpoint names the project may use start with this (compared case-insensitively, as
    SageMaker compares endpoint names)."""
    max_hourly_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Most the project's endpoints may cost per hour together, each variant at the most
    instances it may reach, at the prices of `prices.hourly`; past it, every endpoint of the
    project is refused."""


class Prices(Strict):
    """The price table cost guards and plans use: kept in the repository, no network."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    """ISO 4217 code the prices are in, shown in plans."""
    hourly: dict[InstanceType, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        min_length=1, max_length=2000
    )
    """Instance type -> price per instance-hour (e.g. ml.m5.large: 0.115); update it from the
    AWS price list as prices change."""
