"""Desired resources: the SageMaker requests a manifest means, and which changes rename them."""

from __future__ import annotations

from typing import Any

import pytest
from builders import (
    IMAGE,
    ROLE,
    SOURCE,
    byom_variant,
    desired,
    manifest,
    package_arn,
    registry_variant,
)

from controller.core import tagging

CAPTURE = {
    "initialSamplingPercentage": 20,
    "destinationS3Uri": "s3://bucket/capture",
    "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
    "captureContentTypeHeader": {"csvContentTypes": ["text/csv"]},
}


def test_registry_variant_deploys_the_package_arn() -> None:
    want = desired()
    (model,) = want.models
    assert model.request == {
        "ModelName": model.name,
        "ExecutionRoleArn": ROLE,
        "Containers": [{"ModelPackageName": package_arn("churn-xgb", 7)}],
    }
    assert model.display == "churn-xgb v7"
    assert model.variant == "primary"


def test_registry_variant_environment_goes_on_the_container() -> None:
    variant = registry_variant()
    variant["model"]["environment"] = {"B": "2", "A": "1"}
    (model,) = desired(manifest(variants=[variant])).models
    assert model.request["Containers"] == [
        {"ModelPackageName": package_arn("churn-xgb", 7), "Environment": {"A": "1", "B": "2"}}
    ]


def test_byom_variant_uses_a_primary_container() -> None:
    m = manifest(variants=[byom_variant(environment={"LOG_LEVEL": "info"})])
    (model,) = desired(m).models
    assert model.request == {
        "ModelName": model.name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataUrl": "s3://bucket/prefix/model.tar.gz",
            "Environment": {"LOG_LEVEL": "info"},
        },
    }
    assert model.display == IMAGE


def test_byom_without_model_data_or_environment_sends_only_the_image() -> None:
    (model,) = desired(manifest(variants=[byom_variant(model_data_url=None)])).models
    assert model.request["PrimaryContainer"] == {"Image": IMAGE}


def test_instance_variant_request() -> None:
    want = desired(manifest(variants=[registry_variant(volumeSizeInGB=30)]))
    (pv,) = want.config_request["ProductionVariants"]
    assert pv == {
        "VariantName": "primary",
        "ModelName": want.models[0].name,
        "InitialVariantWeight": 1.0,
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 2,
        "VolumeSizeInGB": 30,
    }


def test_instance_count_defaults_to_one() -> None:
    want = desired(manifest(variants=[registry_variant(count=None)]))
    assert want.config_request["ProductionVariants"][0]["InitialInstanceCount"] == 1
    assert want.weights == {"primary": (1.0, 1)}


def test_serverless_variant_uses_the_api_casing_and_no_instance_fields() -> None:
    serverless = {"memorySizeInMB": 2048, "maxConcurrency": 5, "provisionedConcurrency": 2}
    want = desired(manifest(variants=[byom_variant(serverless=serverless)]))
    (pv,) = want.config_request["ProductionVariants"]
    assert pv["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
        "ProvisionedConcurrency": 2,
    }
    assert not {"InstanceType", "InitialInstanceCount", "VolumeSizeInGB"} & set(pv)
    assert want.weights == {"byom": (1.0, None)}


def test_data_capture_and_kms_key_use_the_api_names() -> None:
    want = desired(manifest(dataCapture=CAPTURE, kmsKeyId="alias/volumes"))
    assert want.config_request["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://bucket/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
    }
    assert want.config_request["KmsKeyId"] == "alias/volumes"


def test_deployment_config_is_the_update_endpoint_shape() -> None:
    deployment = {
        "blueGreenUpdatePolicy": {
            "trafficRoutingConfiguration": {
                "type": "CANARY",
                "waitIntervalInSeconds": 300,
                "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
            }
        },
        "autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-5xx"}]},
    }
    want = desired(manifest(deployment=deployment))
    assert want.deployment_config == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            }
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-5xx"}]},
    }
    assert desired().deployment_config is None


# -- which changes rename what ----------------------------------------------------------------

BASE: dict[str, Any] = {"variants": [registry_variant(), byom_variant()]}


def _with(**spec: Any) -> dict[str, Any]:
    return {**BASE, **spec}


def _variants(**changes: Any) -> dict[str, Any]:
    primary = {**registry_variant(), **changes}
    return {"variants": [primary, byom_variant()]}


# (label, manifest kwargs, config renamed?, primary model renamed?)
CHANGES = [
    ("weight only", _variants(initialWeight=3), False, False),
    ("instance count only", _variants(initialInstanceCount=5), False, False),
    ("tags only", _with(tags={"cost-center": "42"}), False, False),
    ("labels only", {**_with(), "labels": {"env": "prod"}}, False, False),
    (
        "deployment only",
        _with(deployment={"autoRollbackConfiguration": {"alarms": [{"alarmName": "a"}]}}),
        False,
        False,
    ),
    ("suspend", _with(suspend=True), False, False),
    ("version", _variants(model={"packageGroup": "churn-xgb", "version": 8}), True, True),
    ("group", _variants(model={"packageGroup": "churn-lgbm", "version": 7}), True, True),
    (
        "environment",
        _variants(model={"packageGroup": "churn-xgb", "version": 7, "environment": {"A": "1"}}),
        True,
        True,
    ),
    ("instance type", _variants(instanceType="ml.c5.xlarge"), True, False),
    ("volume size", _variants(volumeSizeInGB=64), True, False),
    ("data capture", _with(dataCapture=CAPTURE), True, False),
    ("kms key", _with(kmsKeyId="alias/k"), True, False),
    ("execution role", _with(executionRoleArn=ROLE + "2"), True, True),
]


