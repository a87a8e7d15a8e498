"""The endpoint's own actions: create, roll out a new config, or change weights in place.

A new version or any config change is a rollout (new Models/EndpointConfig + UpdateEndpoint with
the manifest's DeploymentConfig); weights and instance counts alone go through
UpdateEndpointWeightsAndCapacities; superseded history is collected only when nothing else is
planned and the endpoint is InService.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core import tagging
from controller.core.endpoint import history
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.kinds import delete_action
from controller.core.livestate import LiveEndpoint
from controller.core.observed import DiffOptions, Observed
from controller.core.plan.changes import WEIGHT_TOLERANCE, field_changes, rollout_warnings
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType
from controller.core.scaling import actions as scaling_actions
from controller.core.scaling import variants as scaled_variants
from controller.core.tag_actions import endpoint_tags, tag_action, tag_actions, with_tags


def create(desired: DesiredEndpoint, seen: Observed, options: DiffOptions) -> tuple[Action, ...]:
    actions = list(_new_resources(desired, seen, Reason.NEW_ENDPOINT))
    # An empty history from birth: GC then knows the endpoint records which configs served
    # (core/endpoint/history.py), so it never keeps a config that never did.
    tags = {**desired.tags, tagging.ATTEMPTED_CONFIG: desired.config_name, tagging.HISTORY: ""}
    if options.stamp_observed:
        tags[tagging.OBSERVED] = tagging.OBSERVED_PENDING
    request = {
        "EndpointName": desired.name,
        "EndpointConfigName": desired.config_name,
        "Tags": tagging.to_list(tags),
    }
    actions.append(
        Action(
            Op.CREATE,
            ResourceType.ENDPOINT,
            desired.name,
            Reason.NEW_ENDPOINT,
            call="create_endpoint",
            request=request,
        )
    )
    return tuple(actions)


def _new_resources(
    desired: DesiredEndpoint, seen: Observed, reason: Reason, live: LiveEndpoint | None = None
) -> list[Action]:
    """CreateModel / CreateEndpointConfig for whatever does not exist yet."""
    tags = tagging.to_list(desired.tags)
    actions = [
        Action(
            Op.CREATE,
            ResourceType.MODEL,
            m.name,
            reason,
            call="create_model",
            request={**m.request, "Tags": tags},
        )
        for m in desired.models
        if m.name in seen.missing_models
    ]
    if not seen.config_exists:
        actions.append(
            Action(
                Op.CREATE,
                ResourceType.ENDPOINT_CONFIG,
                desired.config_name,
                reason,
                call="create_endpoint_config",
                request={**scaled_variants.config_request(desired, seen, live), "Tags": tags},
            )
        )
    return actions


def rollout(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, options: DiffOptions
) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """New Models/EndpointConfig + UpdateEndpoint (with the manifest's DeploymentConfig)."""
    # Unknown live terms are not "all None": comparing against {} would report every field as
    # new (e.g. `model.version: None -> 7`). Fall back to naming the config switch instead.
    live_terms = seen.live_terms
    scaled = scaled_variants.scaled(desired, seen)
    changes: tuple[FieldChange, ...] = ()
    if live_terms is not None:
        before, after = (
            scaled_variants.without_counts(t, scaled) for t in (live_terms, desired.terms)
        )
        changes = field_changes(before, after, options.notes)
    reason = _rollout_reason(changes, desired, seen, options)
    actions, warnings = scaled_variants.deregistrations(desired, seen)
    actions += _new_resources(desired, seen, reason, live)
    retag = endpoint_tags(desired, seen, live, reason, True, pending=options.stamp_observed)
    request: dict[str, Any] = {
        "EndpointName": desired.name,
        "EndpointConfigName": desired.config_name,
    }
    if desired.deployment_config:
        request["DeploymentConfig"] = desired.deployment_config
    if not changes:
        changes = (FieldChange("endpointConfigName", live.config_name, desired.config_name),)
    update = Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        desired.name,
        reason,
        changes,
        call="update_endpoint",
        request=request,
    )
    actions.append(with_tags(update, retag))
    return tuple(actions), tuple(warnings) + rollout_warnings(desired, changes)


