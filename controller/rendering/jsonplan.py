"""The versioned JSON form of a plan (format_version 1; the contract is docs/plan-json.md).

`to_json_dict` is the one place a `Plan` becomes display data. The text and markdown renderers
read this document rather than the `Plan` itself (as Terraform renders its human output from its
JSON plan), so the three formats can never disagree about what a plan contains.

Beyond the contract keys it adds: top-level ``account`` (when known); per endpoint ``target`` and
``account`` (for endpoints deployed through a target), ``region``, ``risk``, ``health``, ``held``,
``models``, ``deferred`` (the autoscaling actions a later pass of the same apply makes once the
endpoint or a new component is InService, when there are any) and, for endpoints hosting
inference components, ``components`` (one row each); per
action ``reason`` (and ``tags_set`` / ``tags_removed`` for tag edits, when non-empty); per change
``note`` (when non-empty) and ``sensitive: true`` when the value is masked. It never contains
`Action.request` or `Action.call`: those are apply-only data.

Secrets are masked here, where the plan becomes display data, so no renderer can show them:
container environment values become ``"(sensitive)"`` (null when absent) unless their key is in
`visible_environment` (the repo config's ``plan.nonSensitiveEnvironmentKeys``); see
`controller.core.plan.masking`.

Ordering is stable whatever order the planner produced: endpoints are sorted by target, then name
(endpoints without a target first; planning may run concurrently) and manifest errors by file and
line; actions keep the plan's (apply) order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from enum import Enum
from typing import Any, NotRequired, TypeAlias, TypedDict, cast

from controller.core.endpoint.health import component_health
from controller.core.plan import masking
from controller.core.plan.plans import (
    FORMAT_VERSION,
    Action,
    ComponentRow,
    EndpointPlan,
    FieldChange,
    Plan,
)
from controller.core.plan.risk import assess
from controller.errors import Diagnostic

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None


class ChangeDoc(TypedDict):
    """One field change, in manifest terms."""

    path: str
    before: JsonValue
    after: JsonValue
    note: NotRequired[str]
    sensitive: NotRequired[bool]
    """Present (true) when before/after are masked: they say only whether a value exists."""


class ActionDoc(TypedDict):
    """One planned API-level step, without the request apply would send."""

    op: str
    type: str
    name: str
    reason: str
    changes: list[ChangeDoc]
    tags_set: NotRequired[dict[str, str]]
    tags_removed: NotRequired[list[str]]


class CopiesDoc(TypedDict):
    """A component's copy counts: the manifest's, and the live desired and current ones."""

    manifest: int | None
    desired: int | None
    current: int | None


class ComponentDoc(TypedDict):
    """One inference component of an endpoint: what the plan does with it, and its state."""

    name: str
    variant: str
    plan: str
    status: str
    health: str
    model: str
    copies: CopiesDoc
    autoscaled: bool
    message: str


class HourlyCostDoc(TypedDict):
    """The most the endpoint may cost per hour, live (`before`: 0 without one, null when not
    known) and as the manifest says (`after`), at the repository's price table."""

    before: float | None
    after: float
    currency: str


class EndpointDoc(TypedDict):
    """Everything planned for one endpoint."""

    name: str
    manifest: str | None
    rendered_from: NotRequired[list[str]]
    project: NotRequired[str]
    hourly_cost: NotRequired[HourlyCostDoc]
    target: NotRequired[str]
    account: NotRequired[str]
    region: str
    status: str
    risk: str
    health: str
    held: str | None
    models: dict[str, str]
    actions: list[ActionDoc]
    deferred: NotRequired[list[ActionDoc]]
    """Autoscaling a later pass of the same apply sets up, once the endpoint or component is
    InService (registering needs it); present only when non-empty."""
    warnings: list[str]
    errors: list[str]
    components: NotRequired[list[ComponentDoc]]


