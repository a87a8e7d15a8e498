"""Models and EndpointConfigs: create/describe/delete with SageMaker's checks and messages.

moto silently overwrites an existing Model, accepts models built from model packages that do not
exist, checks instance types against a stale list (rejecting ml.g5 and newer), and words its
errors differently from AWS. The controller relies on the real behaviour (immutability,
`Cannot create already existing ...`, `Could not find ...`), so these handlers do the checks
and keep moto's objects as the store, so listing, tags and the tagging API keep working.
"""

from __future__ import annotations

from typing import Any

from controller.sandbox.context import Context
from controller.sandbox.errors import validation_error
from controller.sandbox.registry.packages import find_model_package

SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
"""The model allows 1024..6144, but SageMaker only takes whole gigabytes."""


def _spec(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "Tags"}


def containers_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    """PrimaryContainer and Containers of a CreateModel request, in order."""
    primary = params.get("PrimaryContainer")
    return ([primary] if primary else []) + list(params.get("Containers") or [])


def create_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name = params["ModelName"]
    arn = ctx.arn("model", name)
    if name in ctx.backend._models:
        raise validation_error(f'Cannot create already existing model "{arn}".')
    for container in containers_of(params):
        package = container.get("ModelPackageName")
        if package and find_model_package(ctx, package) is None:
            raise validation_error(f"Model package {package} does not exist.")
    model = ctx.backend.create_model(
        model_name=name,
        execution_role_arn=params.get("ExecutionRoleArn"),
        primary_container=params.get("PrimaryContainer"),
        vpc_config=params.get("VpcConfig"),
        containers=params.get("Containers"),
        tags=params.get("Tags"),
    )
    ctx.state.specs[model.arn] = _spec(params)
    return {"ModelArn": model.arn}


def describe_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    model = existing_model(ctx, params["ModelName"])
    out = dict(ctx.state.specs.get(model.arn) or _moto_model_spec(model))
    out.setdefault("EnableNetworkIsolation", False)
    out.update(ModelArn=model.arn, CreationTime=model.creation_time)
    return out


def _moto_model_spec(model: Any) -> dict[str, Any]:
    """What moto kept of a model created behind our back (e.g. by CloudFormation)."""
    spec: dict[str, Any] = {"ModelName": model.model_name}
    if model.primary_container:
        spec["PrimaryContainer"] = model.primary_container
    if model.containers:
        spec["Containers"] = model.containers
    if model.execution_role_arn and model.execution_role_arn != "arn:test":
        spec["ExecutionRoleArn"] = model.execution_role_arn
    return spec


def delete_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    model = existing_model(ctx, params["ModelName"])
    del ctx.backend._models[model.model_name]
    ctx.state.specs.pop(model.arn, None)
    return {}


def existing_model(ctx: Context, name: str) -> Any:
    """moto's Model, or the ValidationException AWS gives for a missing one."""
    model = ctx.backend._models.get(name)
    if model is None:
        raise validation_error(f'Could not find model "{ctx.arn("model", name)}".')
    return model


def create_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name = params["EndpointConfigName"]
    arn = ctx.arn("endpoint-config", name)
    if name in ctx.backend.endpoint_configs:
        raise validation_error(f'Cannot create already existing endpoint configuration "{arn}".')
    variants = params["ProductionVariants"]
    _check_variants(ctx, params)
    # moto's own variant check knows only old instance types; the model-driven validation
    # has already checked InstanceType against the current enum, so moto gets no variants.
    config = ctx.backend.create_endpoint_config(
        endpoint_config_name=name,
        production_variants=[],
        data_capture_config=params.get("DataCaptureConfig"),
        async_inference_config=params.get("AsyncInferenceConfig"),
        tags=params.get("Tags"),
        kms_key_id=params.get("KmsKeyId"),
    )
    config.production_variants = variants
    ctx.state.specs[config.endpoint_config_arn] = _spec(params)
    return {"EndpointConfigArn": config.endpoint_config_arn}


def _check_variants(ctx: Context, params: dict[str, Any]) -> None:
    """Production and shadow variants share one namespace of names (AWS checks both lists)."""
    seen: set[str] = set()
    for field in ("ProductionVariants", "ShadowProductionVariants"):
        path = field[:1].lower() + field[1:]
        for index, variant in enumerate(params.get(field) or [], start=1):
            name = variant["VariantName"]
            if name in seen:
                raise validation_error(
                    f'The variant name "{name}" was non-unique within the request.'
                )
            seen.add(name)
            _check_variant(ctx, variant, f"{path}.{index}.member")
    hosts_components = any(not v.get("ModelName") for v in params["ProductionVariants"])
    if hosts_components and not params.get("ExecutionRoleArn"):
        # Components are deployed with the config's role, having no model of their own here.
        raise validation_error(
            "ExecutionRoleArn must be specified when a production variant has no ModelName "
            "(an endpoint for inference components)."
        )


def _check_variant(ctx: Context, variant: dict[str, Any], path: str) -> None:
    name = variant["VariantName"]
    serverless = variant.get("ServerlessConfig")
    if serverless is None and "InstanceType" not in variant:
        raise validation_error(
            f'Production variant "{name}" must specify either InstanceType or ServerlessConfig.'
        )
    if serverless is not None and "InstanceType" in variant:
        raise validation_error(
            f'Production variant "{name}" cannot specify both InstanceType and ServerlessConfig.'
        )
    memory = (serverless or {}).get("MemorySizeInMB")
    if memory is not None and memory not in SERVERLESS_MEMORY_SIZES:
        sizes = ", ".join(str(s) for s in SERVERLESS_MEMORY_SIZES)
        raise validation_error(
            f"Value '{memory}' at '{path}.serverlessConfig.memorySizeInMB' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{sizes}]"
        )
    # A variant without ModelName hosts inference components; only those scale themselves.
    if variant.get("ModelName"):
        existing_model(ctx, variant["ModelName"])
        if variant.get("ManagedInstanceScaling"):
            raise validation_error(
                "ManagedInstanceScaling is only supported for inference component endpoints."
            )


def describe_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    config = endpoint_config(ctx, params["EndpointConfigName"])
    out = dict(ctx.state.specs.get(config.endpoint_config_arn) or _moto_config_spec(config))
    out.update(EndpointConfigArn=config.endpoint_config_arn, CreationTime=config.creation_time)
    return out


def _moto_config_spec(config: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "EndpointConfigName": config.endpoint_config_name,
        "ProductionVariants": config.production_variants,
    }
    if config.data_capture_config:
        spec["DataCaptureConfig"] = config.data_capture_config
    return spec


def delete_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    config = endpoint_config(ctx, params["EndpointConfigName"])
    del ctx.backend.endpoint_configs[config.endpoint_config_name]
    ctx.state.specs.pop(config.endpoint_config_arn, None)
    return {}


def endpoint_config(ctx: Context, name: str) -> Any:
    """moto's EndpointConfig, or the ValidationException AWS gives for a missing one."""
    config = ctx.backend.endpoint_configs.get(name)
    if config is None:
        arn = ctx.arn("endpoint-config", name)
        raise validation_error(f'Could not find endpoint configuration "{arn}".')
    return config


def config_spec(ctx: Context, config: Any) -> dict[str, Any]:
    """The full create request of a config (what deployments are built from)."""
    return ctx.state.specs.get(config.endpoint_config_arn) or _moto_config_spec(config)
