"""Filling the Model Registry from a seed (`--seed FILE`, `Sandbox.seed_registry`).

Demos and tests need approved and pending versions in the registry before the controller runs.
A seed is YAML (or the same shape as a dict):

    modelPackageGroups:
      - name: churn-xgb
        description: optional
        versions:                       # become versions 1, 2, ... in this order
          - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1
            modelDataUrl: s3://models/churn/1/model.tar.gz
            approval: Approved          # Approved | PendingManualApproval | Rejected
            environment: {}             # optional
            traffic: {error5xxRate: 0.2} # optional: the invocation metrics it shows when served
        account: "111111111111"         # optional: the account that owns the group
        shareWith: ["222222222222"]     # optional: accounts its resource policy lets read it

The whole seed is checked (shape, then SageMaker's own constraints) before anything is created,
so a bad file changes nothing; errors name the file and the field. Without `account`, a group
lives in the sandbox's default account (moto's 123456789012), as before accounts existed.
Seeding talks to moto in-process rather than over HTTP so it does not show up in the API call
counts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from controller.sandbox.cloudwatch.traffic import Profile
from controller.sandbox.context import Context
from controller.sandbox.errors import ApiError, SeedError
from controller.sandbox.hosting.validation import validate_input
from controller.sandbox.registry.sharing import share_policy


class SeedVersion(BaseModel):
    """One model package version."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, description="Inference container image URI.")
    modelDataUrl: str = Field(min_length=1, description="S3 URI of the model artifact.")
    approval: Literal["Approved", "PendingManualApproval", "Rejected"]
    environment: dict[str, str] = Field(default_factory=dict)
    traffic: dict[str, Any] | None = Field(
        default=None,
        description="Invocation profile of this version's synthesised CloudWatch metrics "
        "(see cloudwatch/traffic.py); the default profile when unset.",
    )


AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
"""A 12-digit AWS account ID (quoted in YAML, or it would be read as a number)."""


class SeedGroup(BaseModel):
    """A model package group and its versions, in version order."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    versions: list[SeedVersion] = Field(default_factory=list)
    account: AccountId | None = Field(
        default=None, description="Owning account; the sandbox's default account if unset."
    )
    shareWith: list[AccountId] = Field(
        default_factory=list,
        description="Accounts the group's resource policy lets read it and deploy its versions.",
    )


class Seed(BaseModel):
    """A whole seed file."""

    model_config = ConfigDict(extra="forbid")

    modelPackageGroups: list[SeedGroup] = Field(default_factory=list)


def load_seed(source: Path | str | dict[str, Any]) -> tuple[Seed, str]:
    """Parse and check a seed; returns it with the name errors should use for it."""
    if isinstance(source, dict):
        return _parse(source, "<seed>"), "<seed>"
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(f"{path}: cannot read seed file: {error.strerror or error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SeedError(f"{where}: invalid YAML: {error}") from error
    return _parse(data if data is not None else {}, str(path)), str(path)


def _parse(data: Any, name: str) -> Seed:
    if not isinstance(data, dict):
        raise SeedError(f"{name}: a seed must be a mapping with a modelPackageGroups list")
    try:
        return Seed.model_validate(data)
    except ValidationError as error:
        problems = [f"{name}: {_location(e['loc'])}: {e['msg']}" for e in error.errors()]
        raise SeedError("\n".join(problems)) from error


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _group_request(group: SeedGroup) -> dict[str, Any]:
    request: dict[str, Any] = {"ModelPackageGroupName": group.name}
    if group.description is not None:
        request["ModelPackageGroupDescription"] = group.description
    return request


def _version_request(group: SeedGroup, version: SeedVersion) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": version.image, "ModelDataUrl": version.modelDataUrl}
    if version.environment:
        container["Environment"] = dict(version.environment)
    return {
        "ModelPackageGroupName": group.name,
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": version.approval,
    }


def check_seed(seed: Seed, name: str) -> None:
    """SageMaker's constraints (name pattern, URI lengths, ...) on every request a seed makes."""
    for g, group in enumerate(seed.modelPackageGroups):
        where = f"modelPackageGroups[{g}]"
        _check(name, f"{where}.name", "CreateModelPackageGroup", _group_request(group))
        for v, version in enumerate(group.versions):
            request = _version_request(group, version)
            _check(name, f"{where}.versions[{v}]", "CreateModelPackage", request)
            if version.traffic is not None:
                try:
                    Profile.parse(version.traffic, f"{where}.versions[{v}].traffic")
                except ValueError as error:
                    raise SeedError(f"{name}: {error}") from error


def _check(name: str, where: str, operation: str, request: dict[str, Any]) -> None:
    try:
        validate_input(operation, request)
    except ApiError as error:
        raise SeedError(f"{name}: {where}: {error.message}") from error


def apply_seed(context_for: Callable[[str | None], Context], seed: Seed) -> list[str]:
    """Create the groups (unless they exist) and append their versions; returns version ARNs.

    `context_for(account)` gives the context a group is created in (None: the default account).
    """
    arns: list[str] = []
    for group in seed.modelPackageGroups:
        ctx = context_for(group.account)
        backend = ctx.backend
        if group.name not in backend.model_package_groups:
            backend.create_model_package_group(
                model_package_group_name=group.name,
                model_package_group_description=group.description,
                tags=[],
            )
        if group.shareWith:
            arn = backend.model_package_groups[group.name].arn
            ctx.state.group_policies[arn.lower()] = share_policy(arn, group.shareWith)
        for version in group.versions:
            arn = _create_version(backend, group, version)
            if version.traffic is not None:
                profile = Profile.parse(version.traffic, arn)
                ctx.state.traffic.versions[arn.lower()] = profile
            arns.append(arn)
    return arns


def _create_version(backend: Any, group: SeedGroup, version: SeedVersion) -> str:
    request = _version_request(group, version)
    arn: str = backend.create_model_package(
        model_package_name=None,
        model_package_group_name=group.name,
        model_package_description=None,
        inference_specification=request["InferenceSpecification"],
        validation_specification=None,
        source_algorithm_specification=None,
        certify_for_marketplace=False,
        tags=None,
        model_approval_status=version.approval,
        metadata_properties=None,
        model_metrics=None,
        client_token=None,
        customer_metadata_properties=None,
        drift_check_baselines=None,
        domain=None,
        task=None,
        sample_payload_url=None,
        additional_inference_specifications=None,
    )
    return arn
