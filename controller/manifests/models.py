"""The manifest schema (apiVersion sagemaker-gitops/v1, kind Endpoint) as pydantic models.

Field names are camelCase and follow the SageMaker API's own names; limits come from the botocore
service model. Unknown fields are errors, so a typo never silently means "use the default".
Field docstrings flow into the JSON Schema in `schemas/` that editors use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from controller.manifests import botocore_model as api
from controller.manifests.base import Strict as Strict  # re-exported: other schemas build on it
from controller.manifests.scaling import Autoscaling, ComponentAutoscaling
from controller.manifests.surface import (
    AdditionalModelDataSource,
    AsyncInference,
    ContainerMetricsConfig,
    ImageConfig,
    ModelDataSource,
    MultiModelConfig,
    VariantHosting,
    VpcConfig,
)

API_VERSION = "sagemaker-gitops/v1"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d$"
TARGET_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
RESERVED_TAG_PREFIXES = ("aws:", "sagemaker-gitops/")
# Tags the controller adds itself; the SageMaker limit is 50 per resource.
MAX_USER_TAGS = 50 - 11


def _check_instance_type(value: str) -> str:
    allowed = api.enum("ProductionVariantInstanceType")
    if value not in allowed:
        raise ValueError(f"unknown instance type {value!r} (e.g. ml.m5.xlarge, ml.g5.2xlarge)")
    return value


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise ValueError(f"tag key {key!r} must be 1..128 characters")
        if len(value) > 256:
            raise ValueError(f"tag {key!r}: value must be at most 256 characters")
        if key.startswith(RESERVED_TAG_PREFIXES):
            raise ValueError(f"tag key {key!r} uses a reserved prefix {RESERVED_TAG_PREFIXES}")
    if len(tags) > MAX_USER_TAGS:
        raise ValueError(
            f"at most {MAX_USER_TAGS} tags (SageMaker allows 50; the controller uses 11)"
        )
    return tags


def _name(shape: str, what: str) -> Any:
    limits = api.shape(shape)
    return Field(
        pattern=api.pattern(shape),
        min_length=1,
        max_length=limits["max"],
        description=f"{what}; pattern {limits['pattern']}, at most {limits['max']} characters.",
    )


EndpointName = Annotated[str, _name("EndpointName", "SageMaker endpoint name")]
VariantName = Annotated[str, _name("VariantName", "Production variant name")]
# A group name, or (for a registry shared from another account) the group's ARN: the form
# ListModelPackages accepts (ArnOrName), restricted to model package groups.
GroupName = Annotated[
    str,
    Field(
        pattern=r"^(?:arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package-group/)?"
        + api.pattern("EntityName")[1:],
        min_length=1,
        max_length=api.shape("ArnOrName")["max"],
        description="Model package group name, or its ARN when the registry is in another account.",
    ),
]
InstanceType = Annotated[
    str,
    AfterValidator(_check_instance_type),
    Field(
        description="ML instance type (ProductionVariantInstanceType).",
        json_schema_extra={"enum": list(api.enum("ProductionVariantInstanceType"))},
    ),
]
S3Url = Annotated[str, Field(pattern=api.pattern("Url"), max_length=1024)]
EnvKey = Annotated[str, Field(pattern=api.pattern("EnvironmentKey"), max_length=1024)]
Environment = Annotated[dict[EnvKey, Annotated[str, Field(max_length=1024)]], Field(max_length=100)]
Tags = Annotated[dict[str, str], AfterValidator(_check_tags)]


Rule = Callable[[Mapping[str, Any]], None]
"""A cross-field rule: raises ValueError (the message a user sees) when the raw input breaks it."""


class Checked(Strict):
    """A model with rules across its fields, reported together with its field errors.

    Pydantic runs an "after" model validator only once every field is valid, so a file would
    show its errors in stages: fix a field, and a cross-field error appears. Here each model's
    wrap validator passes its rules to `validate_with_rules`: they read the raw input (skipping
    what is absent or not yet of the right type), every rule runs, and the messages they raise
    join the field errors in one `ValidationError`.
    """

    @classmethod
    def raw(cls, data: Mapping[str, Any], name: str) -> Any:
        """The raw value of field `name` (by alias or name), None when absent."""
        alias = cls.model_fields[name].alias or name
        return data.get(alias, data.get(name))

    @classmethod
    def validate_with_rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], *rules: Rule
    ) -> Self:
        problems = _broken(rules, data) if isinstance(data, Mapping) else []
        errors: list[InitErrorDetails] = []
        try:
            model = handler(data)
        except ValidationError as e:
            if not problems:
                raise
            errors = [_again(error) for error in e.errors()]
        errors += [_value_error((), message, data) for message in problems]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return model


def _broken(rules: tuple[Rule, ...], data: Mapping[str, Any]) -> list[str]:
    problems = []
    for rule in rules:
        try:
            rule(data)
        except ValueError as e:
            problems.append(str(e))
    return problems


def _again(error: Any) -> InitErrorDetails:
    """An error pydantic reported, in the form that builds a new `ValidationError`."""
    if error["type"] in ("value_error", "assertion_error"):
        # Their context (the exception) is not always kept; the message is what matters.
        return _value_error(
            error["loc"], error["msg"].removeprefix("Value error, "), error["input"]
        )
    details: InitErrorDetails = {
        "type": error["type"],
        "loc": error["loc"],
        "input": error["input"],
    }
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


def _value_error(loc: tuple[str | int, ...], message: str, data: Any) -> InitErrorDetails:
    # The message goes in as a value, not as the template: it may contain braces.
    error = PydanticCustomError("value_error", "{message}", {"message": message})
    return {"type": error, "loc": loc, "input": data}


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    """`value` as pydantic's lax float would take it, or None when it would not."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class RegistryModel(Strict):
    """A Model Registry version: the controller resolves it and deploys it by package ARN."""

    package_group: GroupName
    """Model package group name, or a group ARN in another (registry) account."""
    version: int = Field(ge=1, strict=True)
    """Pinned version number; it must be Approved in the registry."""
    environment: Environment = {}
    """Extra container environment variables set on the Model."""
    inference_specification_name: str | None = Field(
        default=None, pattern=api.pattern("InferenceSpecificationName"), max_length=63
    )
    """Which of the version's inference specifications to deploy (InferenceSpecificationName),
    for a package that has more than one; the package's own by default."""


