"""Cross-account access to model package groups through their resource policy.

AWS's multi-account MLOps layout keeps the Model Registry in one account and deploys from
others: the registry account attaches a resource policy to a group (PutModelPackageGroupPolicy)
and other accounts then read it by ARN. moto keys state by account but has no such policies
and resolves every ARN in the caller's own account. Here a caller from another account is let
through only when a statement of the group's policy allows its account (or its role) the
action on the resource, and no statement denies it; otherwise the answer is the
AccessDeniedException IAM gives. Conditions are not evaluated (a statement with a Condition
never matches), which errs on the side of refusing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from controller.sandbox.errors import ApiError, validation_error

SHARE_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)
"""What a seed's `shareWith` grants: reading the group and deploying its versions."""

_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):sagemaker:(?P<region>[^:]+):(?P<account>\d{12}):"
    r"(?P<kind>model-package-group|model-package)/(?P<path>.+)"
)


@dataclass(frozen=True)
class RegistryArn:
    """A model package group or version ARN, split into its parts."""

    partition: str
    region: str
    account: str
    kind: str
    group: str
    version: int | None

    @property
    def group_arn(self) -> str:
        return (
            f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:"
            f"model-package-group/{self.group}"
        )


def parse_arn(value: str) -> RegistryArn | None:
    """The parts of a group ARN or a versioned package ARN; None for anything else."""
    match = _ARN.fullmatch(value)
    if match is None:
        return None
    group, _, version = match["path"].partition("/")
    if match["kind"] == "model-package" and not version.isdigit():
        return None
    if match["kind"] == "model-package-group" and version:
        return None
    return RegistryArn(
        match["partition"],
        match["region"],
        match["account"],
        match["kind"],
        group,
        int(version) if version else None,
    )


@dataclass(frozen=True)
class Caller:
    """Who makes a request: its account and, for assumed-role credentials, the role ARN."""

    account: str
    role_arn: str | None
    arn: str


def caller(account: str, region: str, access_key: str | None) -> Caller:
    """The caller of a request signed with `access_key` (moto's record of AssumeRole)."""
    backend = sts_backends[account][get_partition(region)]
    role = backend.get_assumed_role_from_access_key(access_key or "")
    if role is not None:
        return Caller(account, role.role_arn, role.arn)
    return Caller(account, None, f"arn:{get_partition(region)}:iam::{account}:root")


def share_policy(group_arn: str, accounts: list[str]) -> str:
    """The resource policy a seed's `shareWith` attaches: read and deploy, for each account."""
    partition = group_arn.split(":")[1]
    package_arns = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    statement = {
        "Sid": "ShareWithAccounts",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in accounts]},
        "Action": list(SHARE_ACTIONS),
        "Resource": [group_arn, package_arns],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def check_policy_document(text: str) -> None:
    """A resource policy must be a JSON policy document with a Statement."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise validation_error(f"ResourcePolicy is not valid JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise validation_error("ResourcePolicy must be a policy document with a Statement.")


def require_access(policy: str | None, who: Caller, action: str, resource: str) -> None:
    """AccessDeniedException unless the policy allows `who` the action and none denies it."""
    statements = _statements(policy)
    applicable = [s for s in statements if _applies(s, who, action, resource)]
    if any(s.get("Effect") == "Allow" for s in applicable) and not any(
        s.get("Effect") == "Deny" for s in applicable
    ):
        return
    reason = (
        "with an explicit deny in a resource-based policy"
        if any(s.get("Effect") == "Deny" for s in applicable)
        else f"because no resource-based policy allows the {action} action"
    )
    raise ApiError(
        "AccessDeniedException",
        f"User: {who.arn} is not authorized to perform: {action} on resource: {resource} {reason}",
        400,
    )


def _statements(policy: str | None) -> list[dict[str, Any]]:
    if not policy:
        return []
    statements = json.loads(policy).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)]


def _applies(statement: dict[str, Any], who: Caller, action: str, resource: str) -> bool:
    if "Condition" in statement:
        return False
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return (
        _principal_matches(statement.get("Principal"), who)
        and any(fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatchcase(resource, r) for r in resources)
    )


def _principal_matches(principal: Any, who: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for entry in _as_list(principal.get("AWS")):
        if entry in ("*", who.account) or entry.endswith(f":iam::{who.account}:root"):
            return True
        if who.role_arn is not None and entry == who.role_arn:
            return True
    return False


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