def _rollout_reason(
    changes: tuple[FieldChange, ...], desired: DesiredEndpoint, seen: Observed, options: DiffOptions
) -> Reason:
    if not tagging.owned_by(seen.endpoint_tags, options.controller_id):
        return Reason.ADOPT
    if tagging.scope_change(desired.tags, seen.endpoint_tags):
        return Reason.ADOPT  # spec.adopt moves it from another scope: a takeover, high risk
    if tagging.project_change(desired.tags, seen.endpoint_tags):
        return Reason.ADOPT  # spec.adopt moves it from another project: a takeover too
    if seen.endpoint is not None and history.hand_edited(seen.endpoint_tags, seen.endpoint):
        return Reason.DRIFT  # safety hook: live is not what we last deployed (a hand edit)
    if any(c.path.endswith((".model.version", ".model.packageGroup")) for c in changes):
        return Reason.VERSION_CHANGED
    if seen.live_terms is not None and not changes:
        return Reason.DRIFT
    return Reason.CONFIG_IMMUTABLE


def in_place(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, options: DiffOptions
) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """Same EndpointConfig: weights/capacity, tags and garbage collection only."""
    actions: list[Action] = []
    warnings: list[str] = []
    scaled = scaled_variants.scaled(desired, seen)
    weights = weights_action(desired.name, desired.weights, live, scaled)
    retags = tag_actions(desired, seen, live)
    if weights is not None:
        warnings.extend(rollout_warnings(desired, weights.changes))
        retags = [a for a in retags if a.type is not ResourceType.ENDPOINT]
        pending = options.stamp_observed
        retag = endpoint_tags(desired, seen, live, Reason.WEIGHTS_ONLY, False, pending=pending)
        actions.append(with_tags(weights, retag))
    actions = retags + actions
    if weights is None and live.status == "InService":
        scale, notes = scaling_actions.reconcile_targets(
            desired.name, desired.scaling, seen.scaling, options.controller_id
        )
        actions.extend(scale)
        warnings.extend(notes)
    if live.status == "InService" and not actions:
        actions.extend(collect(seen, live))
    return tuple(actions), tuple(warnings)


def collect(seen: Observed, live: LiveEndpoint) -> list[Action]:
    """GC's deletes, and the history tag pruned of the configs they delete (first, so a tag
    never names a config that is gone; the configs were beyond the history kept anyway)."""
    deletes = [delete_action(kind, name, Reason.SUPERSEDED) for kind, name in seen.superseded]
    retags = _component_retags(seen)
    have = dict(seen.endpoint_tags or {})
    value = have.get(tagging.HISTORY)
    configs = [n for kind, n in seen.superseded if kind is ResourceType.ENDPOINT_CONFIG]
    if value is None or not configs or history.pruned(value, configs) == value:
        return [*retags, *deletes]
    to_set = {tagging.HISTORY: history.pruned(value, configs)}
    retag = tag_action(
        ResourceType.ENDPOINT, live.name, live.arn, to_set, [], Reason.SUPERSEDED, have
    )
    return [retag, *retags, *deletes]


def _component_retags(seen: Observed) -> list[Action]:
    """Components' history tags pruned of the Models GC deletes, as the endpoint's is."""
    actions = []
    for component in seen.components:
        value = seen.component_histories.get(component.name)
        if value is None:
            continue
        have = seen.component_tags.get(component.name.lower(), {})
        actions.append(
            tag_action(
                ResourceType.INFERENCE_COMPONENT,
                component.name,
                component.arn,
                {tagging.HISTORY: value},
                [],
                Reason.SUPERSEDED,
                have,
            )
        )
    return actions


def weights_action(
    name: str,
    weights: Mapping[str, tuple[float, int | None]],
    live: LiveEndpoint,
    scaled: frozenset[str],
) -> Action | None:
    """UpdateEndpointWeightsAndCapacities to `weights` (variant -> weight, count); a scaled
    variant's count is autoscaling's, not ours."""
    current = live.weights
    changes: list[FieldChange] = []
    targets: list[dict[str, Any]] = []
    for variant, (weight, count) in weights.items():
        live_weight, live_count = current.get(variant, (None, None))
        target: dict[str, Any] = {"VariantName": variant, "DesiredWeight": weight}
        if live_weight is None or abs(live_weight - weight) > WEIGHT_TOLERANCE:
            changes.append(FieldChange(f"variants[{variant}].initialWeight", live_weight, weight))
        if count is not None and variant not in scaled:
            target["DesiredInstanceCount"] = count
            if live_count != count:
                changes.append(
                    FieldChange(f"variants[{variant}].initialInstanceCount", live_count, count)
                )
        targets.append(target)
    if not changes:
        return None
    request = {"EndpointName": name, "DesiredWeightsAndCapacities": targets}
    return Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        name,
        Reason.WEIGHTS_ONLY,
        tuple(changes),
        call="update_endpoint_weights_and_capacities",
        request=request,
    )
