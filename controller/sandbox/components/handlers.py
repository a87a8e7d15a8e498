"""Create/Describe/List/Update/Delete InferenceComponent and UpdateInferenceComponentRuntimeConfig.

moto has no inference components, so the sandbox keeps them itself (`component_states`) with
SageMaker's rules: the endpoint must exist and be InService and host components (variants
without a ModelName); the variant must be on the endpoint's config; the model must exist; the
specification names a model or container and its compute reservation. A model or container
whose Environment sets SAGEMAKER_SANDBOX_FAIL=1 makes a create end Failed and an update roll
back (InService on the old specification, FailureReason set). Requests arrive here already
checked against the botocore model (names, ranges, enums, required members).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from controller.sandbox.components.states import BUSY, RESOURCE_TYPE, Change, Component
from controller.sandbox.context import Context
from controller.sandbox.errors import validation_error
from controller.sandbox.hosting.deployments import (
    FAIL_MARKER,
    existing_endpoint,
    model_environments,
)
from controller.sandbox.hosting.lifecycle import Deployment, DeploymentKind, wall_time
from controller.sandbox.hosting.resources import config_spec, endpoint_config, existing_model
from controller.sandbox.paging import page_of

__all__ = ["RESOURCE_TYPE"]


def create_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name = params["InferenceComponentName"]
    arn = ctx.arn(RESOURCE_TYPE, name)
    if ctx.state.components.get(arn) is not None:
        raise validation_error(f'Cannot create already existing inference component "{arn}".')
    specification = _specification_of(params, required=True)
    endpoint = existing_endpoint(ctx, params["EndpointName"])
    variant = _host_variant(ctx, endpoint, params.get("VariantName"))
    _check_specification(ctx, specification, endpoint.endpoint_name)
    copies = _copies_of(params, specification)
    now = ctx.now()
    component = Component(
        name=name,
        arn=arn,
        endpoint_name=endpoint.endpoint_name,
        endpoint_arn=endpoint.arn,
        variant_name=variant,
        specification=_stored(params),
        copies=copies,
        created_at=now,
        modified_at=now,
        status="Creating",
        tags=[dict(t) for t in params.get("Tags") or []],
    )
    ctx.state.components.add(component)
    failure = _failure(ctx, name, specification)
    ctx.state.components.begin(component, Change(_deployment(ctx, DeploymentKind.CREATE, failure)))
    return {"InferenceComponentArn": arn}


def _stored(params: dict[str, Any]) -> dict[str, Any]:
    """Specification and/or Specifications as sent (Describe echoes them)."""
    keys = ("Specification", "Specifications")
    return {k: copy.deepcopy(params[k]) for k in keys if params.get(k) is not None}


def _specification_of(params: dict[str, Any], required: bool) -> dict[str, Any] | None:
    """The one specification to check: Specification, or the first of Specifications."""
    single, several = params.get("Specification"), params.get("Specifications")
    if single is not None and several is not None:
        raise validation_error("Specify either Specification or Specifications, not both.")
    if single is None and several:
        single = several[0]
    if single is None and required:
        raise validation_error("Specification must be specified.")
    return single


def _copies_of(params: dict[str, Any], specification: dict[str, Any] | None) -> int | None:
    runtime = params.get("RuntimeConfig")
    if runtime is not None:
        return int(runtime["CopyCount"])
    if specification is not None and specification.get("BaseInferenceComponentName"):
        return None  # an adapter shares its base component's copies
    raise validation_error("RuntimeConfig must be specified for an inference component.")


def _host_variant(ctx: Context, endpoint: Any, wanted: str | None) -> str:
    """The variant a component goes on: InService endpoint, component-hosting variant."""
    arn = ctx.arn("endpoint", endpoint.endpoint_name)
    if endpoint.endpoint_status != "InService":
        raise validation_error(
            f'Endpoint "{arn}" is in {endpoint.endpoint_status} status; inference components '
            "can only be created on an endpoint that is InService."
        )
    config = endpoint_config(ctx, endpoint.endpoint_config_name)
    variants = config_spec(ctx, config)["ProductionVariants"]
    if wanted is None:
        if len(variants) != 1:
            raise validation_error(
                f'VariantName must be specified: endpoint "{arn}" has {len(variants)} variants.'
            )
        wanted = str(variants[0]["VariantName"])
    variant = next((v for v in variants if v["VariantName"] == wanted), None)
    if variant is None:
        raise validation_error(
            f'The variant name(s) "{wanted}" is/are not present within endpoint '
            f'configuration "{config.endpoint_config_name}".'
        )
    if variant.get("ModelName"):
        raise validation_error(
            f'Production variant "{wanted}" of endpoint "{arn}" hosts model '
            f'"{variant["ModelName"]}"; inference components need a variant without ModelName.'
        )
    return wanted


def _check_specification(ctx: Context, spec: dict[str, Any] | None, endpoint: str) -> None:
    """What the model cannot express: a model or container, a compute reservation, a base."""
    if spec is None:
        return
    base = spec.get("BaseInferenceComponentName")
    if base:
        _check_base(ctx, base, endpoint)
    elif not spec.get("ModelName") and not spec.get("Container"):
        raise validation_error("Specification must specify ModelName or Container.")
    if spec.get("ModelName"):
        existing_model(ctx, spec["ModelName"])
    compute = spec.get("ComputeResourceRequirements")
    if compute is None and not base:
        raise validation_error("Specification must specify ComputeResourceRequirements.")
    if compute is not None:
        low, high = compute["MinMemoryRequiredInMb"], compute.get("MaxMemoryRequiredInMb")
        if high is not None and high < low:
            raise validation_error(
                f"MaxMemoryRequiredInMb ({high}) must be greater than or equal to "
                f"MinMemoryRequiredInMb ({low})."
            )


def _check_base(ctx: Context, base: str, endpoint: str) -> None:
    component = ctx.state.components.get(ctx.arn(RESOURCE_TYPE, base))
    if component is None:
        raise validation_error(
            f'Could not find inference component "{ctx.arn(RESOURCE_TYPE, base)}".'
        )
    if component.endpoint_name != endpoint:
        raise validation_error(
            f'Base inference component "{base}" is not hosted on endpoint "{endpoint}".'
        )


def _failure(ctx: Context, name: str, spec: dict[str, Any] | None) -> str | None:
    """The FailureReason deploying this specification ends with, or None."""
    if spec is None:
        return None
    environments = [(spec.get("Container") or {}).get("Environment") or {}]
    model = ctx.backend._models.get(spec.get("ModelName") or "")
    if model is not None:
        environments.extend(model_environments(ctx, model))
    if any(env.get(FAIL_MARKER) == "1" for env in environments):
        return (
            f"The container for inference component {name} did not pass the ping health "
            "check. Please check CloudWatch logs for this inference component."
        )
    return None


def _deployment(ctx: Context, kind: DeploymentKind, failure: str | None = None) -> Deployment:
    return Deployment(
        kind=kind, started_at=ctx.now(), seconds=ctx.state.transition_seconds, failure=failure
    )


def existing_component(ctx: Context, name: str) -> Component:
    """The settled component, or the ValidationException AWS gives for a missing one."""
    arn = ctx.arn(RESOURCE_TYPE, name)
    component = ctx.state.components.get(arn)
    if component is None:
        raise validation_error(f'Could not find inference component "{arn}".')
    return component


def _guard_idle(component: Component, verb: str) -> None:
    if component.status in BUSY:
        raise validation_error(f'Cannot {verb} in-progress inference component "{component.arn}".')


def describe_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    component = existing_component(ctx, params["InferenceComponentName"])
    out: dict[str, Any] = {
        "InferenceComponentName": component.name,
        "InferenceComponentArn": component.arn,
        "EndpointName": component.endpoint_name,
        "EndpointArn": component.endpoint_arn,
        "VariantName": component.variant_name,
        "CreationTime": wall_time(component.created_at),
        "LastModifiedTime": wall_time(component.modified_at),
        "InferenceComponentStatus": component.status,
    }
    out.update(_specification_summary(component))
    if component.copies is not None:
        current = component.current_copies or 0
        out["RuntimeConfig"] = {"DesiredCopyCount": component.copies, "CurrentCopyCount": current}
    if component.failure_reason:
        out["FailureReason"] = component.failure_reason
    if component.last_deployment_config:
        out["LastDeploymentConfig"] = copy.deepcopy(component.last_deployment_config)
    return out


def _specification_summary(component: Component) -> dict[str, Any]:
    """Describe shows a container as DeployedImage (specified and resolved), not Image."""
    out = copy.deepcopy(component.specification)
    for spec in [out.get("Specification"), *(out.get("Specifications") or [])]:
        container = (spec or {}).get("Container")
        if container and "Image" in container:
            image = container.pop("Image")
            deployed = {"SpecifiedImage": image, "ResolvedImage": _resolved(image)}
            container["DeployedImage"] = deployed
    return out


def _resolved(image: str) -> str:
    """A digest-pinned image, as SageMaker resolves a tag at deployment (stable per image)."""
    repository = image.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{repository}@sha256:{digest}"


def list_inference_components(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    found = [c for c in ctx.state.components.all(ctx.arn(RESOURCE_TYPE, "")) if _matches(c, params)]
    found.sort(key=_sort_key(params.get("SortBy", "CreationTime")))
    if params.get("SortOrder", "Descending") == "Descending":
        found.reverse()
    page, token = page_of(found, params.get("NextToken"), params.get("MaxResults") or 10)
    out: dict[str, Any] = {"InferenceComponents": [_summary(c) for c in page]}
    if token:
        out["NextToken"] = token
    return out


def _sort_key(sort_by: str) -> Any:
    if sort_by == "Name":
        return lambda c: c.name
    if sort_by == "Status":
        return lambda c: (c.status, c.name)
    return lambda c: (c.created_at, c.name)


def _matches(component: Component, params: dict[str, Any]) -> bool:
    equal = {
        "EndpointNameEquals": component.endpoint_name,
        "VariantNameEquals": component.variant_name,
        "StatusEquals": component.status,
    }
    if any(key in params and params[key] != value for key, value in equal.items()):
        return False
    if params.get("NameContains", "") not in component.name:
        return False
    bounds = {
        "CreationTimeBefore": (component.created_at, -1),
        "CreationTimeAfter": (component.created_at, 1),
        "LastModifiedTimeBefore": (component.modified_at, -1),
        "LastModifiedTimeAfter": (component.modified_at, 1),
    }
    for key, (value, sign) in bounds.items():
        if key in params and (value - float(params[key])) * sign <= 0:
            return False
    return True


def _summary(component: Component) -> dict[str, Any]:
    return {
        "InferenceComponentName": component.name,
        "InferenceComponentArn": component.arn,
        "EndpointName": component.endpoint_name,
        "EndpointArn": component.endpoint_arn,
        "VariantName": component.variant_name,
        "InferenceComponentStatus": component.status,
        "CreationTime": wall_time(component.created_at),
        "LastModifiedTime": wall_time(component.modified_at),
    }


def update_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    component = existing_component(ctx, params["InferenceComponentName"])
    _guard_idle(component, "update")
    specification = _specification_of(params, required=False)
    runtime = params.get("RuntimeConfig")
    if specification is None and runtime is None:
        raise validation_error("Specify at least one of Specification and RuntimeConfig.")
    _check_specification(ctx, specification, component.endpoint_name)
    deployment_config = params.get("DeploymentConfig")
    if deployment_config:
        copies = runtime["CopyCount"] if runtime else component.copies
        _check_rolling(deployment_config, copies or 0)
        component.last_deployment_config = copy.deepcopy(deployment_config)
    failure = _failure(ctx, component.name, specification)
    change = Change(
        _deployment(ctx, DeploymentKind.UPDATE, failure),
        specification=_stored(params) if specification is not None else None,
        copies=int(runtime["CopyCount"]) if runtime else None,
    )
    ctx.state.components.begin(component, change)
    return {"InferenceComponentArn": component.arn}


def _check_rolling(config: dict[str, Any], copies: int) -> None:
    """The batch is 5%..50% of the copies (the API reference's rule; one copy at a time is
    always possible); a rollback batch is at most 100%. The model only says "at least 1"."""
    policy = config["RollingUpdatePolicy"]
    rollback = policy.get("RollbackMaximumBatchSize")
    if rollback and rollback["Type"] == "CAPACITY_PERCENT" and rollback["Value"] > 100:
        raise validation_error(f"Capacity percent must be at most 100, got {rollback['Value']}.")
    batch = policy["MaximumBatchSize"]
    value = batch["Value"]
    percent = batch["Type"] == "CAPACITY_PERCENT"
    if not (5 <= value <= 50 if percent else value <= max(1, copies // 2)):
        raise validation_error(
            f"MaximumBatchSize ({value} {batch['Type']}) must be between 5% and 50% of the copy "
            f"count of the inference component ({copies})."
        )


def update_runtime_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """UpdateInferenceComponentRuntimeConfig: only the copy count changes (no rollout)."""
    component = existing_component(ctx, params["InferenceComponentName"])
    _guard_idle(component, "update")
    if component.copies is None:
        raise validation_error(
            f'Inference component "{component.arn}" is an adapter and has no runtime config.'
        )
    copies = int(params["DesiredRuntimeConfig"]["CopyCount"])
    change = Change(_deployment(ctx, DeploymentKind.WEIGHTS), copies=copies)
    ctx.state.components.begin(component, change)
    return {"InferenceComponentArn": component.arn}


def delete_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    component = existing_component(ctx, params["InferenceComponentName"])
    _guard_idle(component, "delete")
    ctx.state.components.begin(component, Change(_deployment(ctx, DeploymentKind.DELETE)))
    return {}


def tagged_components(ctx: Context, params: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """GetResources' view of inference components: (ARN, tags) matching its filters."""
    types = params.get("ResourceTypeFilters") or []
    if types and not {"sagemaker", f"sagemaker:{RESOURCE_TYPE}"} & set(types):
        return []
    wanted = set(params.get("ResourceARNList") or [])
    found = []
    for component in ctx.state.components.all(ctx.arn(RESOURCE_TYPE, "")):
        tags = {t["Key"]: t.get("Value", "") for t in component.tags}
        if wanted and component.arn not in wanted:
            continue
        if all(_tag_matches(tags, f) for f in params.get("TagFilters") or []):
            found.append((component.arn, tags))
    return found


def _tag_matches(tags: dict[str, str], tag_filter: dict[str, Any]) -> bool:
    key = tag_filter.get("Key")
    values = tag_filter.get("Values") or []
    return key in tags and (not values or tags[key] in values)
