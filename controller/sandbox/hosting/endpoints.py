"""CreateEndpoint, DescribeEndpoint, ListEndpoints and DeleteEndpoint with real statuses.

moto creates endpoints InService at once and deletes them at once; the controller has to cope
with Creating/Deleting and Failed, so these go through `lifecycle`. DescribeEndpoint is rendered
here from moto's object plus the sandbox's record (LastDeploymentConfig, the pending deployment).
"""

from __future__ import annotations

import copy
from typing import Any

from controller.sandbox.context import Context
from controller.sandbox.errors import validation_error
from controller.sandbox.hosting import listing
from controller.sandbox.hosting.deployments import (
    check_deployment_config,
    deployment_failure,
    existing_endpoint,
    guard_updatable,
    variant_summaries,
)
from controller.sandbox.hosting.lifecycle import (
    Deployment,
    DeploymentKind,
    EndpointRecord,
    wall_time,
)
from controller.sandbox.hosting.resources import config_spec, endpoint_config


def create_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name = params["EndpointName"]
    if ctx.state.endpoints.settle(ctx.backend, name) is not None:
        arn = ctx.arn("endpoint", name)
        raise validation_error(f'Cannot create already existing endpoint "{arn}".')
    config = endpoint_config(ctx, params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    if deployment_config:
        check_deployment_config(deployment_config)
    spec = config_spec(ctx, config)
    variants = variant_summaries(spec["ProductionVariants"])
    endpoint = ctx.backend.create_endpoint(
        endpoint_name=name,
        endpoint_config_name=config.endpoint_config_name,
        tags=params.get("Tags") or [],
    )
    now = ctx.now()
    # Timestamps follow the sandbox clock, so they agree with the status transitions.
    endpoint.creation_time = endpoint.last_modified_time = wall_time(now)
    endpoint.production_variants = copy.deepcopy(variants)
    endpoint.data_capture_config = spec.get("DataCaptureConfig") or {}
    record = ctx.state.endpoints.record(ctx.backend, endpoint)
    record.last_deployment_config = deployment_config
    deployment = Deployment(
        kind=DeploymentKind.CREATE,
        started_at=now,
        seconds=ctx.state.transition_seconds,
        config_name=config.endpoint_config_name,
        variants=variants,
        failure=deployment_failure(ctx, spec),
    )
    ctx.state.endpoints.begin(ctx.backend, endpoint, deployment)
    return {"EndpointArn": endpoint.arn}


def describe_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name = params["EndpointName"]
    endpoint = ctx.state.endpoints.settle(ctx.backend, name)
    if endpoint is None:
        # AWS names the endpoint here, not its ARN.
        raise validation_error(f'Could not find endpoint "{name}".')
    record = ctx.state.endpoints.get(endpoint.arn)
    out: dict[str, Any] = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "ProductionVariants": _variants(endpoint, record),
        "EndpointStatus": endpoint.endpoint_status,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    }
    if endpoint.failure_reason:
        out["FailureReason"] = endpoint.failure_reason
    if endpoint.data_capture_config:
        out["DataCaptureConfig"] = _data_capture_summary(endpoint.data_capture_config)
    if record is not None and record.last_deployment_config:
        out["LastDeploymentConfig"] = record.last_deployment_config
    pending = _pending(ctx, record)
    if pending:
        out["PendingDeploymentSummary"] = pending
    return out


def _variants(endpoint: Any, record: EndpointRecord | None) -> list[dict[str, Any]]:
    """Live variants; during a weights change Desired* already shows the requested values."""
    variants: list[dict[str, Any]] = copy.deepcopy(endpoint.production_variants)
    deployment = record.deployment if record else None
    if deployment is None or deployment.kind is not DeploymentKind.WEIGHTS:
        return variants
    desired = {v["VariantName"]: v for v in deployment.variants or []}
    for variant in variants:
        target = desired.get(variant["VariantName"], {})
        for key in ("DesiredWeight", "DesiredInstanceCount"):
            if key in target:
                variant[key] = target[key]
    return variants


def _pending(ctx: Context, record: EndpointRecord | None) -> dict[str, Any] | None:
    """PendingDeploymentSummary while an UpdateEndpoint is rolling out."""
    deployment = record.deployment if record else None
    if deployment is None or deployment.kind is not DeploymentKind.UPDATE:
        return None
    config = ctx.backend.endpoint_configs.get(deployment.config_name)
    types = {}
    if config is not None:
        types = {
            v["VariantName"]: v.get("InstanceType")
            for v in config_spec(ctx, config)["ProductionVariants"]
        }
    variants = []
    for variant in deployment.variants or []:
        pending = {k: v for k, v in variant.items() if not k.startswith("Current")}
        if types.get(variant["VariantName"]):
            pending["InstanceType"] = types[variant["VariantName"]]
        variants.append(pending)
    return {
        "EndpointConfigName": deployment.config_name,
        "ProductionVariants": variants,
        "StartTime": wall_time(deployment.started_at),
    }


def _data_capture_summary(config: dict[str, Any]) -> dict[str, Any]:
    enabled = bool(config.get("EnableCapture", True))
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": config.get("InitialSamplingPercentage", 0),
        "DestinationS3Uri": config.get("DestinationS3Uri", ""),
        "KmsKeyId": config.get("KmsKeyId", ""),
    }


def list_endpoints(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """Settle endpoints in flight, then filter, sort and page as SageMaker does."""
    ctx.state.endpoints.settle_all()
    return listing.list_endpoints(list(ctx.backend.endpoints.values()), params)


def delete_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    endpoint = existing_endpoint(ctx, params["EndpointName"])
    guard_updatable(ctx, endpoint, verb="delete")
    deployment = Deployment(
        kind=DeploymentKind.DELETE,
        started_at=ctx.now(),
        seconds=ctx.state.transition_seconds,
    )
    ctx.state.endpoints.begin(ctx.backend, endpoint, deployment)
    return {}
