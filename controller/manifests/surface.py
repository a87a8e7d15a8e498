"""More of SageMaker's hosting surface: variant hosting options, async inference, VPC, and the
container options (multi-model, private registries, extra model data, metrics, gated models).

Field names are SageMaker's own (camelCase); limits and enums come from the botocore model. Each
of these is part of the EndpointConfig or Model, so changing one is a config change (rollout).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from controller.manifests import botocore_model as api
from controller.manifests.base import Strict

S3Uri = Annotated[str, Field(pattern=api.pattern("DestinationS3Uri"), max_length=512)]
SnsTopic = Annotated[str, Field(pattern=api.pattern("SnsTopicArn"), max_length=2048)]
KmsKey = Annotated[str, Field(pattern=api.pattern("KmsKeyId"), max_length=2048)]
NetworkId = Annotated[str, Field(pattern=api.pattern("SubnetId"), min_length=1, max_length=32)]


def _bounded(shape: str) -> Any:
    """An integer within the shape's min..max."""
    limits = api.shape(shape)
    return Field(ge=limits["min"], le=limits["max"])


def _one_of(shape: str) -> Any:
    """A string from the shape's enum (listed in the JSON Schema too)."""
    allowed = api.enum(shape)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return AfterValidator(check), Field(json_schema_extra={"enum": list(allowed)})


TopicType = Annotated[str, *_one_of("AsyncNotificationTopicTypes")]
AmiVersion = Annotated[str, *_one_of("ProductionVariantInferenceAmiVersion")]
HealthCheckTimeout = Annotated[
    int, _bounded("ProductionVariantContainerStartupHealthCheckTimeoutInSeconds")
]
DownloadTimeout = Annotated[int, _bounded("ProductionVariantModelDataDownloadTimeoutInSeconds")]
Concurrency = Annotated[int, _bounded("MaxConcurrentInvocationsPerInstance")]


class RoutingConfig(Strict):
    """How requests reach a variant's instances (ProductionVariantRoutingConfig)."""

    routing_strategy: Annotated[str, *_one_of("RoutingStrategy")]
    """LEAST_OUTSTANDING_REQUESTS or RANDOM."""


class CapacityReservation(Strict):
    """Serve from reserved ML capacity (ProductionVariantCapacityReservationConfig): the GPU
    capacity LLM teams book ahead (a training plan or an ML capacity reservation)."""

    capacity_reservation_preference: Annotated[str, *_one_of("CapacityReservationPreference")]
    """capacity-reservations-only: launch instances only from the reservation."""
    ml_reservation_arn: Annotated[
        str, Field(pattern=api.pattern("MlReservationArn"), min_length=20, max_length=258)
    ]
    """ARN of the reservation (arn:aws:sagemaker:REGION:ACCOUNT:training-plan/NAME, ...)."""


class CoreDumpConfig(Strict):
    """Where a crashing container's core dump goes (ProductionVariantCoreDumpConfig)."""

    destination_s3_uri: S3Uri
    """S3 location for the dumps."""
    kms_key_id: KmsKey | None = None
    """KMS key that encrypts the dumps."""


class VariantHosting(Strict):
    """Hosting options of an instance-based production variant."""

    inference_ami_version: AmiVersion | None = None
    """AMI the instances run (InferenceAmiVersion), e.g. al2-ami-sagemaker-inference-gpu-2."""
    routing_config: RoutingConfig | None = None
    """Request routing across the variant's instances."""
    enable_ssm_access: bool | None = None
    """SSM access to the variant's containers (EnableSSMAccess)."""
    container_startup_health_check_timeout_in_seconds: HealthCheckTimeout | None = None
    """Seconds the container may take to pass its health check (60-3600)."""
    model_data_download_timeout_in_seconds: DownloadTimeout | None = None
    """Seconds the model data may take to download (60-3600)."""
    capacity_reservation_config: CapacityReservation | None = None
    """Launch the variant's instances from an ML capacity reservation."""
    core_dump_config: CoreDumpConfig | None = None
    """Keep containers' core dumps in S3."""


class AsyncClientConfig(Strict):
    """Async inference client settings (AsyncInferenceClientConfig)."""

    max_concurrent_invocations_per_instance: Concurrency | None = None
    """Concurrent requests per instance (1-1000); SageMaker picks a value when unset."""


class AsyncNotificationConfig(Strict):
    """SNS topics told about async results (AsyncInferenceNotificationConfig)."""

    success_topic: SnsTopic | None = None
    """SNS topic for successful inferences."""
    error_topic: SnsTopic | None = None
    """SNS topic for failed inferences."""
    include_inference_response_in: list[TopicType] | None = Field(default=None, max_length=2)
    """Topics whose notification carries the response: SUCCESS_/ERROR_NOTIFICATION_TOPIC."""


class AsyncOutputConfig(Strict):
    """Where async results go (AsyncInferenceOutputConfig)."""

    s3_output_path: S3Uri | None = None
    """S3 location of results."""
    s3_failure_path: S3Uri | None = None
    """S3 location of failures."""
    kms_key_id: KmsKey | None = None
    """KMS key that encrypts the results."""
    notification_config: AsyncNotificationConfig | None = None
    """SNS notifications."""


