"""Do a variant's inference components fit on its instances? (`validate`, no AWS calls.)

Each copy of a component reserves its compute (acceleratorDevices, cpuCores, minMemoryMb) on
one instance of its variant; SageMaker cannot place copies whose reservations add up to more
than the variant's instances hold, and the component stays short of copies. The instances
counted are the most the variant can have: with managedInstanceScaling, SageMaker provisions
instances up to maxInstanceCount to place copies; without it, the variant has its
initialInstanceCount. The copies counted are `copies`, what CreateInferenceComponent asks for
(an autoscaled component starts there too). SageMaker's own overhead per instance is not
published, so it is left out: the check only catches what can never fit. Instance types the
hardware table lacks are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from controller.manifests.instance_types import Hardware, hardware
from controller.manifests.models import (
    ComponentCompute,
    EndpointSpec,
    InferenceComponent,
    Variant,
)

Problem = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True)
class Resource:
    """One reservable resource: what a copy asks for and what an instance has."""

    what: str
    per_copy: Callable[[ComponentCompute], float | None]
    per_instance: Callable[[Hardware], float]
    unit: str = ""


RESOURCES = (
    Resource("accelerator devices", lambda c: c.accelerator_devices, lambda h: h.accelerator_limit),
    Resource("CPU cores", lambda c: c.cpu_cores, lambda h: h.vcpus),
    Resource("MB memory", lambda c: c.min_memory_mb, lambda h: h.memory_gib * 1024, " MB"),
)


def problems(spec: EndpointSpec) -> Iterator[Problem]:
    """Every resource of every variant whose components' copies cannot all be placed."""
    for variant in spec.variants:
        found = hardware(variant.instance_type or "")
        if variant.model is not None or found is None:
            continue
        placed = [
            (index, c)
            for index, c in enumerate(spec.inference_components)
            if c.variant == variant.name and c.copies > 0
        ]
        for resource in RESOURCES:
            problem = _overbooked(variant, found, resource, placed)
            if problem is not None:
                yield problem


def _overbooked(
    variant: Variant,
    found: Hardware,
    resource: Resource,
    placed: list[tuple[int, InferenceComponent]],
) -> Problem | None:
    instances, basis = _instances(variant)
    each = resource.per_instance(found)
    terms: list[str] = []
    total, first_over = 0.0, None
    for index, component in placed:
        per_copy = resource.per_copy(component.compute)
        if not per_copy:
            continue
        total += component.copies * per_copy
        copies = f"{component.copies} {'copy' if component.copies == 1 else 'copies'}"
        terms.append(f"{copies} x {_n(per_copy)} {resource.what} ({component.name})")
        if first_over is None and total > instances * each:
            first_over = index
    if first_over is None:
        return None
    message = (
        f"{' + '.join(terms)} = {_n(total)}{resource.unit} > {instances} x {_n(each)}"
        f"{resource.unit} on {variant.instance_type} at {basis} of variant {variant.name}: "
        "SageMaker cannot place all the copies"
    )
    return ("spec", "inferenceComponents", first_over, "copies"), message


def _instances(variant: Variant) -> tuple[int, str]:
    """The most instances the variant can have, and what says so."""
    scaling = variant.managed_instance_scaling
    if scaling is not None and scaling.enabled and scaling.max_instance_count is not None:
        return scaling.max_instance_count, f"maxInstanceCount {scaling.max_instance_count}"
    count = variant.instance_count or 1
    return count, f"initialInstanceCount {count}"


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
