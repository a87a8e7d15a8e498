"""Tags on SageMaker resources, and the Resource Groups Tagging API's GetResources.

The controller finds everything it owns with one GetResources call filtered on its
`sagemaker-gitops/managed-by` tag, so this must be exact: moto 5.2.5 reports endpoint-config
ARNs as a stringified tuple, pages with server-side generators that break when a resource is
deleted between pages, and its SageMaker AddTags appends a second value for an existing key
(and answers 500 for a missing resource). Pages here are cut from a list sorted by ARN, after
the last ARN served, so deleting resources while paging is safe.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable
from typing import Any

from moto.core.resource_tagging import make_tag_matcher
from moto.resourcegroupstaggingapi.models import resourcegroupstaggingapi_backends

from controller.sandbox.components.handlers import RESOURCE_TYPE as COMPONENT
from controller.sandbox.components.handlers import tagged_components
from controller.sandbox.context import Context
from controller.sandbox.errors import ApiError, validation_error
from controller.sandbox.snapshots import Snapshot

_COLLECTIONS = {
    "model": "_models",
    "endpoint": "endpoints",
    "endpoint-config": "endpoint_configs",
    "model-package-group": "model_package_groups",
}


def _kind_and_name(arn: str) -> tuple[str, str]:
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    return kind, name


def _handled(arn: str) -> bool:
    """Resource types whose tags the sandbox keeps right; others are left to moto."""
    kind, _ = _kind_and_name(arn)
    return kind in _COLLECTIONS or kind in {"model-package", COMPONENT}


def _resource(ctx: Context, arn: str) -> Any | None:
    """The moto object a SageMaker ARN names, or None if it does not exist."""
    kind, name = _kind_and_name(arn)
    if kind == "model-package":
        return ctx.backend.model_packages.get(arn)
    if kind == "endpoint":
        return ctx.state.endpoints.settle(ctx.backend, name)
    if kind == COMPONENT:
        return ctx.state.components.get(arn)
    return getattr(ctx.backend, _COLLECTIONS[kind]).get(name)


def _tagged(ctx: Context, arn: str) -> Any:
    resource = _resource(ctx, arn)
    if resource is None:
        raise validation_error(f'Could not find resource "{arn}".')
    if resource.tags is None:
        resource.tags = []
    return resource


def add_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """AddTags: a key that exists gets the new value, as in AWS (moto appends a duplicate)."""
    if not _handled(params["ResourceArn"]):
        return None
    resource = _tagged(ctx, params["ResourceArn"])
    merged = {t["Key"]: t.get("Value", "") for t in resource.tags}
    merged.update({t["Key"]: t.get("Value", "") for t in params["Tags"]})
    resource.tags = [{"Key": k, "Value": v} for k, v in merged.items()]
    return {"Tags": resource.tags}


def delete_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    if not _handled(params["ResourceArn"]):
        return None
    resource = _tagged(ctx, params["ResourceArn"])
    keys = set(params["TagKeys"])
    resource.tags = [t for t in resource.tags if t["Key"] not in keys]
    return {}


def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    if not _handled(params["ResourceArn"]):
        return None
    resource = _tagged(ctx, params["ResourceArn"])
    start = _offset(params.get("NextToken"))
    size = params.get("MaxResults") or len(resource.tags) or 1
    page = resource.tags[start : start + size]
    out: dict[str, Any] = {"Tags": page}
    if start + size < len(resource.tags):
        out["NextToken"] = str(start + size)
    return out


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise validation_error(f"Invalid NextToken: {token}")
    return int(token)


def get_resources(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """GetResources over every moto service, SageMaker included, sorted and paged by ARN.

    The first page builds the sorted matches once (see `snapshots`); later pages slice that
    snapshot and re-check each SageMaker resource on the page (still there, tags now), so a
    sweep costs O(N) in total while deletes and tag changes between pages are still seen.
    """
    per_page = params.get("ResourcesPerPage", 50)
    if not 1 <= per_page <= 100:
        raise ApiError("InvalidParameterException", "ResourcesPerPage must be between 1 and 100")
    query = _query(ctx, params)
    ident, after = _decode(params.get("PaginationToken"))
    snapshot = ctx.state.snapshots.get(ident, query) if ident else None
    if snapshot is None:
        snapshot = _snapshot(ctx, params, query)
        ident = ctx.state.snapshots.add(snapshot)
    start = bisect.bisect_right(snapshot.keys, after)
    matcher = make_tag_matcher(params.get("TagFilters") or None)
    page: list[dict[str, Any]] = []
    index = start
    while index < len(snapshot.keys) and len(page) < per_page:
        current = _current(ctx, snapshot.keys[index], snapshot.items[index], matcher)
        if current is not None:
            page.append(current)
        index += 1
    if index >= len(snapshot.keys):
        ctx.state.snapshots.drop(ident)
        return {"ResourceTagMappingList": page, "PaginationToken": ""}
    return {
        "ResourceTagMappingList": page,
        "PaginationToken": _encode(ident, snapshot.keys[index - 1]),
    }


def _query(ctx: Context, params: dict[str, Any]) -> tuple[Any, ...]:
    """What a token is bound to: caller, region and filters (a token is not portable)."""
    filters = json.dumps(
        [params.get(k) for k in ("TagFilters", "ResourceTypeFilters", "ResourceARNList")],
        sort_keys=True,
    )
    return (ctx.account, ctx.region, filters)


def _snapshot(ctx: Context, params: dict[str, Any], query: tuple[Any, ...]) -> Snapshot:
    ctx.state.endpoints.settle_all()
    backend = resourcegroupstaggingapi_backends[ctx.account][ctx.region]
    found = backend._get_resources_generator(
        tag_filters=params.get("TagFilters") or None,
        resource_type_filters=params.get("ResourceTypeFilters") or None,
        resource_arn_list=params.get("ResourceARNList") or None,
    )
    found_arns = [(_arn(r.arn), dict(r.tags)) for r in found] + tagged_components(ctx, params)
    resources = sorted(found_arns, key=lambda item: item[0])
    return Snapshot(query, [arn for arn, _ in resources], [tags for _, tags in resources])


def _current(
    ctx: Context, arn: str, tags: dict[str, str], matcher: Callable[[dict[str, str]], bool]
) -> dict[str, Any] | None:
    """A snapshot entry as of now: None if the resource is gone or no longer matches."""
    if arn.split(":")[2:3] == ["sagemaker"] and _handled(arn):
        resource = _resource(ctx, arn)
        if resource is None:
            return None
        tags = {t["Key"]: t.get("Value", "") for t in resource.tags or []}
        if not matcher(tags):
            return None
    return {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _arn(value: Any) -> str:
    """moto keeps some ARNs in a one-element tuple (endpoint configs in 5.2.5)."""
    if isinstance(value, (tuple, list)):
        return str(value[0])
    return str(value)


def _encode(ident: int, arn: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([ident, arn]).encode()).decode()


def _decode(token: str | None) -> tuple[int, str]:
    """(snapshot id, last ARN served); (0, "") for the first page."""
    if not token:
        return 0, ""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as error:
        raise ApiError("InvalidParameterException", "Invalid PaginationToken") from error
    valid = isinstance(value, list) and len(value) == 2
    if not valid or not isinstance(value[0], int) or not isinstance(value[1], str):
        raise ApiError("InvalidParameterException", "Invalid PaginationToken")
    return value[0], value[1]