class ImageModel(Strict):
    """Bring your own model: an inference image plus model artifacts, no registry involved."""

    image: str = Field(pattern=api.pattern("ContainerImage"), max_length=255)
    """Inference container image URI (ECR)."""
    model_data_url: S3Url | None = None
    """S3 (or https) URL of the model artifacts (model.tar.gz)."""
    model_data_source: ModelDataSource | None = None
    """Model data as an S3 prefix or object, compressed or not; instead of modelDataUrl."""
    environment: Environment = {}
    """Container environment variables."""
    mode: Literal["SingleModel", "MultiModel"] | None = None
    """MultiModel: one container serves every model under modelDataUrl (an S3 prefix), loading
    each on its first invocation (a multi-model endpoint). SingleModel by default."""
    multi_model_config: MultiModelConfig | None = None
    """Model caching of a multi-model container."""
    image_config: ImageConfig | None = None
    """Pull the image from a private registry in the endpoint's VPC (repositoryAccessMode Vpc)."""
    additional_model_data_sources: list[AdditionalModelDataSource] | None = Field(
        default=None, min_length=1, max_length=5
    )
    """Up to 5 more model data locations, each mounted as a named channel."""
    container_metrics_config: ContainerMetricsConfig | None = None
    """The container's Prometheus metrics endpoint, scraped by SageMaker."""

    @model_validator(mode="after")
    def _one_data_location(self) -> ImageModel:
        if self.model_data_url and self.model_data_source:
            raise ValueError("set at most one of modelDataUrl or modelDataSource")
        if self.multi_model_config is not None and self.mode != "MultiModel":
            raise ValueError("multiModelConfig needs mode: MultiModel")
        if self.mode == "MultiModel" and not self.model_data_url:
            raise ValueError(
                "mode MultiModel serves the models under modelDataUrl (an S3 prefix): set "
                "modelDataUrl (not modelDataSource)"
            )
        return self


class PipelineContainer(ImageModel):
    """One container of a multi-container model."""

    container_hostname: str | None = Field(
        default=None, pattern=api.pattern("ContainerHostname"), max_length=63
    )
    """Name the container is invoked by (TargetContainerHostname); required for Direct."""


