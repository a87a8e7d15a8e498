"""Desired x live -> plan, as pure functions (no AWS calls, no clock).

The reconciler reads what is needed into an `Observed` and this module decides. Each decision
records its reason, so a reviewer (and the tests) can see *why* a rollout or delete happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from controller.core import tagging
from controller.core.desired import DesiredEndpoint
from controller.core.health import BUSY, health_of
from controller.core.livestate import LiveEndpoint
from controller.core.plans import (
    Action,
    EndpointPlan,
    FieldChange,
    Health,
    Op,
    Reason,
    ResourceType,
    Status,
)

PROD_LABELS = frozenset({"prod", "production"})
_WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Observed:
    """What the reconciler read about one endpoint."""

    endpoint: LiveEndpoint | None
    endpoint_tags: Mapping[str, str] | None = None  # None: not known (no such endpoint)
    live_terms: Mapping[str, Any] | None = None  # live config in manifest terms, on rollouts
    missing_models: frozenset[str] = frozenset()  # desired Models that do not exist yet
    config_exists: bool = False
    resource_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    superseded: tuple[tuple[ResourceType, str], ...] = ()  # owned history beyond what is kept
    read_error: str | None = None


@dataclass(frozen=True)
class DiffOptions:
    controller_id: str = "default"
    recreate_failed: bool = False
    revision: str | None = None
    notes: Mapping[str, str] = field(default_factory=dict)  # change path -> reviewer note


def diff_endpoint(desired: DesiredEndpoint, seen: Observed, options: DiffOptions) -> EndpointPlan:
    """Plan one endpoint whose manifest exists."""
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
        return _held(
            desired,
            EndpointPlan(
                **base, status=Status.CREATE, health=Health.MISSING, actions=_create(desired, seen)
            ),
        )
    health = health_of(live.status)
    base["revision"] = (seen.endpoint_tags or {}).get(tagging.REVISION)
    problem = _blocking_problem(desired, seen, live, options)
    if problem is not None:
        reason, message = problem
        return EndpointPlan(
            **base, status=Status.ERROR, health=health, errors=(message,), error_reason=reason
        )
    if live.status == "Failed":  # only reachable with recreate_failed
        action = _delete(ResourceType.ENDPOINT, live.name, Reason.RECREATE_FAILED)
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
        actions, warnings = _rollout(desired, seen, live, options)
    else:
        actions, warnings = _in_place(desired, seen, live, options)
    plan = EndpointPlan(
        **base,
        status=Status.UPDATE if actions else Status.UNCHANGED,
        health=health,
        actions=actions,
        warnings=warnings,
    )
    if actions and live.status in BUSY:
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
    if live.status == "Failed" and not options.recreate_failed:
        return "EndpointFailed", (
            f"endpoint is Failed: {_sentence(live.failure_reason) or 'no reason given'}. "
            "SageMaker can "
            "only delete a Failed endpoint; re-run apply with --recreate-failed to delete "
            "and create it again"
        )
    if live.status in ("UpdateRollbackFailed", "OutOfService"):
        return "NeedsAttention", (
            f"endpoint is {live.status}: {live.failure_reason}; it needs manual attention"
        )
    attempted = (seen.endpoint_tags or {}).get(tagging.ATTEMPTED_CONFIG)
    failed_rollout = live.failure_reason and live.config_name != desired.config_name
    if failed_rollout and attempted == desired.config_name and live.status not in BUSY:
        return "RolloutFailed", (
            f"rollout of {desired.config_name} failed and was rolled back to "
            f"{live.config_name}: {_sentence(live.failure_reason)}. It is not retried until the "
            "manifest or the registry changes"
        )
    return None


def _sentence(reason: str) -> str:
    """SageMaker's FailureReason without its closing period, to be followed by our own."""
    return reason.rstrip().rstrip(".")


def _create(desired: DesiredEndpoint, seen: Observed) -> tuple[Action, ...]:
    actions = list(_new_resources(desired, seen, Reason.NEW_ENDPOINT))
    tags = {**desired.tags, tagging.ATTEMPTED_CONFIG: desired.config_name}
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


def _new_resources(desired: DesiredEndpoint, seen: Observed, reason: Reason) -> list[Action]:
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
                request={**desired.config_request, "Tags": tags},
            )
        )
    return actions


def _rollout(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, options: DiffOptions
) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """New Models/EndpointConfig + UpdateEndpoint (with the manifest's DeploymentConfig)."""
    # Unknown live terms are not "all None": comparing against {} would report every field as
    # new (e.g. `model.version: None -> 7`). Fall back to naming the config switch instead.
    live_terms = seen.live_terms
    changes = () if live_terms is None else field_changes(live_terms, desired.terms, options.notes)
    reason = _rollout_reason(changes, desired, seen, options)
    actions = _new_resources(desired, seen, reason)
    retag = _endpoint_tags(desired, seen, live, reason, attempted=True)
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
    actions.append(_with_tags(update, retag))
    return tuple(actions), rollout_warnings(desired, changes)