class AsyncInference(Strict):
    """Asynchronous inference (AsyncInferenceConfig): requests are queued, results go to S3."""

    client_config: AsyncClientConfig | None = None
    """Concurrency per instance."""
    output_config: AsyncOutputConfig
    """Result and failure locations, KMS key, notifications."""


class VpcConfig(Strict):
    """The VPC the Models' containers run in (VpcConfig)."""

    security_group_ids: list[NetworkId] = Field(min_length=1, max_length=5)
    """1 to 5 security group ids (sg-...)."""
    subnets: list[NetworkId] = Field(min_length=1, max_length=16)
    """1 to 16 subnet ids (subnet-...)."""


class ModelAccessConfig(Strict):
    """Acceptance of a gated model's end-user license agreement (ModelAccessConfig)."""

    accept_eula: bool
    """Must be true: you accept the license of the model (Llama and other gated JumpStart
    models do not deploy without it). The plan shows it on every change of the model."""

    @field_validator("accept_eula")
    @classmethod
    def _accepted(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(
                "acceptEula must be true (it accepts the model's license; a gated model does "
                "not deploy without it); leave modelAccessConfig out for a model without one"
            )
        return value


class S3DataSource(Strict):
    """Model artifacts in S3, compressed or not (S3ModelDataSource)."""

    s3_uri: Annotated[str, Field(pattern=api.pattern("S3ModelUri"), max_length=1024)]
    """An S3 prefix (ending in /) for S3Prefix, an object for S3Object."""
    s3_data_type: Annotated[str, *_one_of("S3ModelDataType")]
    """S3Prefix (uncompressed files under a prefix) or S3Object (one object)."""
    compression_type: Annotated[str, *_one_of("ModelCompressionType")]
    """None (uncompressed) or Gzip (a model.tar.gz)."""
    model_access_config: ModelAccessConfig | None = None
    """License acceptance for a gated model."""

    @model_validator(mode="after")
    def _gzip_is_one_object(self) -> S3DataSource:
        if self.compression_type == "Gzip" and self.s3_data_type != "S3Object":
            raise ValueError("compressionType Gzip needs s3DataType S3Object")
        return self


class ModelDataSource(Strict):
    """Where the model data comes from (ModelDataSource); instead of modelDataUrl."""

    s3_data_source: S3DataSource
    """The S3 location and its layout."""


class AdditionalModelDataSource(Strict):
    """More model data mounted beside the main one (AdditionalModelDataSource), e.g. a draft
    model for speculative decoding."""

    channel_name: Annotated[
        str,
        Field(pattern=api.pattern("AdditionalModelChannelName"), min_length=1, max_length=64),
    ]
    """Name of the channel (the directory under /opt/ml/additional-model-data-sources)."""
    s3_data_source: S3DataSource
    """The S3 location and its layout."""


class MultiModelConfig(Strict):
    """Settings of a multi-model container (MultiModelConfig)."""

    model_cache_setting: Annotated[str, *_one_of("ModelCacheSetting")] | None = None
    """Enabled (default: models stay cached on the instance) or Disabled (for many models
    invoked rarely)."""


class RepositoryAuthConfig(Strict):
    """Credentials for a private registry (RepositoryAuthConfig)."""

    repository_credentials_provider_arn: str = Field(min_length=1, max_length=2048)
    """ARN of the Lambda function that returns the registry's credentials."""


class ImageConfig(Strict):
    """Where the image is pulled from (ImageConfig)."""

    repository_access_mode: Annotated[str, *_one_of("RepositoryAccessMode")]
    """Platform (ECR) or Vpc (a private registry reached through the endpoint's vpcConfig)."""
    repository_auth_config: RepositoryAuthConfig | None = None
    """Credentials for a private registry that needs them."""


def _metrics_path(value: str) -> str:
    # The shape's pattern has a look-ahead (no ".."), which pydantic's regex engine lacks.
    if re.fullmatch(api.pattern("MetricsEndpointPath"), value) is None:
        raise ValueError(
            f"{value!r} is not a metrics path: it starts with /, has letters, digits, /, _, "
            "., - and no '..'"
        )
    return value


class MetricsEndpoint(Strict):
    """A path the container serves Prometheus metrics on (MetricsEndpoint)."""

    metrics_endpoint_path: Annotated[
        str, AfterValidator(_metrics_path), Field(min_length=1, max_length=256)
    ]
    """For example /metrics."""
    metric_publish_frequency_in_seconds: Literal[10, 30, 60, 120, 180, 240, 300] | None = None
    """How often the scraped metrics reach CloudWatch (60 by default)."""


class ContainerMetricsConfig(Strict):
    """Metrics SageMaker scrapes from the container (ContainerMetricsConfig)."""

    metrics_endpoints: list[MetricsEndpoint] = Field(min_length=1, max_length=1)
    """The container's metrics endpoint (one)."""