class PipelineModel(Strict):
    """A multi-container model: an inference pipeline (Serial) or containers invoked one by one
    (Direct)."""

    containers: list[PipelineContainer] = Field(min_length=2, max_length=15)
    """2 to 15 containers, in pipeline order."""
    inference_execution_mode: Literal["Serial", "Direct"] = "Serial"
    """Serial: each container's output feeds the next. Direct: each is invoked on its own."""

    @model_validator(mode="after")
    def _hostnames_for_direct(self) -> PipelineModel:
        names = [c.container_hostname for c in self.containers]
        if self.inference_execution_mode == "Direct" and not all(names):
            raise ValueError(
                "inferenceExecutionMode Direct needs a containerHostname per container"
            )
        given = [n for n in names if n]
        if len(set(given)) != len(given):
            raise ValueError("containerHostname values must be unique")
        return self


def _model_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "containers" in value:
            return "PipelineModel"
        registry = "packageGroup" in value or "package_group" in value
        return "RegistryModel" if registry else "ImageModel"
    return type(value).__name__


ModelSource = Annotated[
    Annotated[RegistryModel, Tag("RegistryModel")]
    | Annotated[ImageModel, Tag("ImageModel")]
    | Annotated[PipelineModel, Tag("PipelineModel")],
    Discriminator(_model_kind),
]
# An inference component runs one container: a registry version or a bring-your-own image.
ComponentModelSource = Annotated[
    Annotated[RegistryModel, Tag("RegistryModel")] | Annotated[ImageModel, Tag("ImageModel")],
    Discriminator(
        _model_kind,
        custom_error_type="component_model",
        custom_error_message=(
            "an inference component runs one container: packageGroup + version, or image"
        ),
    ),
]


class Serverless(Checked):
    """Serverless inference settings (ProductionVariantServerlessConfig)."""

    memory_size_in_mb: int = Field(alias="memorySizeInMB", ge=1024, le=6144, multiple_of=1024)
    """Memory in MB: 1024, 2048, 3072, 4096, 5120 or 6144."""
    max_concurrency: int = Field(ge=1, le=200)
    """Maximum concurrent invocations."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)
    """Pre-warmed concurrency; at most maxConcurrency."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Serverless]) -> Serverless:
        def provisioned_within_max(raw: Mapping[str, Any]) -> None:
            provisioned = _integer(cls.raw(raw, "provisioned_concurrency"))
            most = _integer(cls.raw(raw, "max_concurrency"))
            if provisioned is not None and most is not None and provisioned > most:
                raise ValueError("provisionedConcurrency must not exceed maxConcurrency")

        return cls.validate_with_rules(data, handler, provisioned_within_max)


class ScaleInPolicy(Strict):
    """How managed instance scaling removes instances (ProductionVariantManagedInstanceScaling
    ScaleInPolicy)."""

    strategy: Literal["IDLE_RELEASE", "CONSOLIDATION"]
    """IDLE_RELEASE or CONSOLIDATION (ManagedInstanceScalingScaleInStrategy)."""
    maximum_step_size: int | None = Field(
        default=None,
        ge=api.shape("ManagedInstanceScalingMaximumStepSize")["min"],
        le=api.shape("ManagedInstanceScalingMaximumStepSize")["max"],
    )
    """Instances a consolidation may terminate at a time (1 by default)."""
    cooldown_in_minutes: int | None = Field(
        default=None,
        ge=api.shape("ManagedInstanceScalingCooldownInMinutes")["min"],
        le=api.shape("ManagedInstanceScalingCooldownInMinutes")["max"],
    )
    """Minutes after the last endpoint operation before consolidation is considered (20)."""


class ManagedInstanceScaling(Checked):
    """Instance scaling SageMaker manages for a variant hosting inference components."""

    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    """ENABLED (SageMaker adds and removes instances for the copies) or DISABLED (the
    variant keeps initialInstanceCount; the counts below may then be left out)."""
    min_instance_count: int | None = Field(default=None, ge=0)
    """Instances kept when traffic drops (0 lets the variant scale in to none)."""
    max_instance_count: int | None = Field(default=None, ge=1)
    """Instances SageMaker may provision for the components' copies."""
    scale_in_policy: ScaleInPolicy | None = None
    """How instances are released when copies scale in."""

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLED"

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[ManagedInstanceScaling]
    ) -> ManagedInstanceScaling:
        def min_within_max(raw: Mapping[str, Any]) -> None:
            least = _integer(cls.raw(raw, "min_instance_count"))
            most = _integer(cls.raw(raw, "max_instance_count"))
            if least is not None and most is not None and least > most:
                raise ValueError("minInstanceCount must not exceed maxInstanceCount")

        def counts_when_enabled(raw: Mapping[str, Any]) -> None:
            if cls.raw(raw, "status") in (None, "ENABLED"):
                names = ("min_instance_count", "max_instance_count")
                if any(cls.raw(raw, name) is None for name in names):
                    raise ValueError("minInstanceCount and maxInstanceCount are required")

        return cls.validate_with_rules(data, handler, min_within_max, counts_when_enabled)


