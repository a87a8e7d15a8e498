"""The hosting surface round-trips exactly; request recording; autoscaling-aware UpdateEndpoint."""

from __future__ import annotations

from typing import Any

import pytest
from component_helpers import ROUTING, SCALING, clear_recorded, ic_variant, recorded
from sandbox_helpers import (
    IMAGE,
    ROLE,
    ManualClock,
    client,
    error_of,
    make_config,
    make_endpoint,
    make_model,
)

from controller.sandbox import Sandbox
from controller.sandbox.instrument.recording import RequestLog

VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0a", "subnet-0b"]}
UNCOMPRESSED = {
    "S3DataSource": {
        "S3Uri": "s3://models/llm/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
}
KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_create_model_round_trips_every_field(sm: Any) -> None:
    request = {
        "ModelName": "pipeline",
        "ExecutionRoleArn": ROLE,
        "Containers": [
            {"Image": IMAGE, "ModelDataSource": UNCOMPRESSED, "Environment": {"A": "1"}},
            {
                "Image": IMAGE,
                "ModelDataUrl": "s3://models/post/model.tar.gz",
                "ContainerHostname": "post",
            },
        ],
        "InferenceExecutionConfig": {"Mode": "Direct"},
        "VpcConfig": VPC,
        "EnableNetworkIsolation": True,
    }
    sm.create_model(**request)
    described = sm.describe_model(ModelName="pipeline")
    assert {k: described[k] for k in request} == request
    assert described["ModelArn"].endswith(":model/pipeline")


def test_create_endpoint_config_round_trips_every_field(sm: Any) -> None:
    make_model(sm, "m1")
    make_model(sm, "m2")
    variant = {
        "VariantName": "primary",
        "ModelName": "m1",
        "InstanceType": "ml.g5.xlarge",
        "InitialInstanceCount": 2,
        "InitialVariantWeight": 1.0,
        "InferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-2",
        "RoutingConfig": ROUTING,
        "EnableSSMAccess": True,
        "ContainerStartupHealthCheckTimeoutInSeconds": 600,
        "ModelDataDownloadTimeoutInSeconds": 1200,
        "VolumeSizeInGB": 100,
        "CapacityReservationConfig": {
            "CapacityReservationPreference": "capacity-reservations-only",
            "MlReservationArn": "arn:aws:sagemaker:us-east-1:123456789012:training-plan/gpus",
        },
        "CoreDumpConfig": {"DestinationS3Uri": "s3://dumps/", "KmsKeyId": KMS},
    }
    request = {
        "EndpointConfigName": "full",
        "ProductionVariants": [variant],
        "ShadowProductionVariants": [{**variant, "VariantName": "shadow", "ModelName": "m2"}],
        "AsyncInferenceConfig": {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
            "OutputConfig": {
                "KmsKeyId": KMS,
                "S3OutputPath": "s3://out/",
                "S3FailurePath": "s3://out/failed/",
                "NotificationConfig": {
                    "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:ok",
                    "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:error",
                    "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
                },
            },
        },
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://capture/",
            "KmsKeyId": KMS,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
        "KmsKeyId": KMS,
    }
    sm.create_endpoint_config(**request)
    described = sm.describe_endpoint_config(EndpointConfigName="full")
    assert {k: described[k] for k in request} == request


def test_inference_component_endpoint_config_round_trips(sandbox: Sandbox, sm: Any) -> None:
    request = {
        "EndpointConfigName": "ic",
        "ExecutionRoleArn": ROLE,
        "ProductionVariants": [ic_variant()],
    }
    sm.create_endpoint_config(**request)
    described = sm.describe_endpoint_config(EndpointConfigName="ic")
    assert {k: described[k] for k in request} == request
    sm.create_endpoint(EndpointName="ic", EndpointConfigName="ic")
    [variant] = sm.describe_endpoint(EndpointName="ic")["ProductionVariants"]
    assert variant["ManagedInstanceScaling"] == SCALING
    assert variant["RoutingConfig"] == ROUTING
    assert variant["CurrentInstanceCount"] == 1
    assert sm.describe_endpoint(EndpointName="ic")["EndpointStatus"] == "InService"


def test_model_less_variants_need_the_config_role(sm: Any) -> None:
    _, message = error_of(
        lambda: sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[ic_variant()])
    )
    assert message.startswith("ExecutionRoleArn must be specified when a production variant")


def test_managed_instance_scaling_needs_an_inference_component_variant(sm: Any) -> None:
    make_model(sm, "m1")
    variant = {**ic_variant(), "ModelName": "m1"}
    _, message = error_of(
        lambda: sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    )
    assert message == "ManagedInstanceScaling is only supported for inference component endpoints."


def test_shadow_variant_names_share_the_production_namespace(sm: Any) -> None:
    make_model(sm, "m1")
    variant = {"VariantName": "v", "ModelName": "m1", "InstanceType": "ml.m5.large"}
    _, message = error_of(
        lambda: sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[variant],
            ShadowProductionVariants=[variant],
        )
    )
    assert message == 'The variant name "v" was non-unique within the request.'
    shadow = {**variant, "VariantName": "s", "ModelName": "ghost"}
    _, message = error_of(
        lambda: sm.create_endpoint_config(
            EndpointConfigName="c", ProductionVariants=[variant], ShadowProductionVariants=[shadow]
        )
    )
    assert message == 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/ghost".'


