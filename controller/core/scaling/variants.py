"""Never fight autoscaling: the rules for a variant whose instance count autoscaling owns.

A variant is scaled when a scalable target is registered on it (whoever registered it) or the
manifest gives it `autoscaling`. For a scaled variant the controller never resets the live count:
its `initialInstanceCount` is not drift, a weights-only change sends no DesiredInstanceCount,
and a new EndpointConfig starts it from the live count clamped to [minCapacity, maxCapacity]
(docs/autoscaling.md says why this rather than RetainAllVariantProperties).

SageMaker refuses an UpdateEndpoint that removes, or changes the instance type of, a registered
variant; such a rollout deregisters the controller's own target first (this pass) and registers
it again once the endpoint is InService (a later pass). Someone else's target blocks the rollout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core import tagging
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.livestate import LiveEndpoint
from controller.core.observed import Observed
from controller.core.plan.plans import Action, Reason
from controller.core.scaling import model as scaling
from controller.core.scaling.actions import deregister


def scaled(desired: DesiredEndpoint, seen: Observed) -> frozenset[str]:
    return frozenset(seen.scaling) | frozenset(desired.scaling)


def without_counts(terms: Mapping[str, Any], variants: frozenset[str]) -> dict[str, Any]:
    """Manifest terms minus the instance counts autoscaling owns (their drift is not drift)."""
    owned = {f"variants[{v}].initialInstanceCount" for v in variants}
    return {k: v for k, v in terms.items() if k not in owned}


def config_request(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint | None
) -> dict[str, Any]:
    """CreateEndpointConfig for a rollout: scaled variants start from the live count, clamped."""
    request = desired.config_request
    counts = live.weights if live is not None else {}
    variants = []
    for pv in request["ProductionVariants"]:
        name = pv["VariantName"]
        bounds = _bounds(desired, seen, name)
        if bounds is not None and "InitialInstanceCount" in pv:
            count = scaling.starting_count(
                counts.get(name, (None, None))[1], bounds, pv["InitialInstanceCount"]
            )
            pv = {**pv, "InitialInstanceCount": count}
        variants.append(pv)
    return {**request, "ProductionVariants": variants}


def _bounds(desired: DesiredEndpoint, seen: Observed, variant: str) -> scaling.ScalingSet | None:
    if variant in desired.scaling:
        return desired.scaling[variant]
    target = seen.scaling.get(variant)
    return target.scaling if target is not None else None


def replaced(desired: DesiredEndpoint, seen: Observed) -> list[str]:
    """Registered variants the rollout removes or gives another instance type (or serverless);
    with unknown live terms, every registered variant, to be safe."""
    wanted = {v.name: v for v in desired.manifest.spec.variants}
    live_terms = seen.live_terms
    out = []
    for variant in sorted(seen.scaling):
        want = wanted.get(variant)
        before = None if live_terms is None else live_terms.get(f"variants[{variant}].instanceType")
        if want is None or live_terms is None or want.instance_type != before:
            out.append(variant)
    return out


def foreign_replaced(desired: DesiredEndpoint, seen: Observed, controller_id: str) -> list[str]:
    return [
        v
        for v in replaced(desired, seen)
        if not tagging.owned_by(seen.scaling[v].tags, controller_id)
    ]


def deregistrations(desired: DesiredEndpoint, seen: Observed) -> tuple[list[Action], list[str]]:
    """Deregister the controller's targets on replaced variants before the UpdateEndpoint."""
    actions: list[Action] = []
    warnings: list[str] = []
    for variant in replaced(desired, seen):
        target = seen.scaling[variant]
        reason = Reason.SCALED_VARIANT_REPLACED
        actions.extend(deregister(variant, target.resource_id, target, reason))
        again = " and registered again once the endpoint is InService"
        warnings.append(
            f"variant {variant}: autoscaling is deregistered first (SageMaker refuses to remove "
            f"or change the instance type of a registered variant)"
            f"{again if variant in desired.scaling else ''}"
        )
    return actions, warnings
