"""Desired x live -> plan, as pure functions (no AWS calls, no clock).

The reconciler reads what is needed into an `Observed` and this module decides whether the
endpoint may be touched at all (ownership, failed states, failed rollouts, suspension, busy) and
which of the endpoint's action sets applies (`endpoint_actions`). Each decision records its
reason, so a reviewer (and the tests) can see *why* a rollout or delete happens.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from controller.core import tagging
from controller.core.component.actions import plan_components
from controller.core.endpoint import observedstamp, surface
from controller.core.endpoint.actions import create, in_place, rollout
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.failedrollout import ROLLOUT_FAILED, heal_failed, rollout_failed
from controller.core.endpoint.health import BUSY, health_of
from controller.core.kinds import delete_action
from controller.core.livestate import LiveEndpoint
from controller.core.observed import DiffOptions, Observed
from controller.core.plan.plans import EndpointPlan, Health, Op, Reason, ResourceType, Status
from controller.core.scaling.components import plan_component_scaling
from controller.core.scaling.deferred import deferred_scaling
from controller.core.scaling.variants import foreign_replaced

__all__ = ["DiffOptions", "Observed", "diff_endpoint"]


def diff_endpoint(desired: DesiredEndpoint, seen: Observed, options: DiffOptions) -> EndpointPlan:
    """Plan one endpoint whose manifest exists."""
    plan = _diff_endpoint(desired, seen, options)
    stamp = observedstamp.due(plan, desired, seen.endpoint, seen.endpoint_tags)
    if stamp is not None and seen.endpoint is not None:
        plan = replace(plan, stamp=(seen.endpoint.arn, stamp))
    licensed = surface.licensed_models(desired.manifest.spec)
    if not licensed or not plan.actions:
        return plan
    note = (
        "accepts the end-user license of the model data (modelAccessConfig.acceptEula) of "
        + ", ".join(licensed)
    )
    return replace(plan, warnings=(*plan.warnings, note))


def _diff_endpoint(desired: DesiredEndpoint, seen: Observed, options: DiffOptions) -> EndpointPlan:
    base = _base(desired, seen)
    if seen.read_error:
        return EndpointPlan(
            **base,
            status=Status.ERROR,
            health=Health.UNKNOWN,
            errors=(seen.read_error,),
            error_reason="ReadFailed",
        )
    live = seen.endpoint
    if live is None:
        waiting = plan_components(desired, seen, options, ready=False)
        return _held(
            desired,
            _with_deferred(
                desired,
                seen,
                options,
                EndpointPlan(
                    **base,
                    status=Status.CREATE,
                    health=Health.MISSING,
                    actions=create(desired, seen, options),
                    components=tuple(waiting.rows),
                ),
            ),
        )
    health = health_of(live.status)
    tags = seen.endpoint_tags or {}
    base["revision"] = tags.get(tagging.REVISION)
    base["deployed"] = (
        tagging.owned_by(tags, options.controller_id)
        and tags.get(tagging.SPEC_HASH) == desired.spec_hash
    )
    problem = _blocking_problem(desired, seen, live, options)
    if problem is not None:
        reason, message = problem
        # A failed rollout holds the failed config, not everything: the live config's
        # capacity, weights and tags are still healed (and the failure is recorded in a tag).
        heal = heal_failed(desired, seen, live) if reason == ROLLOUT_FAILED else ()
        return _held(
            desired,
            EndpointPlan(
                **base,
                status=Status.ERROR,
                health=health,
                actions=heal,
                errors=(message,),
                error_reason=reason,
            ),
        )
    if live.status == "Failed":  # only reachable with recreate_failed
        action = delete_action(ResourceType.ENDPOINT, live.name, Reason.RECREATE_FAILED)
        return EndpointPlan(
            **base,
            status=Status.UPDATE,
            health=health,
            actions=(action,),
            warnings=(
                f"endpoint is Failed ({live.failure_reason}); it will be deleted and created again",
            ),
        )
    if live.config_name != desired.config_name:
        actions, warnings = rollout(desired, seen, live, options)
    else:
        actions, warnings = in_place(desired, seen, live, options)
    plan = EndpointPlan(
        **base,
        status=Status.UPDATE if actions else Status.UNCHANGED,
        health=health,
        actions=actions,
        warnings=warnings,
    )
    if desired.manifest.spec.hosts_components or seen.components:
        plan = with_components(plan, desired, seen, options, live)
    if plan.status is Status.ERROR:
        return plan
    plan = _with_deferred(desired, seen, options, plan)
    if plan.actions and live.status in BUSY:
        return _with_hold(plan, f"endpoint is {live.status}; changes apply once it is InService")
    return _held(desired, plan)


def _base(desired: DesiredEndpoint, seen: Observed) -> dict[str, Any]:
    return {
        "name": desired.name,
        "manifest": desired.source,
        "region": desired.region,
        "models": {m.variant: m.display for m in desired.models},
        "labels": dict(desired.manifest.metadata.labels),
    }


def _with_deferred(
    desired: DesiredEndpoint, seen: Observed, options: DiffOptions, plan: EndpointPlan
) -> EndpointPlan:
    """Add the autoscaling a later pass sets up; an endpoint with only that left is an update."""
    later = deferred_scaling(desired, seen, options, plan)
    if not later:
        return plan
    status = Status.UPDATE if plan.status is Status.UNCHANGED else plan.status
    return replace(plan, deferred=later, status=status)


def _held(desired: DesiredEndpoint, plan: EndpointPlan) -> EndpointPlan:
    if desired.manifest.spec.suspend and plan.actions:
        return _with_hold(plan, "suspended (spec.suspend: true); changes are reported, not applied")
    return plan


def _with_hold(plan: EndpointPlan, why: str) -> EndpointPlan:
    return replace(plan, held=why)


def _blocking_problem(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, options: DiffOptions
) -> tuple[str, str] | None:
    """(condition reason, message) saying why this endpoint must not be touched now; None when
    it may proceed."""
    owned = tagging.owned_by(seen.endpoint_tags, options.controller_id)
    if not owned and not desired.manifest.spec.adopt:
        holder = (seen.endpoint_tags or {}).get(tagging.MANAGED_BY)
        who = f"managed by controller {holder!r}" if holder else "not managed by sagemaker-gitops"
        return "NotOwned", (
            f"endpoint {live.name} exists but is {who}; it is left alone "
            "(set spec.adopt: true to take it over)"
        )
    moved = tagging.scope_change(desired.tags, seen.endpoint_tags)
    if moved and not desired.manifest.spec.adopt:
        return "ScopeConflict", (
            f"endpoint {live.name} belongs to scope {moved[0]!r} ({tagging.SCOPE}), not to this "
            f"run's scope {moved[1]!r}: another manifest tree deploys it and it is left alone. "
            "Apply it from that tree, remove one of the two manifests, or set spec.adopt: true "
            "to move it into this scope"
        )
    project = tagging.project_change(desired.tags, seen.endpoint_tags)
    if project and not desired.manifest.spec.adopt:
        return "ProjectConflict", (
            f"endpoint {live.name} belongs to project {project[0]!r} ({tagging.PROJECT}), not "
            f"to project {project[1]!r} of {desired.source}: a manifest of another project may "
            "not take it over. Deploy it from that project's files, or set spec.adopt: true to "
            "move it (a takeover, shown as high risk)"
        )
    if live.status == "Failed" and options.recreated_once:
        return "EndpointFailed", (
            f"endpoint is Failed again after it was recreated: "
            f"{_sentence(live.failure_reason) or 'no reason given'}. "
            "It is recreated at most once per command; fix the cause (image, model data, "
            "capacity) and re-run apply with --recreate-failed"
        )
    if live.status == "Failed" and not options.recreate_failed:
        return "EndpointFailed", (
            f"endpoint is Failed: {_sentence(live.failure_reason) or 'no reason given'}. "
            "SageMaker can only delete a Failed endpoint; re-run apply with --recreate-failed "
            "to delete and create it again"
        )
    if live.status in ("UpdateRollbackFailed", "OutOfService"):
        return "NeedsAttention", (
            f"endpoint is {live.status}: {live.failure_reason}; it needs manual attention"
        )
    renamed = _renamed_variants(desired, seen) if live.config_name != desired.config_name else None
    if renamed:
        return "InvalidSpec", renamed
    if live.config_name != desired.config_name:
        foreign = foreign_replaced(desired, seen, options.controller_id)
        if foreign:
            return "ScaledVariantNotOwned", (
                f"variant(s) {', '.join(foreign)} are registered for autoscaling by a scalable "
                "target sagemaker-gitops does not manage, and the update removes them or changes "
                "their instance type, which SageMaker refuses; deregister the target first"
            )
    if rollout_failed(desired, seen, live):
        unscaled = sorted(set(desired.scaling) - set(seen.scaling))
        note = f"; autoscaling of {', '.join(unscaled)} stays off until then" if unscaled else ""
        why = _sentence(live.failure_reason) or "(SageMaker's reason is no longer shown)"
        return ROLLOUT_FAILED, (
            f"rollout of {desired.config_name} failed and was rolled back to "
            f"{live.config_name}: {why}. It is not retried until the manifest or the registry "
            f"changes; the live config's capacity, weights and tags are still kept as the "
            f"manifest says{note}"
        )
    return None


def _sentence(reason: str) -> str:
    """SageMaker's FailureReason without its closing period, to be followed by our own."""
    return reason.rstrip().rstrip(".")


