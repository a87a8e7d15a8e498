"""The read-only guarantee of `plan` and `promote`: a mutating AWS call never leaves the process.

Real boto3 clients from `controller.aws.clients.Clients` are pointed (through the standard
AWS_ENDPOINT_URL) at a loopback port where nothing listens. A refused call must raise
ReadOnlyViolation before botocore tries to send anything; an allowed read must get past the
guard and then fail to connect, which proves the guard, not the network, made the difference.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from controller.aws.clients import AwsOptions, Clients, check_read_only
from controller.errors import ReadOnlyViolation

Call = Callable[[Clients], Any]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def unreachable_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials, no profiles, every service endpoint on a dead loopback port."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")


class Recorder:
    """Counts HTTP attempts: botocore emits before-send right before each one."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, request: Any, **_: Any) -> None:
        self.sent.append(request.url)


@pytest.fixture
def recorded() -> Iterator[tuple[Clients, Recorder]]:
    clients = Clients(AwsOptions(read_only=True, max_attempts=1, calls_per_second=1000))
    recorder = Recorder()
    original = clients.client

    def client(service: str, region: str | None = None) -> Any:
        made = original(service, region)
        made.meta.events.register("before-send", recorder, unique_id="test-recorder")
        return made

    clients.client = client  # type: ignore[method-assign]
    yield clients, recorder


MUTATING: dict[str, Call] = {
    "CreateEndpoint": lambda c: c.sagemaker().create_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-prod-abc"
    ),
    "UpdateEndpoint": lambda c: c.sagemaker().update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-prod-def"
    ),
    "DeleteEndpoint": lambda c: c.sagemaker().delete_endpoint(EndpointName="churn-prod"),
    "DeleteModel": lambda c: c.sagemaker().delete_model(ModelName="churn-prod-primary"),
    "AddTags": lambda c: c.sagemaker().add_tags(
        ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod",
        Tags=[{"Key": "k", "Value": "v"}],
    ),
    "UpdateEndpointWeightsAndCapacities": lambda c: (
        c.sagemaker().update_endpoint_weights_and_capacities(
            EndpointName="churn-prod",
            DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 1.0}],
        )
    ),
    "TagResources": lambda c: c.client("resourcegroupstaggingapi").tag_resources(
        ResourceARNList=["arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod"],
        Tags={"k": "v"},
    ),
    "PutItem": lambda c: c.client("dynamodb").put_item(
        TableName="leases", Item={"name": {"S": "x"}}
    ),
}

READS: dict[str, Call] = {
    "DescribeEndpoint": lambda c: c.sagemaker().describe_endpoint(EndpointName="churn-prod"),
    "ListModelPackages (paginated)": lambda c: list(
        c.sagemaker()
        .get_paginator("list_model_packages")
        .paginate(ModelPackageGroupName="churn-xgb")
    ),
    "Search": lambda c: c.sagemaker().search(Resource="Endpoint"),
    "GetResources": lambda c: c.client("resourcegroupstaggingapi").get_resources(),
    "GetCallerIdentity": lambda c: c.client("sts").get_caller_identity(),
    "GetItem": lambda c: c.client("dynamodb").get_item(
        TableName="leases", Key={"name": {"S": "x"}}
    ),
}


@pytest.mark.parametrize("operation", sorted(MUTATING))
def test_mutating_call_refused_before_any_request(
    operation: str, recorded: tuple[Clients, Recorder]
) -> None:
    clients, recorder = recorded
    with pytest.raises(ReadOnlyViolation, match=f"refused {operation}"):
        MUTATING[operation](clients)
    assert recorder.sent == []


@pytest.mark.parametrize("operation", sorted(READS))
def test_read_call_passes_the_guard(operation: str, recorded: tuple[Clients, Recorder]) -> None:
    clients, recorder = recorded
    with pytest.raises(EndpointConnectionError):
        READS[operation](clients)
    # Sent at least once (botocore itself may retry a refused connection once more).
    assert recorder.sent


def test_without_read_only_the_same_call_is_sent() -> None:
    """Control: the refusal above comes from the guard, not from the client setup."""
    clients = Clients(AwsOptions(max_attempts=1, calls_per_second=1000))
    with pytest.raises(EndpointConnectionError):
        MUTATING["DeleteEndpoint"](clients)


def test_refused_calls_are_not_reported_to_observers(recorded: tuple[Clients, Recorder]) -> None:
    clients, _ = recorded
    seen: list[tuple[str, str, str]] = []
    clients.observers.append(lambda *call: seen.append(call))
    with pytest.raises(ReadOnlyViolation):
        MUTATING["DeleteEndpoint"](clients)
    with pytest.raises(EndpointConnectionError):
        READS["DescribeEndpoint"](clients)
    assert seen == [("sagemaker", "DescribeEndpoint", "error")]


@pytest.mark.parametrize(
    "operation",
    ["DescribeEndpoint", "ListTags", "GetResources", "GetCallerIdentity", "Search", "GetItem"],
)
def test_reads_allowed(operation: str) -> None:
    check_read_only(operation)


@pytest.mark.parametrize(
    "operation",
    [
        "CreateModel",
        "CreateEndpointConfig",
        "UpdateEndpoint",
        "DeleteEndpointConfig",
        "DeleteTags",
        "InvokeEndpoint",
        "PutScalingPolicy",
        "UpdateItem",
        # Names that merely contain a read verb are still writes.
        "StartDescribeJob",
        "BatchDeleteItem",
    ],
)
def test_writes_refused(operation: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        check_read_only(operation)
