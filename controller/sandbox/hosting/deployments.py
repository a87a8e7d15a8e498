"""UpdateEndpoint and UpdateEndpointWeightsAndCapacities (moto 5 lacks the first, fakes the second).

An update is a `Deployment` (see `lifecycle`): Updating for `transition_seconds`, then InService
on the new config; if a container carries the fail marker, or an alarm its
AutoRollbackConfiguration names would fire on the new config's traffic (`cloudwatch.rollbacks`),
it goes Updating -> RollingBack -> InService on the OLD config with FailureReason set, as a
failed blue/green update does in AWS.
Also here: what a config deploys as (variant summaries) and whether it fails, which
CreateEndpoint shares.
"""

from __future__ import annotations

import copy
from typing import Any

from controller.sandbox.autoscaling.resources import drop_orphans
from controller.sandbox.context import Context
from controller.sandbox.errors import validation_error
from controller.sandbox.hosting.lifecycle import IN_PROGRESS, Deployment, DeploymentKind
from controller.sandbox.hosting.resources import config_spec, containers_of, endpoint_config
from controller.sandbox.registry.packages import package_environments

FAIL_MARKER = "SAGEMAKER_SANDBOX_FAIL"
"""A container whose Environment sets this to "1" fails its health check when deployed."""


def variant_summaries(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DescribeEndpoint's ProductionVariants for a config's variants once deployed."""
    summaries = []
    for variant in variants:
        weight = float(variant.get("InitialVariantWeight", 1.0))
        summary: dict[str, Any] = {
            "VariantName": variant["VariantName"],
            "CurrentWeight": weight,
            "DesiredWeight": weight,
        }
        serverless = variant.get("ServerlessConfig")
        if serverless:
            summary["CurrentServerlessConfig"] = dict(serverless)
            summary["DesiredServerlessConfig"] = dict(serverless)
        elif "InitialInstanceCount" in variant:
            summary["CurrentInstanceCount"] = variant["InitialInstanceCount"]
            summary["DesiredInstanceCount"] = variant["InitialInstanceCount"]
        for key in ("ManagedInstanceScaling", "RoutingConfig"):
            if key in variant:
                summary[key] = copy.deepcopy(variant[key])
        summaries.append(summary)
    return summaries


def deployment_failure(ctx: Context, spec: dict[str, Any]) -> str | None:
    """The FailureReason deploying this config ends with, or None if it deploys fine."""
    for variant in spec["ProductionVariants"]:
        if not variant.get("ModelName"):
            continue  # hosts inference components, which deploy (and fail) on their own
        model = ctx.backend._models.get(variant["ModelName"])
        if model is None:
            arn = ctx.arn("model", variant["ModelName"])
            return f'Could not find model "{arn}".'
        if any(env.get(FAIL_MARKER) == "1" for env in model_environments(ctx, model)):
            return (
                f"The primary container for production variant {variant['VariantName']} did "
                "not pass the ping health check. Please check CloudWatch logs for this endpoint."
            )
    return None


def model_environments(ctx: Context, model: Any) -> list[dict[str, str]]:
    spec = ctx.state.specs.get(model.arn)
    containers = containers_of(spec) if spec else [model.primary_container, *model.containers]
    environments: list[dict[str, str]] = []
    for container in containers:
        environments.append((container or {}).get("Environment") or {})
        package = (container or {}).get("ModelPackageName")
        if package:
            environments.extend(package_environments(ctx, package))
    return environments


def check_deployment_config(config: dict[str, Any]) -> None:
    """Rules the model cannot express: one policy, and the step size matching the type."""
    blue_green = config.get("BlueGreenUpdatePolicy")
    rolling = config.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise validation_error(
            "Only one update policy can be specified: BlueGreenUpdatePolicy or RollingUpdatePolicy."
        )
    if blue_green:
        routing = blue_green["TrafficRoutingConfiguration"]
        kind = routing["Type"]
        wanted = {"CANARY": "CanarySize", "LINEAR": "LinearStepSize"}.get(kind)
        if wanted and wanted not in routing:
            raise validation_error(f"{wanted} must be specified for traffic routing type {kind}.")
        for other in ("CanarySize", "LinearStepSize"):
            if other != wanted and other in routing:
                raise validation_error(f"{other} is not allowed for traffic routing type {kind}.")
        sizes = [routing.get("CanarySize"), routing.get("LinearStepSize")]
    else:
        sizes = [(rolling or {}).get(k) for k in ("MaximumBatchSize", "RollbackMaximumBatchSize")]
    for size in sizes:
        if size and size["Type"] == "CAPACITY_PERCENT" and size["Value"] > 100:
            raise validation_error(f"Capacity percent must be at most 100, got {size['Value']}.")


def guard_updatable(ctx: Context, endpoint: Any, verb: str = "update") -> None:
    """SageMaker refuses to change an endpoint that is busy, and a Failed one can only go."""
    arn = ctx.arn("endpoint", endpoint.endpoint_name)
    if endpoint.endpoint_status in IN_PROGRESS:
        raise validation_error(f'Cannot {verb} in-progress endpoint "{arn}".')
    if endpoint.endpoint_status == "Failed" and verb == "update":
        raise validation_error(f'Cannot update failed endpoint "{arn}".')


def existing_endpoint(ctx: Context, name: str) -> Any:
    """The settled endpoint, or the ValidationException AWS gives for a missing one."""
    endpoint = ctx.state.endpoints.settle(ctx.backend, name)
    if endpoint is None:
        raise validation_error(f'Could not find endpoint "{ctx.arn("endpoint", name)}".')
    return endpoint


def update_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    endpoint = existing_endpoint(ctx, params["EndpointName"])
    guard_updatable(ctx, endpoint)
    config = endpoint_config(ctx, params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    if deployment_config:
        check_deployment_config(deployment_config)
    spec = config_spec(ctx, config)
    check_scaled_variants(ctx, endpoint, spec)
    variants = variant_summaries(spec["ProductionVariants"])
    data_capture = spec.get("DataCaptureConfig") or {}
    if params.get("RetainAllVariantProperties"):
        excluded = {
            p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties", [])
        }
        _retain(variants, endpoint.production_variants, excluded)
        if "DataCaptureConfig" not in excluded:
            data_capture = endpoint.data_capture_config or {}
    record = ctx.state.endpoints.record(ctx.backend, endpoint)
    if deployment_config:
        record.last_deployment_config = deployment_config
    elif not params.get("RetainDeploymentConfig"):
        record.last_deployment_config = None
    deployment = Deployment(
        kind=DeploymentKind.UPDATE,
        started_at=ctx.now(),
        seconds=ctx.state.transition_seconds,
        config_name=config.endpoint_config_name,
        variants=variants,
        data_capture=data_capture,
        failure=deployment_failure(ctx, spec) or _alarm_failure(ctx, endpoint, spec, params),
    )
    ctx.state.endpoints.begin(ctx.backend, endpoint, deployment)
    return {"EndpointArn": endpoint.arn}


def _alarm_failure(
    ctx: Context, endpoint: Any, spec: dict[str, Any], params: dict[str, Any]
) -> str | None:
    # Imported here: the metrics it synthesises read endpoints, whose module imports this one.
    from controller.sandbox.cloudwatch import rollbacks

    config = params.get("DeploymentConfig")
    return rollbacks.alarm_failure(ctx, endpoint.endpoint_name, spec, config)


SCALED_DIMENSIONS = ("sagemaker:variant:DesiredInstanceCount",)


def check_scaled_variants(ctx: Context, endpoint: Any, spec: dict[str, Any]) -> None:
    """SageMaker refuses an update that removes, or changes the instance type of, a variant
    registered as a scalable target: the caller must deregister it first (AWS's documented
    procedure). A new model on the same instance type is allowed."""
    drop_orphans(ctx)
    new = {v["VariantName"]: v for v in spec["ProductionVariants"]}
    live_config = ctx.backend.endpoint_configs.get(endpoint.endpoint_config_name)
    old = {}
    if live_config is not None:
        old = {v["VariantName"]: v for v in config_spec(ctx, live_config)["ProductionVariants"]}
    for namespace, resource, dimension in ctx.scaling.targets:
        prefix = f"endpoint/{endpoint.endpoint_name}/variant/"
        if namespace != "sagemaker" or dimension not in SCALED_DIMENSIONS:
            continue
        if not resource.startswith(prefix):
            continue
        name = resource[len(prefix) :]
        if name not in new:
            change = "removes it"
        elif new[name].get("InstanceType") != old.get(name, {}).get("InstanceType"):
            change = "changes its instance type"
        else:
            continue
        raise validation_error(
            f'The production variant "{name}" of endpoint "{endpoint.arn}" is registered as a '
            f"scalable target with Application Auto Scaling ({resource}, {dimension}), and the "
            f"update {change}. Delete its scaling policies and call DeregisterScalableTarget "
            "before updating the endpoint, then register it again."
        )


def _retain(
    variants: list[dict[str, Any]], current: list[dict[str, Any]], excluded: set[str]
) -> None:
    """RetainAllVariantProperties: keep live weights/counts of variants that stay."""
    live = {v["VariantName"]: v for v in current}
    for variant in variants:
        old = live.get(variant["VariantName"])
        if old is None:
            continue
        if "DesiredWeight" not in excluded and "DesiredWeight" in old:
            variant["CurrentWeight"] = variant["DesiredWeight"] = old["DesiredWeight"]
        keep_count = "DesiredInstanceCount" not in excluded and "DesiredInstanceCount" in old
        if keep_count and "DesiredInstanceCount" in variant:
            count = old["DesiredInstanceCount"]
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = count


def update_weights_and_capacities(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    endpoint = existing_endpoint(ctx, params["EndpointName"])
    guard_updatable(ctx, endpoint)
    variants = copy.deepcopy(endpoint.production_variants)
    by_name = {v["VariantName"]: v for v in variants}
    seen: set[str] = set()
    for desired in params["DesiredWeightsAndCapacities"]:
        name = desired["VariantName"]
        if name in seen:
            raise validation_error(f'The variant name "{name}" was non-unique within the request.')
        seen.add(name)
        variant = by_name.get(name)
        if variant is None:
            raise validation_error(
                f'The variant name(s) "{name}" is/are not present within endpoint '
                f'configuration "{endpoint.endpoint_config_name}".'
            )
        if "DesiredWeight" in desired:
            variant["CurrentWeight"] = variant["DesiredWeight"] = float(desired["DesiredWeight"])
        if "DesiredInstanceCount" in desired:
            count = desired["DesiredInstanceCount"]
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = count
    deployment = Deployment(
        kind=DeploymentKind.WEIGHTS,
        started_at=ctx.now(),
        seconds=ctx.state.transition_seconds,
        variants=variants,
    )
    ctx.state.endpoints.begin(ctx.backend, endpoint, deployment)
    return {"EndpointArn": endpoint.arn}
