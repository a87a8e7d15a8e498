"""The controller's retries against the sandbox: what is repeated, counted by code, and what is
left to the reconciler (deterministic: every attempt meets the fault)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from controller.aws.clients import Clients
from controller.service.metrics import Metrics
from tests.e2e.conftest import World, world  # noqa: F401 (fixture)
from tests.service.test_api_call_metrics import counted_clients


def retries(metrics: Metrics, operation: str, code: str) -> float:
    labels = {"service": "sagemaker", "operation": operation, "code": code}
    return (
        metrics.registry.get_sample_value("sagemaker_gitops_aws_api_retries_total", labels) or 0.0
    )


def counted(max_attempts: int) -> tuple[Clients, Metrics]:
    clients, metrics = counted_clients(max_attempts)
    clients.retry_observers.append(metrics.observe_retry)
    return clients, metrics


def test_a_throttled_read_is_retried_up_to_max_attempts(world: World) -> None:  # noqa: F811
    clients, metrics = counted(max_attempts=3)
    world.sandbox.set_faults(throttle_rate=1.0)
    before = world.calls().get("rejected", 0)
    with pytest.raises(botocore.exceptions.ClientError, match="Throttl"):
        clients.sagemaker().list_endpoints()
    world.sandbox.set_faults(throttle_rate=0.0)
    assert world.calls().get("rejected", 0) - before == 3  # three attempts, no more
    assert retries(metrics, "ListEndpoints", "ThrottlingException") == 2


def test_a_5xx_on_a_create_endpoint_goes_back_to_the_reconciler(world: World) -> None:  # noqa: F811
    clients, metrics = counted(max_attempts=3)
    world.sandbox.set_faults(error_rate=1.0)
    before = world.calls().get("rejected", 0)
    with pytest.raises(botocore.exceptions.ClientError):
        clients.sagemaker().create_endpoint(EndpointName="e", EndpointConfigName="c")
    with pytest.raises(botocore.exceptions.ClientError):
        clients.sagemaker().describe_endpoint(EndpointName="e")
    world.sandbox.set_faults(error_rate=0.0)
    # CreateEndpoint: one attempt (it may have taken effect); DescribeEndpoint: three.
    assert world.calls().get("rejected", 0) - before == 4
    assert (
        sum(
            retries(metrics, "CreateEndpoint", c) for c in ("InternalFailure", "ServiceUnavailable")
        )
        == 0
    )
    assert (
        sum(
            retries(metrics, "DescribeEndpoint", c)
            for c in ("InternalFailure", "ServiceUnavailable")
        )
        == 2
    )
