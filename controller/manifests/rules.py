"""Rules that span several fields of a manifest, reported at the field that breaks them.

A pydantic model validator can only point at the model it runs on (`spec`); these checks run on
the validated manifest and name the exact path (`spec.inferenceComponents[1].variant`), so
`validate` can show the line to fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.manifests import capacity
from controller.manifests.models import EndpointSpec, ImageModel, PipelineModel, RegistryModel

Problem = tuple[tuple[str | int, ...], str]


def problems(spec: EndpointSpec) -> list[Problem]:
    """Every cross-field problem of one endpoint spec, as (loc under the document, message)."""
    if not spec.hosts_components:
        return [*_shadows(spec), *_containers(spec)]
    return [
        *_shadows(spec),
        *_containers(spec),
        *_variants(spec),
        *_components(spec),
        *capacity.problems(spec),
    ]


def _containers(spec: EndpointSpec) -> Iterator[Problem]:
    """Container options where the shape cannot honour them: an error, never a field the
    request silently drops (Serverless Inference has no pipelines, multi-model containers or
    private registries; an inference component hosts one model)."""
    for kind, group in (("variants", spec.variants), ("shadowVariants", spec.shadow_variants)):
        for index, variant in enumerate(group):
            loc: tuple[str | int, ...] = ("spec", kind, index, "model")
            serverless = variant.serverless is not None
            if serverless and isinstance(variant.model, PipelineModel):
                yield loc, "Serverless Inference serves one container, not a pipeline"
            for where, container in _image_containers(loc, variant.model):
                if serverless and container.mode == "MultiModel":
                    yield (*where, "mode"), "Serverless Inference has no multi-model endpoints"
                yield from _registry_access(spec, where, container, serverless)
    for index, component in enumerate(spec.inference_components):
        loc = ("spec", "inferenceComponents", index, "model")
        if isinstance(component.model, ImageModel):
            if component.model.mode == "MultiModel":
                yield (
                    (*loc, "mode"),
                    "an inference component hosts one model: mode MultiModel is for a "
                    "variant's container",
                )
            yield from _registry_access(spec, loc, component.model, False)


def _image_containers(
    loc: tuple[str | int, ...], model: ImageModel | PipelineModel | RegistryModel | None
) -> Iterator[tuple[tuple[str | int, ...], ImageModel]]:
    if isinstance(model, PipelineModel):
        for index, container in enumerate(model.containers):
            yield (*loc, "containers", index), container
    elif isinstance(model, ImageModel):
        yield loc, model


def _registry_access(
    spec: EndpointSpec, loc: tuple[str | int, ...], container: ImageModel, serverless: bool
) -> Iterator[Problem]:
    config = container.image_config
    if config is None or config.repository_access_mode != "Vpc":
        return
    where = (*loc, "imageConfig", "repositoryAccessMode")
    if serverless:
        yield where, "Serverless Inference cannot pull from a private registry (Vpc)"
    elif spec.vpc_config is None:
        yield where, "repositoryAccessMode Vpc pulls the image through the VPC: set spec.vpcConfig"


def _shadows(spec: EndpointSpec) -> Iterator[Problem]:
    """A shadow variant mirrors traffic to a model of its own; components live on production
    variants only (the request would otherwise carry a shadow variant without a ModelName)."""
    for index, variant in enumerate(spec.shadow_variants):
        if variant.model is None:
            yield (
                ("spec", "shadowVariants", index, "model"),
                f"shadow variant {variant.name} needs a model",
            )
        elif spec.hosts_components:
            yield (
                ("spec", "shadowVariants", index),
                "an endpoint hosting inference components has no shadow variants",
            )


def _variants(spec: EndpointSpec) -> Iterator[Problem]:
    for index, variant in enumerate(spec.variants):
        loc: tuple[str | int, ...] = ("spec", "variants", index)
        if variant.model is not None:
            yield (
                (*loc, "model"),
                f"variant {variant.name} has a model, but this endpoint hosts inference "
                "components: its variants carry no model (move the model into "
                "spec.inferenceComponents)",
            )
        scaling = variant.managed_instance_scaling
        count = variant.instance_count or 1
        least, most = (
            (scaling.min_instance_count, scaling.max_instance_count)
            if scaling is not None and scaling.enabled
            else (None, None)
        )
        if least is not None and most is not None and not least <= count <= most:
            yield (
                (*loc, "initialInstanceCount"),
                f"{count} instances is outside managedInstanceScaling {least}..{most}",
            )
    if spec.deployment is not None:
        yield (
            ("spec", "deployment"),
            "an endpoint hosting inference components rolls out per component: set "
            "inferenceComponents[].deployment instead",
        )


def _components(spec: EndpointSpec) -> Iterator[Problem]:
    variants = {v.name for v in spec.variants}
    seen: dict[str, int] = {}
    for index, component in enumerate(spec.inference_components):
        loc: tuple[str | int, ...] = ("spec", "inferenceComponents", index)
        if component.variant not in variants:
            yield (
                (*loc, "variant"),
                f"no variant {component.variant!r} on this endpoint "
                f"(variants: {', '.join(sorted(variants))})",
            )
        key = component.name.lower()  # SageMaker names are case-insensitive
        if key in seen:
            yield (
                (*loc, "name"),
                f"inference component {component.name!r} is already defined at "
                f"inferenceComponents[{seen[key]}]",
            )
        seen.setdefault(key, index)
