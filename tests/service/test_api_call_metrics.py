"""AWS calls are counted once botocore is done with them, by outcome: success, throttled, error."""

from __future__ import annotations

import socket

import botocore.exceptions
import pytest

from controller.aws.clients import AwsOptions, Clients
from controller.service.metrics import Metrics
from tests.e2e.conftest import World, world  # noqa: F401 (fixture)


def calls(metrics: Metrics, operation: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "sagemaker_gitops_aws_api_calls_total",
        {"service": "sagemaker", "operation": operation, "outcome": outcome},
    )
    return value or 0.0


def counted_clients(max_attempts: int) -> tuple[Clients, Metrics]:
    metrics = Metrics()
    clients = Clients(AwsOptions(max_attempts=max_attempts, calls_per_second=1000))
    clients.observers.append(metrics.observe_api_call)
    return clients, metrics


def test_success_throttled_and_error_outcomes(world: World) -> None:  # noqa: F811
    clients, metrics = counted_clients(max_attempts=1)
    sm = clients.sagemaker()
    sm.list_endpoints()
    with pytest.raises(botocore.exceptions.ClientError):
        sm.describe_endpoint(EndpointName="missing")  # ValidationException: an error
    world.sandbox.set_faults(throttle_rate=1.0)
    with pytest.raises(botocore.exceptions.ClientError, match="Throttl"):
        sm.list_endpoints()
    assert calls(metrics, "ListEndpoints", "success") == 1
    assert calls(metrics, "DescribeEndpoint", "error") == 1
    assert calls(metrics, "ListEndpoints", "throttled") == 1


def test_a_connection_failure_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{probe.getsockname()[1]}")
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients, metrics = counted_clients(max_attempts=1)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        clients.sagemaker().list_endpoints()
    assert calls(metrics, "ListEndpoints", "error") == 1
