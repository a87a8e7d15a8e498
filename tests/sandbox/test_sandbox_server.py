"""Starting and stopping, isolation between sandboxes, the other moto services, the AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

import boto3
import pytest
from sandbox_helpers import client, make_endpoint

from controller.sandbox import Sandbox, SandboxError


def test_url_and_env_for_client_processes(sandbox: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert sandbox.env() == {
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_client_configured_only_by_env_reaches_the_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert sandbox.calls() == {"ListEndpoints": 1}


def test_only_one_sandbox_per_process(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="already running"):
        Sandbox().start()
    assert client(sandbox).list_endpoints()["Endpoints"] == []


def test_each_sandbox_starts_empty() -> None:
    with Sandbox() as first:
        make_endpoint(client(first), "leftover")
    with Sandbox() as second:
        sm = client(second)
        assert sm.list_endpoints()["Endpoints"] == []
        assert sm.list_models()["Models"] == []
        assert second.calls() == {"ListEndpoints": 1, "ListModels": 1}


def test_stop_is_idempotent_and_frees_the_port() -> None:
    sandbox = Sandbox()
    sandbox.start()
    url = sandbox.url
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(SandboxError, match="not running"):
        _ = sandbox.url
    port = int(url.rsplit(":", 1)[1])
    with Sandbox(port=port) as again:
        assert again.url == url


def test_start_is_fast() -> None:
    started = time.perf_counter()
    with Sandbox() as sandbox:
        elapsed = time.perf_counter() - started
        client(sandbox).list_endpoints()
    # The issue asks for < 2 s; it is milliseconds, so this bound is far from flaky.
    assert elapsed < 2.0


def test_other_services_the_controller_uses(sandbox: Sandbox) -> None:
    sts = client(sandbox, "sts").get_caller_identity()
    assert sts["Account"] == "123456789012"
    autoscaling = client(sandbox, "application-autoscaling")
    make_endpoint(client(sandbox), "churn")  # only an existing variant can be registered
    resource = "endpoint/churn/variant/primary"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert [t["ResourceId"] for t in targets["ScalableTargets"]] == [resource]
    cloudwatch = client(sandbox, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="churn-5xx",
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarms = cloudwatch.describe_alarms(AlarmNames=["churn-5xx"])["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == ["churn-5xx"]
    dynamodb = client(sandbox, "dynamodb")
    dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert dynamodb.list_tables()["TableNames"] == ["locks"]
    calls = sandbox.calls()
    assert calls["RegisterScalableTarget"] == 1
    assert calls["PutMetricAlarm"] == 1
    assert calls["CreateTable"] == 1


@pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")
def test_aws_cli_works_against_the_sandbox(sandbox: Sandbox) -> None:
    make_endpoint(client(sandbox), "churn")
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env())
    result = subprocess.run(
        ["aws", "sagemaker", "describe-endpoint", "--endpoint-name", "churn", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 and "Unknown options" in result.stderr:
        pytest.skip("this AWS CLI does not support AWS_ENDPOINT_URL")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["EndpointStatus"] == "InService"