class Variant(VariantHosting, Checked):
    """One production variant: a model and the capacity that serves it, or (without a model)
    instances that host inference components."""

    name: VariantName
    """Variant name (VariantName), unique within the endpoint."""
    model: ModelSource | None = None
    """Registry version (packageGroup + version), bring-your-own (image + modelDataUrl or
    modelDataSource), or several containers (containers + inferenceExecutionMode); left out on
    endpoints whose models are inference components."""
    instance_type: InstanceType | None = None
    """Instance type for instance-based variants; leave out for serverless."""
    initial_instance_count: int | None = Field(default=None, ge=1)
    """Instance count (instance-based variants only); defaults to 1."""
    initial_weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    """Relative traffic weight (InitialVariantWeight)."""
    serverless: Serverless | None = None
    """Serverless settings; mutually exclusive with instanceType."""
    volume_size_in_gb: int | None = Field(default=None, alias="volumeSizeInGB", ge=1, le=512)
    """ML storage volume size (instance-based variants only)."""
    autoscaling: Autoscaling | None = None
    """Application Auto Scaling of the instance count (instance-based variants only). While a
    scalable target owns the variant, the controller never resets its live instance count."""
    managed_instance_scaling: ManagedInstanceScaling | None = None
    """Instance scaling for a variant hosting inference components (no model)."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Variant]) -> Variant:
        def one_capacity_kind(raw: Mapping[str, Any]) -> None:
            serverless = cls.raw(raw, "serverless") is not None
            if (cls.raw(raw, "instance_type") is None) != serverless:
                raise ValueError("set exactly one of instanceType or serverless")
            sized = ("initial_instance_count", "volume_size_in_gb")
            if serverless and any(cls.raw(raw, name) for name in sized):
                raise ValueError("initialInstanceCount and volumeSizeInGB need instanceType")

        def hosting_needs_no_model(raw: Mapping[str, Any]) -> None:
            has_model = cls.raw(raw, "model") is not None
            if not has_model and cls.raw(raw, "serverless") is not None:
                raise ValueError("a variant hosting inference components needs instanceType")
            if has_model and cls.raw(raw, "managed_instance_scaling") is not None:
                raise ValueError(
                    "managedInstanceScaling is for variants hosting inference components "
                    "(without a model)"
                )

        return cls.validate_with_rules(data, handler, one_capacity_kind, hosting_needs_no_model)

    @model_validator(mode="after")
    def _scaling_and_hosting_fit(self) -> Variant:
        hosting = VariantHosting.model_fields
        if self.serverless and (self.autoscaling or any(getattr(self, f) for f in hosting)):
            names = ", ".join(["autoscaling", *(hosting[f].alias or f for f in hosting)])
            raise ValueError(f"{names} need instanceType")
        scaling, count = self.autoscaling, self.initial_instance_count
        if scaling and count and not scaling.min_capacity <= count <= scaling.max_capacity:
            raise ValueError(
                f"initialInstanceCount {count} must be within autoscaling "
                f"[minCapacity {scaling.min_capacity}, maxCapacity {scaling.max_capacity}]"
            )
        return self

    @property
    def instance_count(self) -> int | None:
        """The effective instance count: 1 when instance-based and unset (at least the
        autoscaling minCapacity), None when serverless."""
        if self.serverless is not None:
            return None
        floor = self.autoscaling.min_capacity if self.autoscaling else 1
        return self.initial_instance_count or floor


class CapacitySize(Strict):
    """A batch or step size for traffic shifting (CapacitySize)."""

    type: Literal["INSTANCE_COUNT", "CAPACITY_PERCENT"]
    """INSTANCE_COUNT or CAPACITY_PERCENT."""
    value: int = Field(ge=1)
    """Instances, or percent of capacity."""

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> CapacitySize:
        if self.type == "CAPACITY_PERCENT" and self.value > 100:
            raise ValueError("a CAPACITY_PERCENT value is at most 100")
        return self


class TrafficRouting(Checked):
    """How blue/green shifts traffic (TrafficRoutingConfig)."""

    type: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"]
    """ALL_AT_ONCE, CANARY or LINEAR."""
    wait_interval_in_seconds: int = Field(ge=0, le=3600)
    """Wait between traffic shifting steps."""
    canary_size: CapacitySize | None = None
    """Size of the canary step (CANARY only)."""
    linear_step_size: CapacitySize | None = None
    """Size of each linear step (LINEAR only)."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[TrafficRouting]
    ) -> TrafficRouting:
        # An unknown type is the type field's error, which says what is allowed.
        known = ("ALL_AT_ONCE", "CANARY", "LINEAR")

        def canary_size(raw: Mapping[str, Any]) -> None:
            kind = cls.raw(raw, "type")
            if kind in known and (kind == "CANARY") != (cls.raw(raw, "canary_size") is not None):
                raise ValueError("canarySize is required for CANARY and only allowed there")

        def linear_step_size(raw: Mapping[str, Any]) -> None:
            kind = cls.raw(raw, "type")
            step = cls.raw(raw, "linear_step_size")
            if kind in known and (kind == "LINEAR") != (step is not None):
                raise ValueError("linearStepSize is required for LINEAR and only allowed there")

        return cls.validate_with_rules(data, handler, canary_size, linear_step_size)

    @model_validator(mode="after")
    def _steps_at_most_half(self) -> TrafficRouting:
        for what, size in (
            ("canarySize", self.canary_size),
            ("linearStepSize", self.linear_step_size),
        ):
            if size is not None and size.type == "CAPACITY_PERCENT" and size.value > 50:
                raise ValueError(
                    f"{what}: at most 50 percent of the fleet (SageMaker shifts to the canary "
                    "or step first, so more than half is no longer a guarded rollout)"
                )
        return self


