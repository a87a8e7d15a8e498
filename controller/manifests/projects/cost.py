"""What an endpoint may cost per hour at most, from the repository's own price table.

No network and no pricing API: `prices.hourly` in `.sagemaker-gitops.yaml` maps instance types
to an hourly price the platform team keeps up to date (copied from the AWS price list, with its
discounts if it likes). "At most" because a cap must hold for what autoscaling may do: each
instance-based variant counts at the most instances it may reach (its initial count, its
autoscaling maxCapacity, its managed instance scaling maxInstanceCount), shadow variants too.
Serverless variants are billed per request and count 0. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.manifests.models import EndpointSpec, Variant


@dataclass(frozen=True)
class Cost:
    hourly: float  # the priced variants' most per hour
    unpriced: tuple[str, ...] = ()  # instance types the table has no price for


def most_instances(variant: Variant) -> int:
    """The most instances the variant may run (0 for serverless)."""
    if variant.serverless is not None:
        return 0
    counts = [variant.instance_count or 1]
    if variant.autoscaling is not None:
        counts.append(variant.autoscaling.max_capacity)
    managed = variant.managed_instance_scaling
    if managed is not None and managed.enabled and managed.max_instance_count is not None:
        counts.append(managed.max_instance_count)
    return max(counts)


def endpoint_cost(spec: EndpointSpec, hourly: Mapping[str, float]) -> Cost:
    variants = [(v.instance_type, most_instances(v)) for v in spec.variants + spec.shadow_variants]
    return priced(variants, hourly)


def priced(variants: list[tuple[str | None, int]], hourly: Mapping[str, float]) -> Cost:
    """(instance type, instances) pairs at the table's prices."""
    total, unpriced = 0.0, []
    for kind, count in variants:
        if kind is None or count == 0:
            continue
        price = hourly.get(kind)
        if price is None:
            unpriced.append(kind)
        else:
            total += price * count
    return Cost(total, tuple(sorted(set(unpriced))))


def money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}/h"
