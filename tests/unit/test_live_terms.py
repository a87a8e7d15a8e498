"""Live state in manifest terms, and botocore errors mapped onto the controller's error tree."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from builders import (
    IMAGE,
    PROPERTY,
    byom_variant,
    described_config,
    described_models,
    desired,
    live,
    manifest,
    manifests,
    registry_variant,
)
from hypothesis import given, settings

from controller.aws.reading import translate
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.livestate import Inventory, Owned, config_terms
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import FieldChange
from controller.errors import AwsError, Conflict, NotFound, Throttled

CAPTURE = {
    "initialSamplingPercentage": 20,
    "destinationS3Uri": "s3://bucket/capture",
    "kmsKeyId": "alias/capture",
    "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
    "captureContentTypeHeader": {"csvContentTypes": ["text/csv"], "jsonContentTypes": ["a/j"]},
}
SERVERLESS = {"memorySizeInMB": 2048, "maxConcurrency": 5, "provisionedConcurrency": 1}


def live_terms(want: DesiredEndpoint, **live_kw: Any) -> dict[str, Any]:
    """What the reconciler reads back after `want` was applied."""
    return config_terms(described_config(want), described_models(want), live(want, **live_kw))


MANIFESTS = {
    "registry": manifest(),
    "registry-env-volume": manifest(
        variants=[
            registry_variant(
                volumeSizeInGB=30,
                model={"packageGroup": "g", "version": 3, "environment": {"B": "2", "A": "1"}},
            )
        ]
    ),
    "byom": manifest(variants=[byom_variant(environment={"LOG_LEVEL": "info"})]),
    "byom-no-data": manifest(variants=[byom_variant(model_data_url=None)]),
    "serverless": manifest(variants=[byom_variant(serverless=SERVERLESS)]),
    "mixed": manifest(
        variants=[registry_variant(weight=3), byom_variant(serverless=SERVERLESS, weight=1)],
        dataCapture=CAPTURE,
        kmsKeyId="alias/volumes",
    ),
    "hosting-surface": manifest(
        variants=[
            registry_variant(
                inferenceAmiVersion="al2-ami-sagemaker-inference-gpu-2",
                routingConfig={"routingStrategy": "RANDOM"},
                enableSsmAccess=True,
                containerStartupHealthCheckTimeoutInSeconds=600,
                modelDataDownloadTimeoutInSeconds=900,
                autoscaling={"minCapacity": 2, "maxCapacity": 4},
            )
        ],
        shadowVariants=[byom_variant(name="shadow", weight=0.5)],
        vpcConfig={"securityGroupIds": ["sg-1"], "subnets": ["subnet-1", "subnet-2"]},
        enableNetworkIsolation=True,
        asyncInference={
            "clientConfig": {"maxConcurrentInvocationsPerInstance": 4},
            "outputConfig": {
                "s3OutputPath": "s3://out/",
                "notificationConfig": {"successTopic": "arn:aws:sns:us-east-1:123456789012:ok"},
            },
        },
    ),
    "pipeline-and-data-source": manifest(
        variants=[
            byom_variant(
                model={
                    "inferenceExecutionMode": "Direct",
                    "containers": [
                        {"image": IMAGE, "containerHostname": "a", "environment": {"K": "v"}},
                        {
                            "image": IMAGE,
                            "containerHostname": "b",
                            "modelDataSource": {
                                "s3DataSource": {
                                    "s3Uri": "s3://m/p/",
                                    "s3DataType": "S3Prefix",
                                    "compressionType": "None",
                                }
                            },
                        },
                    ],
                }
            ),
            byom_variant(
                name="single",
                model_data_url=None,
                model={
                    "image": IMAGE,
                    "modelDataSource": {
                        "s3DataSource": {
                            "s3Uri": "s3://m/model.tar.gz",
                            "s3DataType": "S3Object",
                            "compressionType": "Gzip",
                        }
                    },
                },
            ),
        ]
    ),
}


@pytest.mark.parametrize("m", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_live_terms_match_manifest_terms(m: Any) -> None:
    want = desired(m)
    assert live_terms(want) == want.terms
    assert field_changes(live_terms(want), want.terms, {}) == ()


@settings(PROPERTY, max_examples=40)
@given(spec=manifests())
def test_an_unchanged_manifest_reads_back_without_changes(spec: dict[str, Any]) -> None:
    want = desired(manifest(**spec))
    assert field_changes(live_terms(want), want.terms, {}) == ()


def test_a_version_bump_reads_as_one_change() -> None:
    old = desired(manifest(variants=[registry_variant(version=6)]))
    new = desired(manifest(variants=[registry_variant(version=7)]))
    assert field_changes(live_terms(old), new.terms, {}) == (
        FieldChange("variants[primary].model.version", 6, 7),
    )


def test_live_weights_and_counts_win_over_the_config() -> None:
    """Weights change in place, so the endpoint (not its config) says what is current."""
    want = desired()
    terms = live_terms(want, weights={"primary": (0.25, 5)})
    assert terms["variants[primary].initialWeight"] == 0.25
    assert terms["variants[primary].initialInstanceCount"] == 5


def test_config_values_fill_in_when_the_endpoint_has_no_variant_summary() -> None:
    want = desired(manifest(variants=[registry_variant(weight=2, count=3)]))
    terms = live_terms(want, weights={})
    assert terms["variants[primary].initialWeight"] == 2.0
    assert terms["variants[primary].initialInstanceCount"] == 3


def test_a_model_that_cannot_be_described_leaves_out_model_terms() -> None:
    want = desired()
    terms = config_terms(described_config(want), {want.models[0].name: None}, live(want))
    assert not any(".model." in k for k in terms) and "executionRoleArn" not in terms
    assert terms["variants[primary].instanceType"] == "ml.m5.xlarge"


# -- translate ----------------------------------------------------------------------------------


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("ThrottlingException", "Rate exceeded", Throttled),
        ("Throttling", "Rate exceeded", Throttled),
        ("TooManyRequestsException", "slow down", Throttled),
        ("ValidationException", 'Could not find endpoint "churn".', NotFound),
        ("ValidationException", "Could not find model package", NotFound),
        ("ResourceNotFound", "no such group", NotFound),
        ("ValidationException", 'Cannot update in-progress endpoint "arn:...".', Conflict),
        ("ValidationException", 'Cannot create already existing model "m".', Conflict),
        ("ResourceInUse", "in use", Conflict),
        ("ValidationException", "1 validation error detected", AwsError),
        ("InternalFailure", "boom", AwsError),
        ("AccessDeniedException", "not authorized", AwsError),
    ],
)
def test_translate(code: str, message: str, kind: type[AwsError]) -> None:
    error = translate(client_error(code, message), "describe_endpoint")
    assert type(error) is kind
    assert error.operation == "describe_endpoint"
    assert error.code == code
    assert message in str(error)


def test_other_errors_name_the_operation_and_code() -> None:
    error = translate(client_error("InternalFailure", "boom"), "create_model")
    assert str(error) == "create_model: InternalFailure: boom"


# -- the owned-resource index -------------------------------------------------------------------


def owned(kind: str, name: str, endpoint: str) -> Owned:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}"
    return Owned(kind, name, arn, {"sagemaker-gitops/endpoint": endpoint})


def test_inventory_lookups() -> None:
    inventory = Inventory()
    for item in [
        owned("endpoint", "churn", "churn"),
        owned("endpoint-config", "churn-2", "churn"),
        owned("endpoint-config", "churn-1", "churn"),
        owned("endpoint-config", "fraud-1", "fraud"),
        owned("model", "churn-primary-1", "churn"),
    ]:
        inventory.put(item)
    assert inventory.get("endpoint", "churn") is not None
    assert inventory.get("model", "churn") is None
    assert [o.name for o in inventory.of_kind("endpoint-config")] == [
        "churn-1",
        "churn-2",
        "fraud-1",
    ]
    assert [o.name for o in inventory.for_endpoint("endpoint-config", "churn")] == [
        "churn-1",
        "churn-2",
    ]
    inventory.drop("endpoint-config", "churn-1")
    inventory.drop("endpoint-config", "never-there")
    assert [o.name for o in inventory.for_endpoint("endpoint-config", "churn")] == ["churn-2"]
    assert owned("model", "x", "").endpoint == ""


def test_lowercased_package_arns_match_a_mixed_case_group() -> None:
    """SageMaker lower-cases names in model package ARNs (the sandbox does the same)."""
    want = desired(manifest(variants=[registry_variant(group="Churn-XGB")]))
    models = described_models(want)
    for body in models.values():
        assert body is not None
        for container in body["Containers"]:
            container["ModelPackageName"] = container["ModelPackageName"].lower()
    terms = config_terms(described_config(want), models, live(want))
    assert terms["variants[primary].model.packageGroup"] == "churn-xgb"
    assert field_changes(terms, want.terms, {}) == ()


def test_inventory_lookups_ignore_case_because_arns_are_lower_case() -> None:
    from controller.core.livestate import Inventory, Owned

    inventory = Inventory()
    inventory.put(
        Owned(
            "endpoint",
            "churn-prod",
            "arn:...:endpoint/churn-prod",
            {"sagemaker-gitops/endpoint": "Churn-Prod"},
        )
    )
    found = inventory.get("endpoint", "Churn-Prod")
    assert found is not None and found.endpoint == "Churn-Prod"
    inventory.drop("endpoint", "CHURN-PROD")
    assert inventory.get("endpoint", "churn-prod") is None