class BlueGreenUpdatePolicy(Strict):
    """Blue/green deployment (BlueGreenUpdatePolicy)."""

    traffic_routing_configuration: TrafficRouting
    """Traffic shifting mode."""
    termination_wait_in_seconds: int | None = Field(default=None, ge=0, le=3600)
    """Time to keep the old fleet after the shift."""
    maximum_execution_timeout_in_seconds: int | None = Field(default=None, ge=600, le=28800)
    """Upper bound for the whole deployment."""


class RollingUpdatePolicy(Strict):
    """Rolling deployment (RollingUpdatePolicy)."""

    maximum_batch_size: CapacitySize
    """Instances updated per batch."""
    wait_interval_in_seconds: int = Field(ge=0, le=3600)
    """Wait between batches."""
    maximum_execution_timeout_in_seconds: int | None = Field(default=None, ge=600, le=28800)
    """Upper bound for the whole deployment."""
    rollback_maximum_batch_size: CapacitySize | None = None
    """Batch size used when rolling back."""


class Alarm(Strict):
    """A CloudWatch alarm that triggers automatic rollback."""

    alarm_name: str = Field(min_length=1, max_length=255, pattern=r"\S")
    """CloudWatch alarm name."""


class AutoRollbackConfiguration(Strict):
    """Alarms that roll a deployment back (AutoRollbackConfig)."""

    alarms: list[Alarm] = Field(min_length=1, max_length=10)
    """1 to 10 alarms."""


class EndpointAutoRollback(Strict):
    """Alarms that roll an endpoint's deployment back: named by hand, generated from a pipeline
    stage's checks, or both (up to 10 in all, SageMaker's limit)."""

    from_pipeline: str | None = Field(default=None, pattern=TARGET_NAME_PATTERN)
    """Also one alarm per check (and bound) of the stage of this `kind: Pipeline` that selects
    the endpoint, with the stage's thresholds, per production variant serving the pipeline's
    groups: the controller puts them before each rollout that names them and deletes those a
    rollout no longer names (docs/stages.md)."""
    alarms: list[Alarm] = Field(default=[], max_length=10, validate_default=True)
    """Alarms you manage, by name (at least one unless `fromPipeline` is given)."""

    @field_validator("alarms")
    @classmethod
    def _some(cls, value: list[Alarm], info: ValidationInfo) -> list[Alarm]:
        if not value and info.data.get("from_pipeline") is None:
            raise ValueError("name at least one alarm, or give fromPipeline")
        return value


