"""Model Registry fixes on top of moto: lookup by `group/version`, faithful UpdateModelPackage.

moto stores versioned packages under ARNs like
`arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-xgb/3` (name lower-cased, as AWS
does). AWS's `VersionedArnOrName` also accepts `churn-xgb/3`; moto does not. moto's
UpdateModelPackage wipes ApprovalDescription and metadata that the call did not mention, which
would make an approval change look like an edit of other fields.
"""

from __future__ import annotations

import re
from typing import Any

from controller.sandbox.context import Context
from controller.sandbox.errors import validation_error

_VERSIONED = re.compile(r"(?:arn:[^:]+:sagemaker:[^:]*:\d{12}:model-package/)?([^/]+)/(\d+)")


def find_model_package(ctx: Context, name: str) -> Any | None:
    """The package named by ARN, `group/version` or unversioned name; None if none exists."""
    packages = ctx.backend.model_packages
    found = packages.get(name)
    if found is not None:
        return found
    match = _VERSIONED.fullmatch(name)
    if match:
        group, version = match.group(1), int(match.group(2))
        return packages.get(ctx.arn("model-package", f"{group.lower()}/{version}"))
    for package in packages.values():
        if package.model_package_version is None and package.model_package_name == name:
            return package
    return None


def _require(ctx: Context, name: str) -> Any:
    package = find_model_package(ctx, name)
    if package is None:
        raise validation_error(f"Model package {name} not found")
    return package


def describe_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeModelPackage, with LastModifiedTime present from creation on."""
    package = _require(ctx, params["ModelPackageName"])
    out: dict[str, Any] = package.gen_response_object()
    out.setdefault("LastModifiedTime", package.creation_time)
    return {k: v for k, v in out.items() if v is not None}


def update_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """UpdateModelPackage changing only the fields the call names."""
    package = _require(ctx, params["ModelPackageArn"])
    if "ModelApprovalStatus" in params:
        package.model_approval_status = params["ModelApprovalStatus"]
    if "ApprovalDescription" in params:
        package.approval_description = params["ApprovalDescription"]
    if "CustomerMetadataProperties" in params:
        merged = dict(package.customer_metadata_properties or {})
        merged.update(params["CustomerMetadataProperties"])
        package.customer_metadata_properties = merged
    for key in params.get("CustomerMetadataPropertiesToRemove", []):
        (package.customer_metadata_properties or {}).pop(key, None)
    if "AdditionalInferenceSpecificationsToAdd" in params:
        package.add_additional_inference_specifications(
            params["AdditionalInferenceSpecificationsToAdd"]
        )
    package.modifications_done()
    return {"ModelPackageArn": package.arn}


def package_environments(ctx: Context, name: str) -> list[dict[str, str]]:
    """The container environments inside a model package's InferenceSpecification."""
    package = find_model_package(ctx, name)
    if package is None:
        return []
    spec = package.inference_specification or {}
    return [c.get("Environment") or {} for c in spec.get("Containers", [])]