def test_requests_are_recorded_per_operation(sandbox: Sandbox, sm: Any) -> None:
    make_model(sm, "m1")
    make_config(sm, "c1", "m1", count=2)
    [sent] = recorded(sandbox, "CreateEndpointConfig")
    assert sent["EndpointConfigName"] == "c1"
    assert sent["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert set(recorded(sandbox)) == {"CreateModel", "CreateEndpointConfig"}
    error_of(lambda: sm.describe_endpoint(EndpointName="nope"))
    assert recorded(sandbox, "DescribeEndpoint") == [{"EndpointName": "nope"}]
    clear_recorded(sandbox)
    assert recorded(sandbox) == {}
    assert recorded(sandbox, "CreateModel") == []


def test_request_log_is_bounded_per_operation() -> None:
    log = RequestLog(limit=2)
    for index in range(5):
        log.record("DescribeEndpoint", {"EndpointName": f"e{index}"})
    log.record("ListEndpoints", {})
    assert log.of("DescribeEndpoint") == [{"EndpointName": "e3"}, {"EndpointName": "e4"}]
    assert list(log.snapshot()) == ["DescribeEndpoint", "ListEndpoints"]


@pytest.fixture
def scaled(slow_sandbox: Sandbox, clock: ManualClock) -> Any:
    """Endpoint `churn` (variant primary, ml.m5.xlarge) InService and registered for scaling."""
    sm = client(slow_sandbox)
    make_endpoint(sm, "churn")
    clock.advance(10)
    client(slow_sandbox, "application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/churn/variant/primary",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    make_model(sm, "churn-m2")
    return sm


def _config(
    sm: Any, name: str, variant: str = "primary", instance_type: str = "ml.m5.xlarge"
) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": "churn-m2",
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )


def test_update_changing_a_scaled_variants_instance_type_is_rejected(scaled: Any) -> None:
    _config(scaled, "bigger", instance_type="ml.m5.4xlarge")
    _config(scaled, "renamed", variant="blue")
    _, message = error_of(
        lambda: scaled.update_endpoint(EndpointName="churn", EndpointConfigName="bigger")
    )
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn"
    assert message == (
        f'The production variant "primary" of endpoint "{arn}" is registered as a scalable '
        "target with Application Auto Scaling (endpoint/churn/variant/primary, "
        "sagemaker:variant:DesiredInstanceCount), and the update changes its instance type. "
        "Delete its scaling policies and call DeregisterScalableTarget before updating the "
        "endpoint, then register it again."
    )
    _, message = error_of(
        lambda: scaled.update_endpoint(EndpointName="churn", EndpointConfigName="renamed")
    )
    assert "and the update removes it." in message


def test_update_of_a_scaled_variants_model_is_allowed(
    slow_sandbox: Sandbox, scaled: Any, clock: ManualClock
) -> None:
    _config(scaled, "new-model")
    scaled.update_endpoint(EndpointName="churn", EndpointConfigName="new-model")
    clock.advance(10)
    _config(scaled, "bigger", instance_type="ml.m5.4xlarge")
    client(slow_sandbox, "application-autoscaling").deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/churn/variant/primary",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    scaled.update_endpoint(EndpointName="churn", EndpointConfigName="bigger")


def test_retained_weight_unless_excluded(slow_sandbox: Sandbox, clock: ManualClock) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "churn")
    clock.advance(10)
    sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredWeight": 0.5, "DesiredInstanceCount": 3}
        ],
    )
    clock.advance(10)
    make_model(sm, "churn-m2")
    make_config(sm, "churn-c2", "churn-m2", count=1)
    excluded = [{"VariantPropertyType": "DesiredWeight"}]
    retain = {"RetainAllVariantProperties": True, "ExcludeRetainedVariantProperties": excluded}
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c2", **retain)
    clock.advance(10)
    [variant] = sm.describe_endpoint(EndpointName="churn")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 3
    assert variant["DesiredWeight"] == 1.0


def test_create_model_round_trips_the_container_options(sm: Any) -> None:
    gated = {**UNCOMPRESSED["S3DataSource"], "ModelAccessConfig": {"AcceptEula": True}}
    request = {
        "ModelName": "options",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataUrl": "s3://models/many/",
            "Mode": "MultiModel",
            "MultiModelConfig": {"ModelCacheSetting": "Disabled"},
            "ImageConfig": {
                "RepositoryAccessMode": "Vpc",
                "RepositoryAuthConfig": {"RepositoryCredentialsProviderArn": "arn:aws:lambda:x"},
            },
            "AdditionalModelDataSources": [{"ChannelName": "draft", "S3DataSource": gated}],
            "ContainerMetricsConfig": {
                "MetricsEndpoints": [
                    {"MetricsEndpointPath": "/metrics", "MetricPublishFrequencyInSeconds": 30}
                ]
            },
        },
        "VpcConfig": VPC,
    }
    sm.create_model(**request)
    described = sm.describe_model(ModelName="options")
    assert {k: described[k] for k in request} == request
