"""Which IAM action authorises each AWS API call, and whether a policy document grants it.

Used by the IAM policy tests: a static scan of the controller's boto3 calls and (later) the
sandbox's recorded calls are both checked against `iam/controller-policy.json`, so a new API call
without a matching grant fails in CI instead of with AccessDenied in someone's account.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import botocore.exceptions
import botocore.session
from botocore import xform_name

from controller.errors import ControllerError

# boto3 service name -> IAM service prefix, for the services the controller talks to. For these
# services every API operation is authorised by the IAM action of the same name.
IAM_PREFIXES = {
    "sagemaker": "sagemaker",
    "resourcegroupstaggingapi": "tag",
    "sts": "sts",
    "dynamodb": "dynamodb",
    "application-autoscaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
}


@functools.cache
def operation_names(service: str) -> Mapping[str, str]:
    """boto3 method name -> API operation name (``describe_endpoint`` -> ``DescribeEndpoint``).

    Taken from botocore's service model rather than guessed from the spelling, because
    snake_case does not round-trip (``list_tags`` is ``ListTags``, acronyms are not upper-cased).
    """
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@functools.cache
def waiter_operations(service: str) -> Mapping[str, str]:
    """boto3 waiter name -> the operation it polls (``endpoint_in_service`` -> DescribeEndpoint)."""
    session = botocore.session.get_session()
    try:
        model = session.get_waiter_model(service)
    except botocore.exceptions.UnknownServiceError:
        return {}  # botocore ships no waiters for this service
    return {xform_name(name): model.get_waiter(name).operation for name in model.waiter_names}


def operation_to_iam_action(service: str, operation: str) -> str:
    """``("sagemaker", "describe_endpoint")`` -> ``"sagemaker:DescribeEndpoint"``.

    `operation` may be the boto3 method name or the API operation name (as the sandbox records
    it). Unknown services or operations raise instead of guessing: a wrong guess would make the
    policy test pass for a call that AWS would refuse.
    """
    prefix = IAM_PREFIXES.get(service)
    if prefix is None:
        raise ControllerError(f"no IAM prefix known for AWS service {service!r}; add it here")
    names = operation_names(service)
    if operation in names:
        return f"{prefix}:{names[operation]}"
    if operation in names.values():
        return f"{prefix}:{operation}"
    raise ControllerError(f"AWS service {service!r} has no operation {operation!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The statements of an IAM policy document (a single statement may be a bare object)."""
    yield from _as_list(document.get("Statement", []))


def _matches(patterns: Any, action: str) -> bool:
    # IAM action names are case-insensitive; `*` and `?` are the only wildcards.
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in _as_list(patterns))


def grants(document: Mapping[str, Any], action: str) -> bool:
    """Whether some Allow statement names `action` and no Deny statement does.

    Resources and conditions are not evaluated: this answers "is the action in the policy at
    all", the question a missing grant would fail on; scoping is reviewed in docs/iam.md.
    """
    allowed = denied = False
    for statement in statements(document):
        if "Action" not in statement or not _matches(statement["Action"], action):
            continue
        if statement.get("Effect") == "Deny":
            denied = True
        elif statement.get("Effect") == "Allow":
            allowed = True
    return allowed and not denied