def _renamed_variants(desired: DesiredEndpoint, seen: Observed) -> str | None:
    """A blue/green rollout shifts traffic variant by variant, so the new config must keep the
    live variant names; a rename needs a deployment without blueGreenUpdatePolicy."""
    policy = desired.deployment_config or {}
    if "BlueGreenUpdatePolicy" not in policy or seen.live_terms is None:
        return None
    live = {
        p.split("]")[0].removeprefix("variants[")
        for p in seen.live_terms
        if p.startswith("variants[")
    }
    want = {v.name for v in desired.manifest.spec.variants}
    if live == want:
        return None
    return (
        f"deployment.blueGreenUpdatePolicy keeps the variant names: live "
        f"{', '.join(sorted(live))}, manifest {', '.join(sorted(want))}; roll the rename out "
        "without blueGreenUpdatePolicy, or keep the names"
    )


def with_components(
    plan: EndpointPlan,
    desired: DesiredEndpoint,
    seen: Observed,
    options: DiffOptions,
    live: LiveEndpoint,
) -> EndpointPlan:
    """Add the inference components' rows and actions to the endpoint's plan.

    Components change only while the endpoint is InService and no endpoint change is planned
    (an endpoint-level change leaves them untouched and they follow in a later pass). A
    component's problem (failed rollout, name taken) blocks only that component; it becomes the
    endpoint's error once nothing else is left to do, so it is reported and not retried.
    """
    endpoint_update = any(
        a.type is ResourceType.ENDPOINT and a.op is Op.UPDATE for a in plan.actions
    )
    ready = live.status == "InService" and not endpoint_update
    decision = plan_components(desired, seen, options, ready)
    scale, notes = plan_component_scaling(desired, seen, options, ready, decision.actions)
    decision.actions += scale
    decision.warnings += notes
    actions = plan.actions
    if decision.actions:  # history is collected only when nothing else is planned
        actions = tuple(a for a in actions if a.reason is not Reason.SUPERSEDED)
        actions += tuple(decision.actions)
    health = plan.health
    if health is Health.HEALTHY and decision.busy:
        health = Health.PROGRESSING
    warnings = plan.warnings + tuple(decision.warnings)
    if decision.problems and not actions:
        reason = decision.problems[0][0]
        errors = tuple(message for _, message in decision.problems)
        return replace(
            plan,
            status=Status.ERROR,
            health=health,
            actions=(),
            warnings=warnings,
            errors=errors,
            error_reason=reason,
            components=tuple(decision.rows),
        )
    warnings += tuple(message for _, message in decision.problems)
    return replace(
        plan,
        status=Status.UPDATE if actions else Status.UNCHANGED,
        health=health,
        actions=actions,
        warnings=warnings,
        components=tuple(decision.rows),
    )
