"""Field-level changes in manifest terms, and what a reviewer should look at twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.packages import group_name
from controller.core.plan import risk
from controller.core.plan.plans import FieldChange

PROD_LABELS = frozenset({"prod", "production"})
WEIGHT_TOLERANCE = 1e-6


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
        left, right = a, b
        if a.startswith("arn:") != b.startswith("arn:"):
            # A group ARN of the model's own account reads back as a plain name.
            left, right = group_name(a), group_name(b)
        return left.lower() == right.lower()  # live terms come from ARNs, SageMaker lower-cases
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= WEIGHT_TOLERANCE
    return bool(a == b)


def rollout_warnings(desired: DesiredEndpoint, changes: tuple[FieldChange, ...]) -> tuple[str, ...]:
    """What a reviewer should look at twice before approving."""
    warnings: list[str] = []
    # Safety hook: a variant added or removed is said once, not as a serverless switch or
    # a weight `-> None` (see risk.variant_changes).
    changes, notes = risk.variant_changes(changes)
    warnings.extend(notes)
    for change in changes:
        variant = change.path.split("]")[0].split("[", 1)[-1]  # variants[a] or shadowVariants[a]
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
