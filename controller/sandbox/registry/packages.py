"""Model Registry fixes on top of moto: lookup by `group/version`, faithful UpdateModelPackage.

moto stores versioned packages under ARNs like
`arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-xgb/3` (name lower-cased, as AWS
does). AWS's `VersionedArnOrName` also accepts `churn-xgb/3`; moto does not. moto's
UpdateModelPackage wipes ApprovalDescription and metadata that the call did not mention, which
would make an approval change look like an edit of other fields.

Cross-account reads (see `sharing`): a version or group ARN of another account resolves in
that account's backend when the group's resource policy allows the caller, so a deploy account
can list, describe and build Models from a registry account's versions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from controller.sandbox.context import Context, Handler
from controller.sandbox.errors import ApiError, validation_error
from controller.sandbox.registry.sharing import (
    RegistryArn,
    caller,
    check_policy_document,
    parse_arn,
    require_access,
)

DESCRIBE_PACKAGE = "sagemaker:DescribeModelPackage"
UPDATE_PACKAGE = "sagemaker:UpdateModelPackage"

_VERSIONED = re.compile(r"(?:arn:[^:]+:sagemaker:[^:]*:\d{12}:model-package/)?([^/]+)/(\d+)")


def find_model_package(ctx: Context, name: str, action: str = DESCRIBE_PACKAGE) -> Any | None:
    """The package named by ARN, `group/version` or unversioned name; None if none exists.

    A version ARN of another account is looked up there, after its group's resource policy
    allowed the caller `action` (AccessDeniedException otherwise).
    """
    arn = parse_arn(name)
    if arn is not None and arn.version is not None and arn.account != ctx.account:
        owner = shared(ctx, arn, action, name)
        return owner.backend.model_packages.get(
            owner.arn("model-package", f"{arn.group.lower()}/{arn.version}")
        )
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
    life_cycle = ctx.state.life_cycles.get(package.arn.lower())
    if life_cycle is not None:  # moto does not keep ModelLifeCycle
        out["ModelLifeCycle"] = dict(life_cycle)
    return {k: v for k, v in out.items() if v is not None}


def update_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """UpdateModelPackage changing only the fields the call names. Another account's version
    is updated when its group's resource policy allows the caller sagemaker:UpdateModelPackage."""
    package = find_model_package(ctx, params["ModelPackageArn"], UPDATE_PACKAGE)
    if package is None:
        raise validation_error(f"Model package {params['ModelPackageArn']} not found")
    if "ModelLifeCycle" in params:
        ctx.state.life_cycles[package.arn.lower()] = dict(params["ModelLifeCycle"])
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
    try:
        package = find_model_package(ctx, name)
    except ApiError:  # sharing revoked since the Model was created: nothing to inspect
        return []
    if package is None:
        return []
    spec = package.inference_specification or {}
    return [c.get("Environment") or {} for c in spec.get("Containers", [])]


def shared(ctx: Context, arn: RegistryArn, action: str, resource: str) -> Context:
    """The owner account's context, once the group's policy allowed the caller `action`."""
    policy = ctx.state.group_policies.get(arn.group_arn.lower())
    require_access(policy, caller(ctx.account, ctx.region, ctx.access_key), action, resource)
    return Context(ctx.state, arn.account, arn.region, ctx.access_key)


def _cross_account(ctx: Context, name: str | None) -> RegistryArn | None:
    """The group ARN `name`, when it names another account's group."""
    arn = parse_arn(name or "")
    if arn is None or arn.kind != "model-package-group" or arn.account == ctx.account:
        return None
    return arn


def _group(ctx: Context, name: str) -> Any:
    group = _find_group(ctx, name)
    if group is None:
        arn = ctx.arn("model-package-group", name)
        raise validation_error(f"ModelPackageGroup {arn} does not exist.")
    return group


def _find_group(ctx: Context, name: str) -> Any | None:
    groups = ctx.backend.model_package_groups
    if name in groups:
        return groups[name]
    # Version ARNs carry the group name lower-cased, as AWS writes them.
    return next((g for n, g in groups.items() if n.lower() == name.lower()), None)


def list_model_packages(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """ListModelPackages by another account's group ARN; own groups are left to moto."""
    arn = _cross_account(ctx, params.get("ModelPackageGroupName"))
    if arn is None:
        return None
    owner = shared(ctx, arn, "sagemaker:ListModelPackages", arn.group_arn)
    group = _group(owner, arn.group)
    packages, token = owner.backend.list_model_packages(
        creation_time_after=_time(params.get("CreationTimeAfter")),
        creation_time_before=_time(params.get("CreationTimeBefore")),
        name_contains=params.get("NameContains"),
        model_approval_status=params.get("ModelApprovalStatus"),
        model_package_group_name=group.model_package_group_name,
        model_package_type=params.get("ModelPackageType"),
        sort_by=params.get("SortBy"),
        sort_order=params.get("SortOrder"),
        next_token=params.get("NextToken"),
        max_results=params.get("MaxResults"),
    )
    out: dict[str, Any] = {"ModelPackageSummaryList": [_summary(p) for p in packages]}
    if token:
        out["NextToken"] = token
    return out


_SUMMARY_FIELDS = (
    "ModelPackageName",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "ModelPackageStatus",
    "ModelApprovalStatus",
)


def _summary(package: Any) -> dict[str, Any]:
    full = package.gen_response_object()
    return {k: full[k] for k in _SUMMARY_FIELDS if full.get(k) is not None}


def _time(value: Any) -> datetime | None:
    """A request timestamp (epoch seconds) as moto's naive UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), tz=UTC).replace(tzinfo=None)


def describe_model_package_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeModelPackageGroup by another account's group ARN; own groups go to moto."""
    arn = _cross_account(ctx, params.get("ModelPackageGroupName"))
    if arn is None:
        return None
    owner = shared(ctx, arn, "sagemaker:DescribeModelPackageGroup", arn.group_arn)
    out: dict[str, Any] = _group(owner, arn.group).gen_response_object()
    return {k: v for k, v in out.items() if v is not None}


def put_group_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """PutModelPackageGroupPolicy: the owner attaches (or replaces) the group's policy."""
    group = _group(ctx, params["ModelPackageGroupName"])
    check_policy_document(params["ResourcePolicy"])
    ctx.state.group_policies[group.arn.lower()] = params["ResourcePolicy"]
    return {"ModelPackageGroupArn": group.arn}


def get_group_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    group = _group(ctx, params["ModelPackageGroupName"])
    policy = ctx.state.group_policies.get(group.arn.lower())
    if policy is None:
        raise validation_error(f"Cannot find resource policy for {group.arn}.")
    return {"ResourcePolicy": policy}


def delete_group_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    group = _group(ctx, params["ModelPackageGroupName"])
    if ctx.state.group_policies.pop(group.arn.lower(), None) is None:
        raise validation_error(f"Cannot find resource policy for {group.arn}.")
    return {}


SHARING: dict[str, Handler] = {
    "ListModelPackages": list_model_packages,
    "DescribeModelPackageGroup": describe_model_package_group,
    "PutModelPackageGroupPolicy": put_group_policy,
    "GetModelPackageGroupPolicy": get_group_policy,
    "DeleteModelPackageGroupPolicy": delete_group_policy,
}
"""SageMaker operations the sandbox answers for cross-account registry use (see `app`)."""