@pytest.mark.parametrize(
    ("spec", "config_renamed", "model_renamed"),
    [pytest.param(s, c, m, id=label) for label, s, c, m in CHANGES],
)
def test_which_changes_rename_resources(
    spec: dict[str, Any], config_renamed: bool, model_renamed: bool
) -> None:
    before = desired(manifest(**BASE))
    after = desired(manifest(**spec))
    assert (after.config_name != before.config_name) is config_renamed
    assert (after.models[0].name != before.models[0].name) is model_renamed
    if "executionRoleArn" not in spec:  # the role is part of every Model
        assert after.models[1].name == before.models[1].name  # the untouched variant's model


def test_weight_change_still_sends_the_new_weight_in_the_request() -> None:
    after = desired(manifest(**_variants(initialWeight=3)))
    variants = {pv["VariantName"]: pv for pv in after.config_request["ProductionVariants"]}
    assert variants["primary"]["InitialVariantWeight"] == 3.0
    assert after.weights["primary"] == (3.0, 2)


def test_revision_and_source_never_rename() -> None:
    a = desired(revision="aaa", source="a.yaml")
    b = desired(revision="bbb", source="b.yaml")
    assert (a.config_name, [m.name for m in a.models]) == (
        b.config_name,
        [m.name for m in b.models],
    )
    assert a.spec_hash == b.spec_hash


def test_spec_hash_follows_the_spec() -> None:
    assert desired().spec_hash == desired(manifest()).spec_hash
    assert desired().spec_hash != desired(manifest(tags={"a": "b"})).spec_hash


# -- ownership tags ---------------------------------------------------------------------------


def test_ownership_tags() -> None:
    want = desired(manifest(tags={"cost-center": "42"}), revision="abc123")
    assert want.tags == {
        "cost-center": "42",
        tagging.MANAGED_BY: "default",
        tagging.ENDPOINT: "churn-prod",
        tagging.SOURCE: SOURCE,
        tagging.SPEC_HASH: want.spec_hash,
        tagging.REVISION: "abc123",
    }


def test_no_revision_tag_when_the_revision_is_unknown() -> None:
    assert tagging.REVISION not in desired(revision=None).tags


def test_managed_by_carries_the_controller_id() -> None:
    assert desired(controller_id="blue").tags[tagging.MANAGED_BY] == "blue"


def test_long_sources_are_cut_to_the_tag_value_limit() -> None:
    source = "d/" * 200 + "churn.yaml"
    value = desired(source=source).tags[tagging.SOURCE]
    assert len(value) == 256
    assert source.endswith(value)


# -- manifest terms -----------------------------------------------------------------------------


def test_manifest_terms_registry_and_instance() -> None:
    variant = registry_variant(volumeSizeInGB=30)
    variant["model"]["environment"] = {"A": "1"}
    assert desired(manifest(variants=[variant])).terms == {
        "executionRoleArn": ROLE,
        "variants[primary].model.packageGroup": "churn-xgb",
        "variants[primary].model.version": 7,
        "variants[primary].model.environment.A": "1",
        "variants[primary].initialWeight": 1.0,
        "variants[primary].instanceType": "ml.m5.xlarge",
        "variants[primary].initialInstanceCount": 2,
        "variants[primary].volumeSizeInGB": 30,
    }


def test_manifest_terms_byom_serverless_and_capture() -> None:
    serverless = {"memorySizeInMB": 2048, "maxConcurrency": 5}
    m = manifest(variants=[byom_variant(serverless=serverless)], dataCapture=CAPTURE)
    terms = desired(m).terms
    assert terms == {
        "executionRoleArn": ROLE,
        "variants[byom].model.image": IMAGE,
        "variants[byom].model.modelDataUrl": "s3://bucket/prefix/model.tar.gz",
        "variants[byom].initialWeight": 1.0,
        "variants[byom].serverless.memorySizeInMB": 2048,
        "variants[byom].serverless.maxConcurrency": 5,
        "dataCapture.enableCapture": True,
        "dataCapture.initialSamplingPercentage": 20,
        "dataCapture.destinationS3Uri": "s3://bucket/capture",
        "dataCapture.captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
        "dataCapture.captureContentTypeHeader.csvContentTypes": ["text/csv"],
    }


def test_manifest_terms_records_the_volume_kms_key() -> None:
    assert desired(manifest(kmsKeyId="alias/k")).terms["kmsKeyId"] == "alias/k"


def test_reordering_variants_in_the_manifest_renames_nothing() -> None:
    """Variant order means nothing to SageMaker; a YAML reorder must not start a rollout."""
    a = desired(manifest(variants=[registry_variant(), byom_variant()]))
    b = desired(manifest(variants=[byom_variant(), registry_variant()]))
    assert a.config_name == b.config_name
    assert a.config_request == b.config_request
    assert {m.name for m in a.models} == {m.name for m in b.models}
