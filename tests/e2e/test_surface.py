"""The hosting surface reaches CreateModel / CreateEndpointConfig exactly, and changes roll out."""

from __future__ import annotations

import json

from tests.e2e.conftest import IMAGE, World, header

HOSTING = """
      inferenceAmiVersion: al2-ami-sagemaker-inference-gpu-2
      routingConfig: {routingStrategy: LEAST_OUTSTANDING_REQUESTS}
      enableSsmAccess: true
      containerStartupHealthCheckTimeoutInSeconds: 600
      modelDataDownloadTimeoutInSeconds: 900
      volumeSizeInGB: 64"""
SPEC = """
  kmsKeyId: arn:aws:kms:us-east-1:123456789012:key/volume
  enableNetworkIsolation: true
  vpcConfig:
    securityGroupIds: [sg-0a1b2c3d]
    subnets: [subnet-0a1b2c3d, subnet-4e5f6a7b]
  asyncInference:
    clientConfig: {maxConcurrentInvocationsPerInstance: 4}
    outputConfig:
      s3OutputPath: s3://results/churn/
      s3FailurePath: s3://results/churn-failed/
      kmsKeyId: arn:aws:kms:us-east-1:123456789012:key/results
      notificationConfig:
        successTopic: arn:aws:sns:us-east-1:123456789012:churn-ok
        errorTopic: arn:aws:sns:us-east-1:123456789012:churn-failed
        includeInferenceResponseIn: [SUCCESS_NOTIFICATION_TOPIC]
  dataCapture:
    initialSamplingPercentage: 20
    destinationS3Uri: s3://capture/churn/
    kmsKeyId: arn:aws:kms:us-east-1:123456789012:key/capture
    captureOptions: [{captureMode: Input}, {captureMode: Output}]
    captureContentTypeHeader: {jsonContentTypes: [application/json], csvContentTypes: [text/csv]}"""
SERVERLESS = """
      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}"""
INSTANCE = """
      instanceType: ml.g5.xlarge
      initialInstanceCount: 1"""


def manifest(capacity: str = INSTANCE + HOSTING, spec: str = SPEC) -> str:
    return f"""
{header("kmeans")}
    - name: main
      model:
        image: {IMAGE}
        modelDataUrl: s3://models/kmeans/model.tar.gz{capacity}{spec}
"""


def test_every_surface_field_reaches_the_api_exactly(world: World) -> None:
    world.write("kmeans.yaml", manifest())

    assert world.apply().code == 0, world.apply().err

    [model] = world.recorded("CreateModel")
    assert model["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0a1b2c3d"],
        "Subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
    }
    assert model["EnableNetworkIsolation"] is True
    [config] = world.recorded("CreateEndpointConfig")
    [variant] = config["ProductionVariants"]
    assert {k: v for k, v in variant.items() if k not in ("VariantName", "ModelName")} == {
        "InstanceType": "ml.g5.xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1.0,
        "VolumeSizeInGB": 64,
        "InferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-2",
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
        "EnableSSMAccess": True,
        "ContainerStartupHealthCheckTimeoutInSeconds": 600,
        "ModelDataDownloadTimeoutInSeconds": 900,
    }
    assert config["KmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/volume"
    assert config["AsyncInferenceConfig"] == {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
        "OutputConfig": {
            "S3OutputPath": "s3://results/churn/",
            "S3FailurePath": "s3://results/churn-failed/",
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/results",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:churn-ok",
                "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:churn-failed",
                "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
            },
        },
    }
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://capture/churn/",
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    assert world.mutations_during(lambda: world.apply()) == {}


def test_a_surface_change_is_a_rollout_shown_field_by_field(world: World) -> None:
    world.write("kmeans.yaml", manifest())
    assert world.apply().code == 0
    world.write("kmeans.yaml", manifest().replace("LEAST_OUTSTANDING_REQUESTS", "RANDOM"))

    plan = json.loads(world.plan("--format", "json").out)
    mutations = world.mutations_during(lambda: world.apply())

    changes = [c for a in plan["endpoints"][0]["actions"] for c in a["changes"]]
    assert {
        "path": "variants[main].routingConfig.routingStrategy",
        "before": "LEAST_OUTSTANDING_REQUESTS",
        "after": "RANDOM",
    }.items() <= changes[0].items()
    assert len(changes) == 1
    assert mutations["UpdateEndpoint"] == 1
    assert world.mutations_during(lambda: world.apply()) == {}


