"""SageMaker's own validation and error messages, where moto is lax or words them differently."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import ROLE, client, error_of, make_config, make_endpoint, make_model

from controller.sandbox import Sandbox

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


@pytest.mark.parametrize("name", ["bad_name", "-leading", "trailing-", "x" * 64])
def test_model_name_must_match_pattern_and_length(sm: Any, name: str) -> None:
    code, message = error_of(lambda: make_model(sm, name))
    assert code == "ValidationException"
    assert "at 'modelName' failed to satisfy constraint" in message


@pytest.mark.parametrize("name", ["bad.name", "a--b-", "y" * 64])
def test_endpoint_and_config_and_variant_names_are_checked(sm: Any, name: str) -> None:
    make_model(sm, "m")
    code, message = error_of(lambda: make_config(sm, name, "m"))
    assert (code, "at 'endpointConfigName'" in message) == ("ValidationException", True)
    code, message = error_of(lambda: make_config(sm, "c", "m", variant=name))
    assert "at 'productionVariants.1.member.variantName'" in message
    make_config(sm, "c", "m")
    code, message = error_of(lambda: sm.create_endpoint(EndpointName=name, EndpointConfigName="c"))
    assert "at 'endpointName'" in message


def test_longest_valid_names_are_accepted(sm: Any) -> None:
    name = "a" + "-b" * 31
    assert len(name) == 63
    make_model(sm, name)
    make_config(sm, name, name, variant=name)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def test_duplicate_model_and_config_and_endpoint_are_rejected(sm: Any) -> None:
    make_endpoint(sm, "dup")
    assert error_of(lambda: make_model(sm, "dup-m1")) == (
        "ValidationException",
        f'Cannot create already existing model "{ARN}:model/dup-m1".',
    )
    assert error_of(lambda: make_config(sm, "dup-c1", "dup-m1")) == (
        "ValidationException",
        f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/dup-c1".',
    )
    assert error_of(
        lambda: sm.create_endpoint(EndpointName="dup", EndpointConfigName="dup-c1")
    ) == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN}:endpoint/dup".',
    )


def test_missing_references_are_reported_like_aws(sm: Any) -> None:
    assert error_of(lambda: make_config(sm, "c", "ghost")) == (
        "ValidationException",
        f'Could not find model "{ARN}:model/ghost".',
    )
    assert error_of(lambda: sm.create_endpoint(EndpointName="e", EndpointConfigName="ghost")) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN}:endpoint-config/ghost".',
    )
    package = f"{ARN}:model-package/ghost/1"
    code, message = error_of(
        lambda: sm.create_model(
            ModelName="pkg", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": package}]
        )
    )
    assert code == "ValidationException"
    assert package in message


def test_deletes_and_describes_of_missing_resources(sm: Any) -> None:
    assert error_of(lambda: sm.delete_model(ModelName="ghost")) == (
        "ValidationException",
        f'Could not find model "{ARN}:model/ghost".',
    )
    assert error_of(lambda: sm.delete_endpoint_config(EndpointConfigName="ghost")) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN}:endpoint-config/ghost".',
    )
    assert error_of(lambda: sm.delete_endpoint(EndpointName="ghost")) == (
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/ghost".',
    )
    assert error_of(lambda: sm.describe_model(ModelName="ghost"))[1] == (
        f'Could not find model "{ARN}:model/ghost".'
    )
    assert error_of(lambda: sm.describe_endpoint(EndpointName="ghost")) == (
        "ValidationException",
        'Could not find endpoint "ghost".',
    )


@pytest.mark.parametrize(
    ("serverless", "fragment"),
    [
        ({"MemorySizeInMB": 512, "MaxConcurrency": 5}, "greater than or equal to 1024"),
        ({"MemorySizeInMB": 8192, "MaxConcurrency": 5}, "less than or equal to 6144"),
        ({"MemorySizeInMB": 1500, "MaxConcurrency": 5}, "enum value set: [1024, 2048"),
        ({"MemorySizeInMB": 2048, "MaxConcurrency": 0}, "greater than or equal to 1"),
        ({"MemorySizeInMB": 2048, "MaxConcurrency": 201}, "less than or equal to 200"),
    ],
)
def test_serverless_limits(sandbox: Sandbox, serverless: dict[str, int], fragment: str) -> None:
    raw = client(sandbox, parameter_validation=False)
    make_model(raw, "m")
    variant = {"VariantName": "v", "ModelName": "m", "ServerlessConfig": serverless}
    code, message = error_of(
        lambda: raw.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    )
    assert code == "ValidationException"
    assert fragment in message


def test_serverless_endpoint_reports_serverless_config(sm: Any) -> None:
    make_model(sm, "m")
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[{"VariantName": "v", "ModelName": "m", "ServerlessConfig": serverless}],
    )
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    variant = sm.describe_endpoint(EndpointName="e")["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"] == serverless
    assert variant["DesiredServerlessConfig"] == serverless
    assert "CurrentInstanceCount" not in variant


def test_current_instance_types_are_accepted(sm: Any) -> None:
    make_model(sm, "m")
    variant = {
        "VariantName": "v",
        "ModelName": "m",
        "InstanceType": "ml.g5.xlarge",
        "InitialInstanceCount": 1,
    }
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    bad = dict(variant, InstanceType="ml.nope.huge")
    code, message = error_of(
        lambda: sm.create_endpoint_config(EndpointConfigName="d", ProductionVariants=[bad])
    )
    assert code == "ValidationException"
    assert "at 'productionVariants.1.member.instanceType'" in message


def test_describes_echo_what_was_created(sm: Any) -> None:
    make_model(sm, "m", EnableNetworkIsolation=True)
    make_config(sm, "c", "m")
    model = sm.describe_model(ModelName="m")
    assert model["EnableNetworkIsolation"] is True
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"]["Image"].endswith("xgboost:1.7-1")
    config = sm.describe_endpoint_config(EndpointConfigName="c")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert config["EndpointConfigArn"] == f"{ARN}:endpoint-config/c"
    assert "DataCaptureConfig" not in config
