"""Manifest names (camelCase) <-> API names (PascalCase), and flat manifest-terms paths.

SageMaker's and Application Auto Scaling's field names are the manifest's with the first letter
upper-cased, which is what lets desired requests and live descriptions meet in one vocabulary.
"""

from __future__ import annotations

from typing import Any


def pascal(value: Any) -> Any:
    """camelCase keys -> PascalCase, recursively; None values dropped."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: pascal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def camel(value: Any) -> Any:
    """PascalCase keys -> camelCase, recursively."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as (dotted path, leaf) pairs; lists are leaves."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out.extend(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return [(prefix, value)]
