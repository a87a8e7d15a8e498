"""The hourly cost a plan shows per endpoint: the live endpoint's and the manifest's, both "at
most" (each variant at the most instances it may reach), at the repository's price table.

Pure. The manifest side is `manifests.projects.cost`, the rule projects' maxHourlyCost is
checked with; the live side reads what the reconciler observed: the live config in manifest terms
on a rollout, else the manifest's instance types (the config is unchanged) at the live counts,
and the live scalable targets' maxima.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from controller.core.livestate import LiveEndpoint
from controller.core.plan.plans import EndpointPlan, HourlyCost
from controller.manifests.models import EndpointSpec
from controller.manifests.projects.cost import endpoint_cost, priced
from controller.manifests.projects.settings import Prices

_TERM = re.compile(
    r"^(?P<kind>variants|shadowVariants)\[(?P<name>[^\]]+)\]\."
    r"(?P<field>instanceType|initialInstanceCount|managedInstanceScaling\.(?:status|maxInstanceCount))$"
)


def with_cost(
    plan: EndpointPlan,
    spec: EndpointSpec,
    prices: Prices,
    live: LiveEndpoint | None,
    live_terms: Mapping[str, Any] | None,
    scaled_max: Mapping[str, int],
) -> EndpointPlan:
    after = endpoint_cost(spec, prices.hourly).hourly
    before: float | None = 0.0
    if live is not None:
        before = (
            live_cost(live_terms, scaled_max, prices.hourly)
            if live_terms is not None
            else same_config_cost(spec, live, scaled_max, prices.hourly)
        )
    return dataclasses.replace(plan, cost=HourlyCost(before, after, prices.currency))


def live_cost(
    terms: Mapping[str, Any], scaled_max: Mapping[str, int], hourly: Mapping[str, float]
) -> float:
    """The live config (in manifest terms) at its live counts, autoscaling and managed maxima."""
    variants: dict[tuple[str, str], dict[str, Any]] = {}
    for path, value in terms.items():
        found = _TERM.match(path)
        if found is not None:
            variants.setdefault((found["kind"], found["name"]), {})[found["field"]] = value
    pairs: list[tuple[str | None, int]] = []
    for (kind, name), fields in variants.items():
        counts = [int(fields.get("initialInstanceCount") or 1)]
        if kind == "variants" and name in scaled_max:
            counts.append(scaled_max[name])
        managed = fields.get("managedInstanceScaling.maxInstanceCount")
        if managed and fields.get("managedInstanceScaling.status", "ENABLED") == "ENABLED":
            counts.append(int(managed))
        pairs.append((fields.get("instanceType"), max(counts)))
    return priced(pairs, hourly).hourly


def same_config_cost(
    spec: EndpointSpec,
    live: LiveEndpoint,
    scaled_max: Mapping[str, int],
    hourly: Mapping[str, float],
) -> float:
    """The manifest's instance types at the live counts: the config did not change, so the
    types are the live ones; counts and autoscaling maxima may have."""
    pairs: list[tuple[str | None, int]] = []
    for variant in spec.variants + spec.shadow_variants:
        _, count = live.weights.get(variant.name, (None, None))
        managed = variant.managed_instance_scaling
        counts = [count or 1, scaled_max.get(variant.name, 0)]
        if managed is not None and managed.enabled and managed.max_instance_count is not None:
            counts.append(managed.max_instance_count)
        pairs.append((variant.instance_type, max(counts)))  # serverless: no type, not priced
    return priced(pairs, hourly).hourly
