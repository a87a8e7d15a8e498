"""Autoscaling that apply sets up in a later pass, so the plan can show it now.

Application Auto Scaling registers a variant's (or a component's) capacity only once the endpoint
(or the component) is InService, so apply creates an endpoint, or rolls out a new config, or
creates a component, and registers its scalable target, policies, scheduled actions and alarm on
a following pass of the same run. The plan of that first pass would otherwise omit them, and a
reviewer must see everything apply will create. Pure: it replays the autoscaling diff against the
live state as it will be once the planned actions are done, and keeps what is not planned yet.
These actions are display data only; apply re-plans every pass and never executes them from here.
"""

from __future__ import annotations

from controller.core import tagging
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.observed import DiffOptions, Observed
from controller.core.plan.plans import Action, ComponentPlan, EndpointPlan, Op, Reason, ResourceType
from controller.core.scaling.actions import reconcile_targets
from controller.core.scaling.components import reconcile_component, wanted_alarms, wanted_sets

# Rows whose component apply will not touch: their autoscaling will not follow either.
_UNTOUCHED = (ComponentPlan.ERROR, ComponentPlan.UNMANAGED, ComponentPlan.KEPT)


def deferred_scaling(
    desired: DesiredEndpoint, seen: Observed, options: DiffOptions, plan: EndpointPlan
) -> tuple[Action, ...]:
    """The autoscaling actions a later pass will make that `plan.actions` does not include."""
    planned = {(a.op, a.type, a.name) for a in plan.actions}
    later = _variants(desired, seen, options, plan.actions) + _components(
        desired, seen, options, plan
    )
    return tuple(a for a in later if (a.op, a.type, a.name) not in planned)


def _variants(
    desired: DesiredEndpoint, seen: Observed, options: DiffOptions, planned: tuple[Action, ...]
) -> list[Action]:
    # A variant whose target this pass deregisters (it is replaced) is registered again later.
    gone = {a.name for a in planned if a.op is Op.DELETE and a.type is ResourceType.SCALABLE_TARGET}
    after = {v: t for v, t in seen.scaling.items() if t.resource_id not in gone}
    actions, _ = reconcile_targets(desired.name, desired.scaling, after, options.controller_id)
    return [a for a in actions if a.op is not Op.DELETE]  # deregistrations never wait


def _components(
    desired: DesiredEndpoint, seen: Observed, options: DiffOptions, plan: EndpointPlan
) -> list[Action]:
    sets, alarms = wanted_sets(desired), wanted_alarms(desired, options.controller_id)
    untouched = {r.name.lower() for r in plan.components if r.plan in _UNTOUCHED}
    live = {c.name.lower() for c in seen.components}
    actions: list[Action] = []
    for component in desired.manifest.spec.inference_components:
        key = component.name.lower()
        want, alarm = sets.get(key), alarms.get(key)
        if (want is None and alarm is None) or key in untouched:
            continue
        if key in live and not tagging.owned_by(
            seen.component_tags.get(key), options.controller_id
        ):
            continue  # someone else's component: never touched
        found, _ = reconcile_component(
            component.name,
            want,
            alarm,
            seen,
            desired.name,
            options.controller_id,
            Reason.AUTOSCALING,
        )
        actions += [a for a in found if a.op is not Op.DELETE]
    return actions
