"""Which plan values are secrets, and what a plan shows instead of them.

Container environment variables carry database passwords and API tokens as often as log levels,
and plans end up in CI logs and pull-request comments. So every environment value is treated as
sensitive unless the repo config names its key as not (``plan.nonSensitiveEnvironmentKeys`` in
``.sagemaker-gitops.yaml``): a plan then says *that* the value was added, changed or removed,
never what it was or became. Safe by default: a renderer given no list masks every value.

Only display data passes through here (`plans.FieldChange` values); what apply sends comes from
`Action.request`, which masking never touches, so hiding a value can never change a deployment.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

SHOWN_INSTEAD = "(sensitive)"
"""What a masked value is replaced by in the JSON plan (absent values stay null)."""
_ENVIRONMENT = ".model.environment."


def environment_key(path: str) -> str | None:
    """The variable name when `path` is a container environment value, else None.

    Paths are manifest terms such as ``variants[primary].model.environment.DB_PASSWORD``.
    """
    head, found, key = path.partition(_ENVIRONMENT)
    return key if found and head and key else None


def is_sensitive(path: str, non_sensitive_keys: Collection[str]) -> bool:
    """True when the value at `path` must not be shown."""
    key = environment_key(path)
    return key is not None and key not in non_sensitive_keys


def masked(value: Any) -> str | None:
    """`value` as a plan may show it: a placeholder when there is one, None when absent."""
    return None if value is None else SHOWN_INSTEAD


def what_happened(before: Any, after: Any) -> str:
    """``added``, ``removed`` or ``changed``: all a reader learns about a sensitive value."""
    if before is None:
        return "added"
    if after is None:
        return "removed"
    return "changed"
