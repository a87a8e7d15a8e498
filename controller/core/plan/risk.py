"""How risky one endpoint's planned change is, for reviewers.

The renderers show the result next to each endpoint (the PR comment's Risk column, the text
header, the JSON `risk` key) so a reviewer knows where to look first. It is advice only: apply
never reads it. `assess` is a pure function of the plan's display fields; the rules are a small
table so that a reviewer can predict the answer:

=======  =====================================================================================
Risk     When (the highest matching row wins)
=======  =====================================================================================
high     the endpoint is in error (status ``error`` or any error message); the endpoint or
         an inference component is deleted (status ``delete``, or any ``delete`` action on an
         ``Endpoint`` or ``InferenceComponent``, including ``RecreateFailed``); an adoption
         (``Adopt``: an endpoint the controller does not own, possibly another controller's,
         or one another scope deploys, is taken over, rolled out and may later be pruned)
medium   on an endpoint that exists already (status is not ``create``), a change to the
         variants' compute or traffic split: a FieldChange path ending in ``.instanceType``
         (an instance type change, or a switch between serverless and instances),
         ``.serverless`` (the serverless block appears or disappears), ``.initialWeight`` or
         ``.desiredWeight`` (a traffic weight shift), ``.autoscaling.minCapacity`` or
         ``.autoscaling.maxCapacity`` (the range autoscaling may size the fleet in, including
         autoscaling registered or deregistered), or a variant added or removed
         (path ``variants[NAME]`` itself); an inference component's compute reservation (a
         path containing ``.compute.``); a capacity cut of half or more (a path ending in
         ``.initialInstanceCount`` or an inference component's ``.copies`` whose new value is
         at most half the old one: 4 -> 2 leaves half the fleet to take all the traffic);
         or a rollout on a production endpoint (label ``env`` is ``prod`` or ``production``)
         while a warning says it has no auto-rollback alarms
low      any other planned action that changes what serves traffic: a rollout (``update`` of
         the ``Endpoint`` to a new EndpointConfig, whatever the reason, e.g. ``Drift``), a
         capacity-only change (``WeightsOnly`` without weight paths), a new endpoint,
         a delete of a Model/EndpointConfig that is not merely ``Superseded``
none     nothing planned, or only tag edits (``tag`` actions) and garbage collection of
         ``Superseded`` Models/EndpointConfigs
=======  =====================================================================================

"Rollout" means UpdateEndpoint onto a new EndpointConfig: SageMaker shifts traffic to fresh
instances, which is where a bad model version bites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    FieldChange,
    Op,
    Reason,
    ResourceType,
    Status,
)


class Risk(StrEnum):
    """How carefully a reviewer should look at one endpoint's plan; ordered none < high."""

    NONE = "none"  # nothing that serves traffic changes (no actions, tags, garbage collection)
    LOW = "low"  # a routine rollout, capacity change or new endpoint
    MEDIUM = "medium"  # traffic split or compute changes, or an unguarded production rollout
    HIGH = "high"  # an endpoint is deleted, or the endpoint cannot be planned/applied

    @property
    def rank(self) -> int:
        """Position in the order none < low < medium < high, for max() and sorting."""
        return _RANK[self]


_RANK = {Risk.NONE: 0, Risk.LOW: 1, Risk.MEDIUM: 2, Risk.HIGH: 3}

# Labels that mark an endpoint as production (metadata.labels.env).
PROD_ENVS = frozenset({"prod", "production"})
# A FieldChange path whose change alters the variants' compute or traffic split.
_MEDIUM_PATH = re.compile(
    r"(?:\.(?:instanceType|serverless|initialWeight|desiredWeight)"
    r"|\.autoscaling\.(?:minCapacity|maxCapacity)|^variants\[[^\]]*\])$"
    r"|^inferenceComponents\[[^\]]*\]\.compute\."
)
# A FieldChange path holding a count of instances or component copies (capacity).
_CAPACITY_PATH = re.compile(r"\.(?:initialInstanceCount|copies)$")
# The diff module's warning for a rollout without DeploymentConfig.AutoRollbackConfiguration;
# matched loosely ("no auto-rollback alarms", "auto rollback alarm") so wording can evolve.
_NO_ROLLBACK_ALARMS = re.compile(r"auto[- ]?rollback alarm", re.IGNORECASE)