def _with_tags(update: Action, retag: Action) -> Action:
    """Fold the endpoint's tag edits into its update: one action per endpoint in the plan.

    Apply runs AddTags just before the update call, so the attempted-config tag is on the
    endpoint before a rollout can fail (that tag is how a failed rollout is recognised).
    """
    return replace(
        update,
        changes=update.changes + retag.changes,
        tags_set=retag.tags_set,
        tags_removed=retag.tags_removed,
        resource_arn=retag.request["ResourceArn"],
    )


def _rollout_reason(
    changes: tuple[FieldChange, ...], desired: DesiredEndpoint, seen: Observed, options: DiffOptions
) -> Reason:
    if not tagging.owned_by(seen.endpoint_tags, options.controller_id):
        return Reason.ADOPT
    if any(c.path.endswith((".model.version", ".model.packageGroup")) for c in changes):
        return Reason.VERSION_CHANGED
    if seen.live_terms is not None and not changes:
        return Reason.DRIFT
    return Reason.CONFIG_IMMUTABLE


def _in_place(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, options: DiffOptions
) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """Same EndpointConfig: weights/capacity, tags and garbage collection only."""
    actions: list[Action] = []
    warnings: list[str] = []
    weights = _weights_action(desired, live)
    tag_actions = _tag_actions(desired, seen, live)
    if weights is not None:
        warnings.extend(rollout_warnings(desired, weights.changes))
        tag_actions = [a for a in tag_actions if a.type is not ResourceType.ENDPOINT]
        retag = _endpoint_tags(desired, seen, live, Reason.WEIGHTS_ONLY, False)
        actions.append(_with_tags(weights, retag))
    actions = tag_actions + actions
    if live.status == "InService" and not actions:
        actions.extend(_delete(kind, name, Reason.SUPERSEDED) for kind, name in seen.superseded)
    return tuple(actions), tuple(warnings)


def _weights_action(desired: DesiredEndpoint, live: LiveEndpoint) -> Action | None:
    current = live.weights
    changes: list[FieldChange] = []
    targets: list[dict[str, Any]] = []
    for variant, (weight, count) in desired.weights.items():
        live_weight, live_count = current.get(variant, (None, None))
        target: dict[str, Any] = {"VariantName": variant, "DesiredWeight": weight}
        if live_weight is None or abs(live_weight - weight) > _WEIGHT_TOLERANCE:
            changes.append(FieldChange(f"variants[{variant}].initialWeight", live_weight, weight))
        if count is not None:
            target["DesiredInstanceCount"] = count
            if live_count != count:
                changes.append(
                    FieldChange(f"variants[{variant}].initialInstanceCount", live_count, count)
                )
        targets.append(target)
    if not changes:
        return None
    request = {"EndpointName": desired.name, "DesiredWeightsAndCapacities": targets}
    return Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        desired.name,
        Reason.WEIGHTS_ONLY,
        tuple(changes),
        call="update_endpoint_weights_and_capacities",
        request=request,
    )


def _tag_actions(desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint) -> list[Action]:
    actions: list[Action] = []
    endpoint_tags = seen.endpoint_tags or {}
    if tagging.tag_delta(desired.tags, endpoint_tags) != ({}, []):
        actions.append(_endpoint_tags(desired, seen, live, Reason.TAGS_ONLY, attempted=False))
    others = [(ResourceType.ENDPOINT_CONFIG, desired.config_name)]
    others += [(ResourceType.MODEL, m.name) for m in desired.models]
    for kind, name in others:
        have = seen.resource_tags.get(name)
        if have is None:
            continue  # not in the index (yet): nothing reliable to compare
        to_set, to_remove = tagging.tag_delta(desired.tags, have)
        if to_set or to_remove:
            actions.append(
                _tag(
                    kind,
                    name,
                    _arn(live.arn, kind, name),
                    to_set,
                    to_remove,
                    Reason.TAGS_ONLY,
                    have,
                )
            )
    return actions


def _endpoint_tags(
    desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint, reason: Reason, attempted: bool
) -> Action:
    """Tag the endpoint: significant tags plus refreshed bookkeeping (revision, spec hash)."""
    have = dict(seen.endpoint_tags or {})
    to_set, to_remove = tagging.tag_delta(desired.tags, have)
    bookkeeping = {k: v for k, v in desired.tags.items() if k in tagging.BOOKKEEPING}
    if attempted:
        bookkeeping[tagging.ATTEMPTED_CONFIG] = desired.config_name
    to_set.update({k: v for k, v in bookkeeping.items() if have.get(k) != v})
    return _tag(ResourceType.ENDPOINT, live.name, live.arn, to_set, to_remove, reason, have)


def _tag(
    kind: ResourceType,
    name: str,
    arn: str,
    to_set: dict[str, str],
    to_remove: list[str],
    reason: Reason,
    have: Mapping[str, str],
) -> Action:
    changes = tuple(
        FieldChange(f"tags.{k}", have.get(k), to_set.get(k))
        for k in sorted({*to_set, *to_remove})
        if k not in tagging.BOOKKEEPING
    )
    return Action(
        Op.TAG,
        kind,
        name,
        reason,
        changes,
        call="tag",
        request={"ResourceArn": arn},
        tags_set=dict(sorted(to_set.items())),
        tags_removed=tuple(to_remove),
    )


