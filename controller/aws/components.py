"""Reading inference components and the scalable targets that own their copy counts.

Read-only. Per endpoint hosting components a pass makes one paged ListInferenceComponents; a
component is described only when the listing shows a status or LastModifiedTime other than its
kept description's (SageMaker moves LastModifiedTime on every update, copy change and status
change), so a no-op pass costs one call per such endpoint. Scalable targets on component copy
counts come from the region's one DescribeScalableTargets per pass (`aws.scaling`), shared with
variant autoscaling.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from controller.aws.reading import call, stamp, translated
from controller.core.component.model import LiveComponent
from controller.core.scaling.model import COMPONENT_PREFIX, COPY_DIMENSION
from controller.errors import NotFound


def list_components(client: Any, endpoint: str) -> list[LiveComponent]:
    """Every component on `endpoint`, from its listing (no specification or copies yet)."""
    found: list[LiveComponent] = []
    paginator = client.get_paginator("list_inference_components")
    with translated("list_inference_components"):
        for page in paginator.paginate(
            EndpointNameEquals=endpoint, PaginationConfig={"PageSize": 100}
        ):
            found.extend(_summary(s) for s in page.get("InferenceComponents", []))
    return found


def _summary(summary: dict[str, Any]) -> LiveComponent:
    return LiveComponent(
        name=summary["InferenceComponentName"],
        arn=summary["InferenceComponentArn"],
        variant=summary.get("VariantName", ""),
        status=summary.get("InferenceComponentStatus", ""),
        last_modified=stamp(summary.get("LastModifiedTime")),
    )


def describe_component(client: Any, name: str) -> LiveComponent | None:
    try:
        found = call(client, "describe_inference_component", InferenceComponentName=name)
    except NotFound:
        return None
    runtime = found.get("RuntimeConfig") or {}
    return replace(
        _summary(found),  # a description has every field of a listing's summary
        specification=dict(found.get("Specification") or {}),
        desired_copies=runtime.get("DesiredCopyCount"),
        current_copies=runtime.get("CurrentCopyCount"),
        failure_reason=found.get("FailureReason", "") or "",
    )


def autoscaled_components(targets: list[dict[str, Any]]) -> frozenset[str]:
    """Lower-cased names of components whose copy count has a registered scalable target, from
    the region's DescribeScalableTargets answer (read once per pass with the variants')."""
    return frozenset(
        str(t.get("ResourceId", "")).removeprefix(COMPONENT_PREFIX).lower()
        for t in targets
        if t.get("ScalableDimension") == COPY_DIMENSION
        and str(t.get("ResourceId", "")).startswith(COMPONENT_PREFIX)
    )


class ComponentReader:
    """Kept component descriptions; thread-safe."""

    def __init__(self) -> None:
        # (region, lower-cased endpoint, lower-cased component) -> its last description.
        self._kept: dict[tuple[str, str, str], LiveComponent] = {}
        self._lock = threading.Lock()

    def components(self, client: Any, region: str, endpoint: str) -> tuple[LiveComponent, ...]:
        """The endpoint's components, described only where the listing shows a change.

        Our own changes need no forgetting: each one moves the component's LastModifiedTime (and
        status), so the next listing shows it like any other; components no longer listed are
        dropped here, so kept descriptions never outlive what they describe."""
        listing = list_components(client, endpoint)
        out: list[LiveComponent] = []
        for listed in listing:
            key = (region, endpoint.lower(), listed.name.lower())
            with self._lock:
                kept = self._kept.get(key)
            same = kept is not None and (kept.status, kept.last_modified) == (
                listed.status,
                listed.last_modified,
            )
            live = kept if same and kept is not None else describe_component(client, listed.name)
            if live is None:
                continue  # deleted between the listing and the describe
            with self._lock:
                self._kept[key] = live
            out.append(live)
        self._drop_unlisted(region, endpoint, {c.name.lower() for c in listing})
        return tuple(out)

    def _drop_unlisted(self, region: str, endpoint: str, names: set[str]) -> None:
        with self._lock:
            for key in [k for k in self._kept if k[:2] == (region, endpoint.lower())]:
                if key[2] not in names:
                    del self._kept[key]
