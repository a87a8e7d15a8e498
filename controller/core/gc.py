"""Garbage collection: which superseded EndpointConfigs and Models may be deleted.

Pure: `observing` supplies the owned names and a describe function; the diff turns the answer
into delete actions, planned only when the endpoint is InService and nothing else is planned.
"""

from __future__ import annotations

from typing import Any

from controller.core.plans import ResourceType


def gc_candidates(
    configs: list[str],
    models: list[str],
    current: str,
    keep: int,
    describe: Any,
) -> tuple[tuple[ResourceType, str], ...]:
    """Which owned configs and models to delete: all but the live one and the `keep` newest."""
    described = {name: describe(name) for name in configs}
    others = [n for n in configs if n != current and described.get(n) is not None]
    others.sort(key=lambda n: (_created(described[n]), n), reverse=True)
    kept = [current, *others[:keep]]
    in_use = {
        pv.get("ModelName")
        for name in kept
        if (d := described.get(name)) is not None
        # Shadow variants name Models too: a model only a shadow serves is still in use.
        for pv in [*d.get("ProductionVariants", []), *d.get("ShadowProductionVariants", [])]
    }
    if current not in described or described[current] is None:
        return ()  # cannot tell which models the live config uses: delete nothing
    doomed = [(ResourceType.ENDPOINT_CONFIG, n) for n in others[keep:]]
    doomed += [(ResourceType.MODEL, m) for m in sorted(models) if m not in in_use]
    return tuple(doomed)


def _created(description: dict[str, Any]) -> float:
    """Creation time as a number; a description without one sorts as oldest."""
    created: Any = description.get("CreationTime")
    return float(created.timestamp()) if hasattr(created, "timestamp") else 0.0
