"""What an endpoint served before its current config: the registry versions of the config the
rollback history names first.

The history is the `sagemaker-gitops/history` tag (configs that were live before the current one,
newest first; see `core/endpoint/history.py`). `rollback` reads the previous config's variants and
their Models' model package ARNs, and hands the versions to `promote`'s writer: the revert is a
change to the manifests, never a call that changes the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.aws import reading
from controller.aws.stages import serving
from controller.core import tagging
from controller.core.endpoint import history
from controller.errors import ControllerError


@dataclass(frozen=True)
class Previous:
    """The config live before the current one and what its variants served."""

    current_config: str
    config: str
    # variant name -> (model package group name, version); registry-backed variants only
    versions: dict[str, tuple[str, int]]


def previous_versions(sagemaker: Any, endpoint: str) -> Previous:
    """Read the endpoint, its history tag, the previous config and that config's Models."""
    with reading.translated("DescribeEndpoint"):
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    current = str(described["EndpointConfigName"])
    with reading.translated("ListTags"):
        tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    names = history.parse({t["Key"]: t["Value"] for t in tags}.get(tagging.HISTORY))
    earlier = [n for n in names if n.lower() != current.lower()]
    if not earlier:
        raise ControllerError(
            f"endpoint {endpoint}: no earlier config in its rollback history "
            f"(tag {tagging.HISTORY}); it has served only {current} since the controller began "
            "recording, so there is nothing to roll back to: pin a version with --to"
        )
    config = earlier[0]
    try:
        versions = serving.config_versions(sagemaker, config)
    except ControllerError as e:
        raise ControllerError(
            f"endpoint {endpoint}: the previous config {config} cannot be read ({e}); "
            "pin a version with --to"
        ) from e
    return Previous(current, config, versions)
