"""Where an endpoint lives, as /status, the status page, metrics and notifications name it.

An endpoint key is `<location>/<name>`, the location being a `kind: Target`'s name or, for an
endpoint without `spec.target`, its region (`core.locations`). People and dashboards want two
facts instead: the target (its name, or `default` for the ambient credentials' account) and the
real AWS region. Target names never look like regions (the schema refuses it), so the key alone
says which kind of location it has; only a target's region must come from the manifests or the
plan. The pair is bounded by the number of targets and regions, so it can be a metric label; the
account ID and role ARN never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controller.core.plan.plans import EndpointPlan
from controller.core.snapshots import split_key
from controller.manifests.models import REGION_PATTERN

DEFAULT_TARGET = "default"  # endpoints without spec.target: the ambient account


@dataclass(frozen=True, order=True)
class Location:
    target: str  # the Target manifest's name, or DEFAULT_TARGET
    region: str  # the AWS region; "" while a target's region is not known yet
    # The endpoint's project (`projects:` in .sagemaker-gitops.yaml); "" without projects. As
    # bounded as targets, so a metric label too.
    project: str = ""

    def describe(self) -> str:
        """`region` alone for the ambient account, else `target, region`."""
        if self.target == DEFAULT_TARGET:
            return self.region
        return f"{self.target}, {self.region}" if self.region else self.target


def is_region(location: str) -> bool:
    return re.match(REGION_PATTERN, location) is not None


def locate(key: str, target_region: str | None = None, project: str | None = None) -> Location:
    """The location of `key`; `target_region` is the region of its target, when it has one."""
    location = split_key(key)[0]
    if is_region(location):
        return Location(DEFAULT_TARGET, location, project or "")
    return Location(location, target_region or "", project or "")


def of_plan(plan: EndpointPlan) -> Location | None:
    """What the reconciler planned against (it resolves a target's region itself); None when
    the plan only repeats the key's location (a target no longer defined: region unknown)."""
    project = plan.project or ""
    if plan.target:
        return Location(plan.target, plan.region, project)
    return Location(DEFAULT_TARGET, plan.region, project) if is_region(plan.region) else None