class Deployment(Checked):
    """UpdateEndpoint DeploymentConfig: how a new EndpointConfig is rolled out."""

    blue_green_update_policy: BlueGreenUpdatePolicy | None = None
    """Blue/green: all at once, canary or linear."""
    rolling_update_policy: RollingUpdatePolicy | None = None
    """Rolling update in batches."""
    auto_rollback_configuration: EndpointAutoRollback | None = None
    """Alarms that roll back automatically."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Deployment]) -> Deployment:
        def one_policy(raw: Mapping[str, Any]) -> None:
            policies = ("blue_green_update_policy", "rolling_update_policy")
            if all(cls.raw(raw, name) is not None for name in policies):
                raise ValueError("set at most one of blueGreenUpdatePolicy or rollingUpdatePolicy")

        return cls.validate_with_rules(data, handler, one_policy)


ComponentName = Annotated[str, _name("InferenceComponentName", "Inference component name")]


class ComponentCompute(Checked):
    """What one copy reserves on an instance (InferenceComponentComputeResourceRequirements)."""

    cpu_cores: float | None = Field(default=None, ge=0.25, allow_inf_nan=False)
    """CPU cores per copy (NumberOfCpuCoresRequired), at least 0.25."""
    accelerator_devices: float | None = Field(default=None, ge=1, allow_inf_nan=False)
    """GPUs or Inferentia devices per copy (NumberOfAcceleratorDevicesRequired)."""
    min_memory_mb: int = Field(ge=128)
    """Memory reserved per copy in MB (MinMemoryRequiredInMb), at least 128."""
    max_memory_mb: int | None = Field(default=None, ge=128)
    """Memory limit per copy in MB (MaxMemoryRequiredInMb)."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[ComponentCompute]
    ) -> ComponentCompute:
        def max_not_below_min(raw: Mapping[str, Any]) -> None:
            least = _integer(cls.raw(raw, "min_memory_mb"))
            most = _integer(cls.raw(raw, "max_memory_mb"))
            if least is not None and most is not None and most < least:
                raise ValueError("maxMemoryMb must not be below minMemoryMb")

        return cls.validate_with_rules(data, handler, max_not_below_min)


class ComponentStartup(Strict):
    """Timeouts while a copy starts (InferenceComponentStartupParameters)."""

    model_data_download_timeout_in_seconds: int | None = Field(default=None, ge=60, le=3600)
    """Time to download and extract the model data, 60..3600 seconds."""
    container_startup_health_check_timeout_in_seconds: int | None = Field(
        default=None, ge=60, le=3600
    )
    """Time for the container to pass its first ping, 60..3600 seconds."""


class ComponentBatchSize(Strict):
    """A rolling batch in copies or percent of copies (InferenceComponentCapacitySize)."""

    type: Literal["COPY_COUNT", "CAPACITY_PERCENT"]
    """COPY_COUNT or CAPACITY_PERCENT."""
    value: int = Field(ge=1)
    """Copies, or percent of the copy count."""


def _batch(raw: Any) -> tuple[Any, int | None]:
    """(type, value) of a raw ComponentBatchSize mapping; (None, None) when not one."""
    if not isinstance(raw, Mapping):
        return None, None
    return raw.get("type"), _integer(raw.get("value"))


