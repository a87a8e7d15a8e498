"""Inference components' copy counts as Prometheus samples, per location, endpoint and component."""

from __future__ import annotations

from controller.core.plan.plans import ComponentPlan, ComponentRow
from controller.service.metrics import Metrics
from controller.service.status.locations import Location

HERE = Location("default", "us-east-1")
PROD = Location("prod", "us-east-1")


def copies(metrics: Metrics, component: str, which: str, where: Location = HERE) -> float | None:
    return metrics.registry.get_sample_value(
        "sagemaker_gitops_inference_component_copies",
        {
            "target": where.target,
            "region": where.region,
            "project": where.project,
            "endpoint": "gpu",
            "component": component,
            "copies": which,
        },
    )


def row(name: str, desired: int | None, current: int | None) -> ComponentRow:
    return ComponentRow(
        name, "shared", ComponentPlan.UNCHANGED, "InService", "m", 2, desired, current
    )


def test_desired_and_current_copies_per_component_and_gone_ones_removed() -> None:
    metrics = Metrics()
    metrics.set_components("us-east-1/gpu", HERE, "gpu", [row("chat", 3, 2), row("embed", 1, 1)])
    assert (copies(metrics, "chat", "desired"), copies(metrics, "chat", "current")) == (3.0, 2.0)

    metrics.set_components(
        "us-east-1/gpu", HERE, "gpu", [row("chat", 3, 3), row("new", None, None)]
    )

    assert copies(metrics, "chat", "current") == 3.0
    assert copies(metrics, "embed", "desired") is None
    assert copies(metrics, "new", "desired") is None


def test_the_same_endpoint_in_two_targets_is_two_series_and_forgetting_one_keeps_the_other() -> (
    None
):
    metrics = Metrics()
    metrics.set_components("us-east-1/gpu", HERE, "gpu", [row("chat", 3, 2)])
    metrics.set_components("prod/gpu", PROD, "gpu", [row("chat", 5, 4)])
    assert copies(metrics, "chat", "desired", HERE) == 3.0
    assert copies(metrics, "chat", "desired", PROD) == 5.0

    metrics.forget("prod/gpu")

    assert copies(metrics, "chat", "desired", PROD) is None
    assert copies(metrics, "chat", "current", PROD) is None
    assert copies(metrics, "chat", "desired", HERE) == 3.0


def test_a_location_learned_later_replaces_the_series_that_lacked_it() -> None:
    metrics = Metrics()
    unknown = Location("prod", "")  # a target whose region the snapshot could not tell
    metrics.set_components("prod/gpu", unknown, "gpu", [row("chat", 5, 4)])
    metrics.set_components("prod/gpu", PROD, "gpu", [row("chat", 5, 4)])
    assert copies(metrics, "chat", "desired", unknown) is None
    assert copies(metrics, "chat", "desired", PROD) == 5.0


def test_endpoint_counts_per_location_and_an_emptied_location_loses_its_series() -> None:
    metrics = Metrics()

    def count(state: str, where: Location) -> float | None:
        labels = {
            "state": state,
            "target": where.target,
            "region": where.region,
            "project": where.project,
        }
        return metrics.registry.get_sample_value("sagemaker_gitops_endpoints", labels)

    metrics.set_states([(HERE, "Synced"), (HERE, "Synced"), (PROD, "Failed")])
    assert (count("Synced", HERE), count("Failed", HERE)) == (2.0, 0.0)
    assert (count("Synced", PROD), count("Failed", PROD)) == (0.0, 1.0)

    metrics.set_states([(HERE, "Synced")])

    assert count("Synced", HERE) == 1.0
    assert count("Failed", PROD) is None and count("Synced", PROD) is None


def test_the_project_is_a_label_of_the_location_series() -> None:
    metrics = Metrics()
    fraud = Location("prod", "us-east-1", "fraud")

    metrics.observe_reconcile("Converged", "Synced", 0.1, failed=False, where=fraud)
    metrics.set_states([(fraud, "Synced")])

    registry = metrics.registry
    labels = {"target": "prod", "region": "us-east-1", "project": "fraud"}
    assert (
        registry.get_sample_value(
            "sagemaker_gitops_reconcile_total",
            {"controller": "endpoint", "result": "success", **labels},
        )
        == 1.0
    )
    assert (
        registry.get_sample_value("sagemaker_gitops_endpoints", {"state": "Synced", **labels})
        == 1.0
    )