def test_serverless_to_instance_and_back(world: World) -> None:
    world.write("kmeans.yaml", manifest(SERVERLESS, spec=""))
    assert world.apply().code == 0
    world.write("kmeans.yaml", manifest(INSTANCE, spec=""))

    to_instances = world.plan()
    first = world.mutations_during(lambda: world.apply())
    world.write("kmeans.yaml", manifest(SERVERLESS, spec=""))
    back = world.mutations_during(lambda: world.apply())

    assert "switches serverless -> instance-based" in to_instances.out
    assert "variants[main].instanceType: (none) -> ml.g5.xlarge" in to_instances.out
    assert first["UpdateEndpoint"] == 1 and back["UpdateEndpoint"] == 1
    # Back to the first config: its content-hashed name still exists, so it is reused.
    live = world.sm.describe_endpoint_config(
        EndpointConfigName=world.endpoint("kmeans")["EndpointConfigName"]
    )
    config = live
    assert len(world.recorded("CreateEndpointConfig")) == 2
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    assert "InstanceType" not in config["ProductionVariants"][0]
    assert world.mutations_during(lambda: world.apply()) == {}


def shadowed(version: int) -> str:
    return f"""
{header("churn")}
    - name: champion
      model: {{packageGroup: churn-xgb, version: 1}}
      instanceType: ml.m5.xlarge
  shadowVariants:
    - name: challenger
      model: {{packageGroup: churn-xgb, version: {version}}}
      instanceType: ml.m5.large
      initialWeight: 0.5
"""


def test_shadow_variants_reach_the_config_and_roll_out(world: World) -> None:
    world.write("churn.yaml", shadowed(1))
    assert world.apply().code == 0
    [config] = world.recorded("CreateEndpointConfig")
    world.write("churn.yaml", shadowed(2))

    plan = json.loads(world.plan("--format", "json").out)
    mutations = world.mutations_during(lambda: world.apply())

    [shadow] = config["ShadowProductionVariants"]
    assert {k: v for k, v in shadow.items() if k != "ModelName"} == {
        "VariantName": "challenger",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 0.5,
    }
    assert [v["VariantName"] for v in config["ProductionVariants"]] == ["champion"]
    changes = [c for a in plan["endpoints"][0]["actions"] for c in a["changes"]]
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [
        ("shadowVariants[challenger].model.version", 1, 2)
    ]
    assert mutations["UpdateEndpoint"] == 1
    assert world.mutations_during(lambda: world.apply()) == {}


def pipeline(mode: str, second_image: str = IMAGE) -> str:
    return f"""
{header("pipe")}
    - name: main
      instanceType: ml.m5.xlarge
      model:
        inferenceExecutionMode: {mode}
        containers:
          - image: {IMAGE}
            containerHostname: preprocess
            modelDataSource:
              s3DataSource:
                {{s3Uri: "s3://models/pre/", s3DataType: S3Prefix, compressionType: None}}
            environment: {{LOG_LEVEL: info}}
          - image: {second_image}
            containerHostname: predict
            modelDataUrl: s3://models/predict/model.tar.gz
"""


def test_multi_container_models_reach_create_model_and_roll_out(world: World) -> None:
    world.write("pipe.yaml", pipeline("Direct"))
    assert world.apply().code == 0
    [model] = world.recorded("CreateModel")
    world.write("pipe.yaml", pipeline("Serial"))

    plan = json.loads(world.plan("--format", "json").out)
    mutations = world.mutations_during(lambda: world.apply())

    assert model["InferenceExecutionConfig"] == {"Mode": "Direct"}
    assert model["Containers"] == [
        {
            "Image": IMAGE,
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": "s3://models/pre/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
            "Environment": {"LOG_LEVEL": "info"},
            "ContainerHostname": "preprocess",
        },
        {
            "Image": IMAGE,
            "ModelDataUrl": "s3://models/predict/model.tar.gz",
            "ContainerHostname": "predict",
        },
    ]
    changes = [c for a in plan["endpoints"][0]["actions"] for c in a["changes"]]
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [
        ("variants[main].model.inferenceExecutionMode", "Direct", "Serial")
    ]
    assert mutations["CreateModel"] == 1 and mutations["UpdateEndpoint"] == 1
    assert world.mutations_during(lambda: world.apply()) == {}