def assess(endpoint: EndpointPlan) -> Risk:
    """The risk of one endpoint's plan, by the table in the module docstring."""
    if endpoint.status in (Status.ERROR, Status.DELETE) or endpoint.errors:
        return Risk.HIGH
    serving = (ResourceType.ENDPOINT, ResourceType.INFERENCE_COMPONENT)
    if any(a.op is Op.DELETE and a.type in serving for a in endpoint.actions):
        return Risk.HIGH
    if any(a.reason is Reason.ADOPT for a in endpoint.actions):
        return Risk.HIGH
    if endpoint.status is not Status.CREATE and (
        _shifts_traffic_or_compute(endpoint) or _unguarded_prod_rollout(endpoint)
    ):
        return Risk.MEDIUM
    if any(not _is_housekeeping(a) for a in endpoint.actions):
        return Risk.LOW
    return Risk.NONE


def _shifts_traffic_or_compute(endpoint: EndpointPlan) -> bool:
    return any(
        _MEDIUM_PATH.search(c.path) or _halves_capacity(c)
        for a in endpoint.actions
        for c in a.changes
    )


def _halves_capacity(change: FieldChange) -> bool:
    """An instance or copy count cut by 50% or more: the rest must carry all the traffic."""
    if not _CAPACITY_PATH.search(change.path):
        return False
    before, after = change.before, change.after
    if not isinstance(before, int) or not isinstance(after, int) or isinstance(before, bool):
        return False
    return before > 0 and after * 2 <= before


def _unguarded_prod_rollout(endpoint: EndpointPlan) -> bool:
    # Production without alarms means a bad version keeps serving until a person notices.
    if endpoint.labels.get("env", "").lower() not in PROD_ENVS:
        return False
    if not any(_is_rollout(a) for a in endpoint.actions):
        return False
    return any(_NO_ROLLBACK_ALARMS.search(w) for w in endpoint.warnings)


def _is_rollout(action: Action) -> bool:
    """UpdateEndpoint onto a new EndpointConfig (not a weights/capacity or tag update)."""
    return (
        action.op is Op.UPDATE
        and action.type is ResourceType.ENDPOINT
        and action.reason not in (Reason.WEIGHTS_ONLY, Reason.TAGS_ONLY)
    )


def _is_housekeeping(action: Action) -> bool:
    """Actions that leave what serves traffic untouched: tags and garbage collection."""
    if action.reason is Reason.ADOPT:
        return False
    if action.op is Op.TAG:
        return True
    return action.op is Op.DELETE and action.reason is Reason.SUPERSEDED


_VARIANT = re.compile(r"^variants\[([^\]]*)\]\.")


def variant_changes(
    changes: Sequence[FieldChange],
) -> tuple[tuple[FieldChange, ...], tuple[str, ...]]:
    """Split a rollout's changes: those of variants on both sides, and one note per variant
    added or removed.

    A new variant's fields all go from None, a removed one's all to None; read field by field
    they look like a switch from serverless (`instanceType: None -> ml.m5.large`) or a weight
    `1.0 -> None`, which is not what happens. Renaming a variant is a removal plus an addition.
    """
    by_variant: dict[str, list[FieldChange]] = {}
    for change in changes:
        match = _VARIANT.match(change.path)
        if match:
            by_variant.setdefault(match.group(1), []).append(change)
    added = {v for v, cs in by_variant.items() if all(c.before is None for c in cs)}
    removed = {v for v, cs in by_variant.items() if all(c.after is None for c in cs)}
    one_sided = added | removed
    kept = tuple(
        c for c in changes if not ((m := _VARIANT.match(c.path)) and m.group(1) in one_sided)
    )
    notes = [f"variant {v}: added" for v in sorted(added - removed)]
    notes += [f"variant {v}: removed; its traffic goes to the others" for v in sorted(removed)]
    return kept, tuple(notes)
