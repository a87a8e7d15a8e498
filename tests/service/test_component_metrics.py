"""Inference components' copy counts as Prometheus samples, per endpoint and component."""

from __future__ import annotations

from controller.core.plans import ComponentPlan, ComponentRow
from controller.service.metrics import Metrics


def copies(metrics: Metrics, component: str, which: str) -> float | None:
    return metrics.registry.get_sample_value(
        "sagemaker_gitops_inference_component_copies",
        {"endpoint": "gpu", "component": component, "copies": which},
    )


def row(name: str, desired: int | None, current: int | None) -> ComponentRow:
    return ComponentRow(
        name, "shared", ComponentPlan.UNCHANGED, "InService", "m", 2, desired, current
    )


def test_desired_and_current_copies_per_component_and_gone_ones_removed() -> None:
    metrics = Metrics()
    metrics.set_components("gpu", [row("chat", 3, 2), row("embed", 1, 1)])
    assert (copies(metrics, "chat", "desired"), copies(metrics, "chat", "current")) == (3.0, 2.0)

    metrics.set_components("gpu", [row("chat", 3, 3), row("new", None, None)])

    assert copies(metrics, "chat", "current") == 3.0
    assert copies(metrics, "embed", "desired") is None
    assert copies(metrics, "new", "desired") is None