def _arn(endpoint_arn: str, kind: ResourceType, name: str) -> str:
    """ARN of a sibling resource, from the endpoint's (same account and region)."""
    prefix, _, resource = endpoint_arn.rpartition(":")
    segment = {ResourceType.MODEL: "model", ResourceType.ENDPOINT_CONFIG: "endpoint-config"}[kind]
    # Follow the account's ARN spelling: SageMaker writes names lower-case in ARNs.
    if resource.islower():
        name = name.lower()
    return f"{prefix}:{segment}/{name}"


def _delete(kind: ResourceType, name: str, reason: Reason) -> Action:
    call, key = {
        ResourceType.ENDPOINT: ("delete_endpoint", "EndpointName"),
        ResourceType.ENDPOINT_CONFIG: ("delete_endpoint_config", "EndpointConfigName"),
        ResourceType.MODEL: ("delete_model", "ModelName"),
    }[kind]
    return Action(Op.DELETE, kind, name, reason, call=call, request={key: name})


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], notes: Mapping[str, str]
) -> tuple[FieldChange, ...]:
    """Per-path differences between two manifest-terms views, in stable order."""
    paths = sorted(set(before) | set(after), key=_path_order)
    return tuple(
        FieldChange(p, before.get(p), after.get(p), notes.get(p, ""))
        for p in paths
        if not _same(before.get(p), after.get(p), p)
    )


def _path_order(path: str) -> tuple[int, str]:
    return (0 if path.startswith("variants[") else 1, path)


def _same(a: Any, b: Any, path: str = "") -> bool:
    if path.endswith(".model.packageGroup") and isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # live terms come from ARNs, which SageMaker lower-cases
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= _WEIGHT_TOLERANCE
    return bool(a == b)


def rollout_warnings(desired: DesiredEndpoint, changes: tuple[FieldChange, ...]) -> tuple[str, ...]:
    """What a reviewer should look at twice before approving."""
    warnings: list[str] = []
    for change in changes:
        variant = change.path.split("]")[0].removeprefix("variants[")
        if change.path.endswith(".instanceType") and change.before and change.after:
            warnings.append(f"variant {variant}: instance type {change.before} -> {change.after}")
        elif change.path.endswith(".instanceType") and change.before != change.after:
            kind = (
                "instance-based -> serverless" if change.before else "serverless -> instance-based"
            )
            warnings.append(f"variant {variant}: switches {kind}")
        elif change.path.endswith(".initialInstanceCount") and change.before and change.after:
            warnings.append(f"variant {variant}: instance count {change.before} -> {change.after}")
        elif change.path.endswith(".initialWeight") and change.before is not None:
            warnings.append(f"variant {variant}: traffic weight {change.before} -> {change.after}")
    spec = desired.manifest.spec
    is_prod = desired.manifest.metadata.labels.get("env", "").lower() in PROD_LABELS
    has_alarms = spec.deployment is not None and spec.deployment.auto_rollback_configuration
    if is_prod and not has_alarms and any(".model." in c.path for c in changes):
        warnings.append("production endpoint rolls out without auto-rollback alarms")
    return tuple(warnings)


def diff_removed(
    name: str,
    region: str,
    live: LiveEndpoint | None,
    confirmed_owned: bool,
    leftovers: tuple[tuple[ResourceType, str], ...],
    prune: bool,
    source: str | None = None,
) -> EndpointPlan:
    """Plan an owned endpoint whose manifest is gone: delete only with --prune."""
    health = health_of(live.status if live else None)
    base: dict[str, Any] = {"name": name, "manifest": None, "region": region, "health": health}
    if not prune:
        where = f" (was {source})" if source else ""
        return EndpointPlan(
            **base,
            status=Status.UNCHANGED,
            warnings=(f"manifest removed{where}; kept (use --prune to delete)",),
        )
    if live is not None and not confirmed_owned:
        return EndpointPlan(
            **base,
            status=Status.ERROR,
            errors=("ownership could not be confirmed; not deleted",),
            error_reason="NotOwned",
        )
    actions: list[Action] = []
    if live is not None and live.status != "Deleting":
        actions.append(_delete(ResourceType.ENDPOINT, name, Reason.MANIFEST_REMOVED))
    if live is None:  # configs and models go once the endpoint itself is gone
        actions.extend(_delete(kind, n, Reason.MANIFEST_REMOVED) for kind, n in leftovers)
    if not actions:
        return EndpointPlan(**base, status=Status.UNCHANGED)
    return EndpointPlan(
        **base,
        status=Status.DELETE,
        actions=tuple(actions),
        warnings=(f"endpoint {name} will be deleted (manifest removed)",)
        if live is not None
        else (),
    )
