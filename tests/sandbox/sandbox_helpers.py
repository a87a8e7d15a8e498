"""Helpers for the sandbox tests: boto3 clients against a sandbox, a settable clock, builders.

Everything goes through boto3 over real HTTP, as the controller does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from controller.sandbox import Sandbox

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"


def client(sandbox: Sandbox, service: str = "sagemaker", **config: Any) -> Any:
    """A plain boto3 client pointed at the sandbox, with dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,
    )


def assumed_client(
    sandbox: Sandbox, account: str, service: str = "sagemaker", role: str = "deployer"
) -> Any:
    """A client acting in `account`: STS AssumeRole into a role there, as a controller would."""
    sts = client(sandbox, "sts")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="sandbox-test"
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


class ManualClock:
    """A clock tests move by hand, so status transitions need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_model(sm: Any, name: str, env: dict[str, str] | None = None, **extra: Any) -> str:
    container: dict[str, Any] = {"Image": IMAGE, "ModelDataUrl": "s3://models/m/model.tar.gz"}
    if env:
        container["Environment"] = env
    response = sm.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container, **extra
    )
    return str(response["ModelArn"])


def make_config(
    sm: Any, name: str, model: str, variant: str = "primary", count: int = 1, **extra: Any
) -> str:
    response = sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model,
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": count,
                "InitialVariantWeight": 1.0,
            }
        ],
        **extra,
    )
    return str(response["EndpointConfigArn"])


def make_endpoint(
    sm: Any, name: str, env: dict[str, str] | None = None, tags: dict[str, str] | None = None
) -> None:
    """Model `{name}-m1` + config `{name}-c1` + endpoint `name`."""
    make_model(sm, f"{name}-m1", env=env)
    make_config(sm, f"{name}-c1", f"{name}-m1")
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c1", Tags=tag_list)


def status(sm: Any, name: str) -> str:
    return str(sm.describe_endpoint(EndpointName=name)["EndpointStatus"])


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.02) -> None:
    """Poll until `predicate()` holds; fail after `timeout` seconds (always bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    """Run a call expected to fail; returns (error code, message)."""
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])