class DiagnosticDoc(TypedDict):
    """One manifest error: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str


class PlanDoc(TypedDict):
    """The whole plan, format_version 1."""

    format_version: int
    account: NotRequired[str]
    summary: dict[str, int]
    held_back: NotRequired[int]
    config_changes: NotRequired[list[str]]
    endpoints: list[EndpointDoc]
    errors: list[DiagnosticDoc]


def to_json_dict(plan: Plan, *, visible_environment: Collection[str] = ()) -> PlanDoc:
    """The plan as JSON-safe data (format_version 1), in a stable order.

    Environment values are masked except those whose keys are in `visible_environment`.
    """
    summary = plan.summary
    visible = frozenset(visible_environment)
    endpoints = [_endpoint(e, visible) for e in sorted(plan.endpoints, key=_by_target)]
    errors = [_diagnostic(d) for d in sorted(plan.errors, key=lambda d: (d.file, d.line or 0))]
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION}
    if plan.account:
        doc["account"] = plan.account
    doc["summary"] = summary
    # Held-back deletes are counted beside the statuses, not among them: those endpoints are
    # "unchanged" (nothing is done to them) yet the account differs from git until a guard lets
    # them go. Present only when non-zero, so plans without a held delete keep their shape.
    if plan.held_back:
        doc["held_back"] = len(plan.held_back)
    if plan.config_changes:  # present only when the repository config changes
        doc["config_changes"] = list(plan.config_changes)
    doc["endpoints"] = endpoints
    doc["errors"] = errors
    return cast(PlanDoc, doc)


def render_json(plan: Plan, *, visible_environment: Collection[str] = ()) -> str:
    """The JSON plan as text: two-space indent, keys in document order, ending with a newline."""
    doc = to_json_dict(plan, visible_environment=visible_environment)
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _by_target(endpoint: EndpointPlan) -> tuple[str, str, str]:
    """Grouped by project (with `projects:`; else all in one group), then by target."""
    return (endpoint.project or "", endpoint.target or "", endpoint.name)


def _endpoint(endpoint: EndpointPlan, visible: frozenset[str]) -> EndpointDoc:
    where: dict[str, str] = {}
    if endpoint.target is not None:
        where = {"target": endpoint.target, "account": endpoint.account or ""}
    doc: EndpointDoc = {
        "name": endpoint.name,
        "manifest": endpoint.manifest,
        **where,  # type: ignore[typeddict-item]
        "region": endpoint.region,
        "status": endpoint.status.value,
        "risk": assess(endpoint).value,
        "health": endpoint.health.value,
        "held": endpoint.held,
        "models": dict(endpoint.models),
        "actions": [_action(a, visible) for a in endpoint.actions],
        "warnings": list(endpoint.warnings),
        "errors": list(endpoint.errors),
    }
    if endpoint.project is not None:  # only with `projects:` in the repo config
        doc["project"] = endpoint.project
    if endpoint.cost is not None:  # only with `prices:` in the repo config
        before = None if endpoint.cost.before is None else round(endpoint.cost.before, 4)
        doc["hourly_cost"] = {
            "before": before,
            "after": round(endpoint.cost.after, 4),
            "currency": endpoint.cost.currency,
        }
    if endpoint.rendered_from:  # only endpoints extending a template carry the key
        doc["rendered_from"] = list(endpoint.rendered_from)
    if endpoint.deferred:  # only endpoints whose autoscaling waits for InService carry the key
        doc["deferred"] = [_action(a, visible) for a in endpoint.deferred]
    if endpoint.components:  # only endpoints hosting inference components carry the key
        doc["components"] = [component_doc(c) for c in endpoint.components]
    return doc


def component_doc(row: ComponentRow) -> ComponentDoc:
    """One component row as display data (the plan's and `status`'s)."""
    return {
        "name": row.name,
        "variant": row.variant,
        "plan": row.plan.value,
        "status": row.status,
        "health": component_health(row.status).value,
        "model": row.model,
        "copies": {
            "manifest": row.copies,
            "desired": row.desired_copies,
            "current": row.current_copies,
        },
        "autoscaled": row.autoscaled,
        "message": row.message,
    }


def _action(action: Action, visible: frozenset[str]) -> ActionDoc:
    doc: ActionDoc = {
        "op": action.op.value,
        "type": action.type.value,
        "name": action.name,
        "reason": action.reason.value,
        "changes": [_change(c, visible) for c in action.changes],
    }
    if action.tags_set:
        doc["tags_set"] = dict(action.tags_set)
    if action.tags_removed:
        doc["tags_removed"] = list(action.tags_removed)
    return doc


def _change(change: FieldChange, visible: frozenset[str]) -> ChangeDoc:
    if masking.is_sensitive(change.path, visible):
        doc: ChangeDoc = {
            "path": change.path,
            "before": masking.masked(change.before),
            "after": masking.masked(change.after),
            "sensitive": True,
        }
    else:
        doc = {
            "path": change.path,
            "before": json_safe(change.before),
            "after": json_safe(change.after),
        }
    if change.note:
        doc["note"] = change.note
    return doc


def _diagnostic(diagnostic: Diagnostic) -> DiagnosticDoc:
    return {
        "file": diagnostic.file,
        "line": diagnostic.line,
        "path": diagnostic.path,
        "message": diagnostic.message,
    }


def json_safe(value: Any) -> JsonValue:
    """`value` as plain JSON data, so `json.dumps` never fails and never writes NaN.

    FieldChange values come from manifests and Describe calls: mostly scalars, lists and dicts,
    but enums, tuples, sets or odd numbers must not crash a plan. Anything unknown becomes str().
    """
    if isinstance(value, Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=repr)
    return str(value)