class ComponentRollingUpdate(Checked):
    """How a component's copies are replaced (InferenceComponentRollingUpdatePolicy)."""

    maximum_batch_size: ComponentBatchSize
    """Copies replaced per batch: 5% to 50% of the copy count."""
    wait_interval_in_seconds: int = Field(ge=0, le=3600)
    """Baking period per batch, while rollback alarms are watched."""
    maximum_execution_timeout_in_seconds: int | None = Field(default=None, ge=600, le=28800)
    """Upper bound for the whole update."""
    rollback_maximum_batch_size: ComponentBatchSize | None = None
    """Batch size used when rolling back."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[ComponentRollingUpdate]
    ) -> ComponentRollingUpdate:
        def percent_range(raw: Mapping[str, Any]) -> None:
            kind, value = _batch(cls.raw(raw, "maximum_batch_size"))
            if kind == "CAPACITY_PERCENT" and value is not None and not 5 <= value <= 50:
                raise ValueError("a CAPACITY_PERCENT maximumBatchSize must be 5..50")

        def rollback_percent(raw: Mapping[str, Any]) -> None:
            kind, value = _batch(cls.raw(raw, "rollback_maximum_batch_size"))
            if kind == "CAPACITY_PERCENT" and value is not None and value > 100:
                raise ValueError("a CAPACITY_PERCENT rollbackMaximumBatchSize must be at most 100")

        return cls.validate_with_rules(data, handler, percent_range, rollback_percent)


class ComponentDeployment(Strict):
    """How a component update rolls out (InferenceComponentDeploymentConfig)."""

    rolling_update_policy: ComponentRollingUpdate
    """Rolling update in batches of copies."""
    auto_rollback_configuration: AutoRollbackConfiguration | None = None
    """Alarms that roll the update back automatically."""


class InferenceComponent(Checked):
    """One model hosted on a variant without a model, with its own copies and compute."""

    name: ComponentName
    """Inference component name, chosen by you; unique in the account and region."""
    variant: VariantName
    """The variant (without a model) whose instances host the copies."""
    model: ComponentModelSource
    """Registry version (packageGroup + version) or bring-your-own (image + modelDataUrl)."""
    compute: ComponentCompute
    """Resources each copy reserves."""
    copies: int = Field(default=1, ge=0)
    """Number of copies (RuntimeConfig CopyCount)."""
    startup: ComponentStartup | None = None
    """Download and health-check timeouts."""
    deployment: ComponentDeployment | None = None
    """How updates of the model or compute roll out."""
    autoscaling: ComponentAutoscaling | None = None
    """Application Auto Scaling of the copy count (then `copies` is only the first count)."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: ModelWrapValidatorHandler[InferenceComponent]
    ) -> InferenceComponent:
        def batch_fits_copies(raw: Mapping[str, Any]) -> None:
            copies = _integer(cls.raw(raw, "copies"))
            copies = 1 if cls.raw(raw, "copies") is None else copies
            deployment = cls.raw(raw, "deployment")
            policy = (
                deployment.get("rollingUpdatePolicy") if isinstance(deployment, Mapping) else None
            )
            if not isinstance(policy, Mapping) or copies is None:
                return
            kind, value = _batch(policy.get("maximumBatchSize"))
            if kind == "COPY_COUNT" and value is not None and value > max(1, copies // 2):
                raise ValueError(
                    f"deployment: a batch of {value} copies is more than half of {copies} "
                    "copies (SageMaker allows 5%..50%)"
                )

        return cls.validate_with_rules(data, handler, batch_fits_copies)

    @model_validator(mode="after")
    def _copies_within_autoscaling(self) -> InferenceComponent:
        scaling = self.autoscaling
        if scaling and not scaling.min_capacity <= self.copies <= scaling.max_capacity:
            raise ValueError(
                f"copies {self.copies} must be within autoscaling "
                f"[minCapacity {scaling.min_capacity}, maxCapacity {scaling.max_capacity}]"
            )
        return self


class CaptureOption(Strict):
    """What to capture."""

    capture_mode: Literal["Input", "Output", "InputAndOutput"]
    """Input, Output or InputAndOutput."""


class CaptureContentTypeHeader(Strict):
    """Content types recorded as CSV or JSON."""

    csv_content_types: list[str] | None = Field(default=None, min_length=1, max_length=10)
    """Content types treated as CSV."""
    json_content_types: list[str] | None = Field(default=None, min_length=1, max_length=10)
    """Content types treated as JSON."""


class DataCapture(Strict):
    """Data capture for model monitoring (DataCaptureConfig)."""

    enable_capture: bool = True
    """Whether capture is on."""
    initial_sampling_percentage: int = Field(ge=0, le=100)
    """Percentage of requests captured."""
    destination_s3_uri: S3Url
    """Where captured data goes."""
    kms_key_id: str | None = Field(default=None, max_length=2048)
    """KMS key for the captured data."""
    capture_options: list[CaptureOption] = Field(min_length=1, max_length=2)
    """Input and/or Output."""
    capture_content_type_header: CaptureContentTypeHeader | None = None
    """Content-type hints."""


class Metadata(Strict):
    """Identity of the endpoint."""

    name: EndpointName
    """The SageMaker endpoint name."""
    labels: dict[str, str] = {}
    """Free-form labels for policies and selectors."""


class EndpointSpec(Checked):
    """What the endpoint should serve and how."""

    region: str | None = Field(default=None, pattern=REGION_PATTERN)
    """AWS region; defaults to the AWS configuration."""
    target: str | None = Field(default=None, pattern=TARGET_NAME_PATTERN)
    """Name of a `kind: Target` (account, region, role) to deploy to; excludes region."""
    execution_role_arn: str = Field(pattern=api.pattern("RoleArn"), min_length=20, max_length=2048)
    """IAM role SageMaker assumes to pull images and model data."""
    variants: list[Variant] = Field(min_length=1, max_length=10)
    """1 to 10 production variants."""
    shadow_variants: list[Variant] = Field(default=[], max_length=1)
    """Shadow variants (ShadowProductionVariants), same shape as variants: they receive a copy
    of the production traffic (initialWeight sets the sampled share) and their responses are
    discarded. SageMaker allows one, next to exactly one production variant."""
    deployment: Deployment | None = None
    """How updates roll out (UpdateEndpoint DeploymentConfig)."""
    inference_components: list[InferenceComponent] = []
    """Models hosted as inference components on variants without a model."""
    data_capture: DataCapture | None = None
    """Data capture settings (part of the EndpointConfig)."""
    kms_key_id: str | None = Field(default=None, max_length=2048)
    """KMS key for the ML storage volumes."""
    async_inference: AsyncInference | None = None
    """Serve asynchronously: queue requests, write results to S3 (AsyncInferenceConfig)."""
    vpc_config: VpcConfig | None = None
    """Run every Model of the endpoint in this VPC (Model VpcConfig)."""
    enable_network_isolation: bool = False
    """No network access for the Models' containers (Model EnableNetworkIsolation)."""
    tags: Tags = {}
    """Tags on every resource made for this endpoint (reserved: aws:, sagemaker-gitops/)."""
    adopt: bool = False
    """Take over an existing endpoint of this name that the controller does not own, or that
    another scope (manifest tree) of this controller deploys; without it either is an error."""
    suspend: bool = False
    """Stop applying changes to this endpoint (plans still report them)."""

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[EndpointSpec]) -> EndpointSpec:
        def variants_of(raw: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
            """The variants when every one is a mapping; else None (a field error says so)."""
            variants = cls.raw(raw, "variants")
            if not isinstance(variants, list) or not variants:
                return None
            items = [v for v in variants if isinstance(v, Mapping)]
            return items if len(items) == len(variants) else None

        def unique_names(raw: Mapping[str, Any]) -> None:
            names = [Variant.raw(v, "name") for v in variants_of(raw) or []]
            duplicates = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
            if duplicates:
                raise ValueError(f"variant names must be unique; repeated: {', '.join(duplicates)}")

        def some_weight(raw: Mapping[str, Any]) -> None:
            items = variants_of(raw) or []
            weights = [Variant.raw(v, "initial_weight") for v in items]
            numbers = [1.0 if w is None else _number(w) for w in weights]
            if items and None not in numbers and sum(n or 0.0 for n in numbers) <= 0:
                raise ValueError("at least one variant needs a positive initialWeight")

        def region_or_target(raw: Mapping[str, Any]) -> None:
            if cls.raw(raw, "region") is not None and cls.raw(raw, "target") is not None:
                raise ValueError("set at most one of region or target (a target names its region)")

        return cls.validate_with_rules(data, handler, unique_names, some_weight, region_or_target)

    @model_validator(mode="after")
    def _shadows_and_rolling_fit(self) -> EndpointSpec:
        names = [v.name for v in self.variants + self.shadow_variants]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"variant names must be unique; repeated: {', '.join(repeated)}")
        if self.shadow_variants and len(self.variants) != 1:
            raise ValueError("shadowVariants need exactly one production variant")
        if any(v.autoscaling for v in self.shadow_variants):
            raise ValueError("autoscaling is for production variants, not shadowVariants")
        rolling = self.deployment is not None and self.deployment.rolling_update_policy
        if rolling and (len(self.variants) > 1 or any(v.serverless for v in self.variants)):
            raise ValueError(
                "deployment.rollingUpdatePolicy needs exactly one instance-based variant "
                "(SageMaker does not roll serverless or multi-variant endpoints); use "
                "blueGreenUpdatePolicy"
            )
        return self

    @property
    def hosts_components(self) -> bool:
        """An endpoint whose models are inference components (its variants carry none)."""
        return bool(self.inference_components) or any(v.model is None for v in self.variants)


class EndpointManifest(Strict):
    """One endpoint manifest document."""

    api_version: Literal["sagemaker-gitops/v1"]
    """Always sagemaker-gitops/v1."""
    kind: Literal["Endpoint"]
    """Always Endpoint."""
    metadata: Metadata
    """Name and labels."""
    spec: EndpointSpec
    """Desired state."""
