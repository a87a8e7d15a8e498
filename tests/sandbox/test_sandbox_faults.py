"""Fault injection (latency, throttling, 5xx), call counting and the control routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from sandbox_helpers import client, error_of

from controller.sandbox import Faults, Sandbox

NO_RETRY = {"retries": {"total_max_attempts": 1, "mode": "standard"}}
PATIENT = {"retries": {"max_attempts": 10, "mode": "standard"}}


def http(
    sandbox: Sandbox, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sandbox.url + path, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_throttling_is_retried_by_botocore_and_counted_as_rejected() -> None:
    with Sandbox(faults=Faults(throttle_rate=0.5, seed=0)) as sandbox:
        sm = client(sandbox, **PATIENT)
        for _ in range(4):
            assert sm.list_endpoints()["Endpoints"] == []
        calls = sandbox.calls()
    assert calls["ListEndpoints"] == 4
    assert calls["rejected"] > 0


def test_server_errors_are_retried() -> None:
    with Sandbox(faults=Faults(error_rate=0.5, seed=0)) as sandbox:
        sm = client(sandbox, **PATIENT)
        for _ in range(4):
            sm.list_models()
        assert sandbox.calls()["rejected"] > 0


def test_throttle_wire_format(sandbox: Sandbox) -> None:
    sandbox.set_faults(throttle_rate=1.0)
    status, body = http(
        sandbox,
        "/",
        body={},
        headers={
            "X-Amz-Target": "SageMaker.ListEndpoints",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert (status, body) == (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    code, message = error_of(lambda: client(sandbox, **NO_RETRY).list_endpoints())
    assert (code, message) == ("ThrottlingException", "Rate exceeded")


def test_query_protocol_throttle_is_parsed_too(sandbox: Sandbox) -> None:
    sandbox.set_faults(throttle_rate=1.0)
    code, _ = error_of(lambda: client(sandbox, "sts", **NO_RETRY).get_caller_identity())
    assert code == "Throttling"


def test_every_injected_error_is_a_5xx(sandbox: Sandbox) -> None:
    sandbox.set_faults(error_rate=1.0)
    sm = client(sandbox, **NO_RETRY)
    from botocore.exceptions import ClientError

    seen = set()
    for _ in range(6):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        response = caught.value.response
        seen.add((response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]))
    assert seen <= {(500, "InternalFailure"), (503, "ServiceUnavailable")}
    assert sandbox.calls() == {"rejected": 6}


def test_latency_is_added_to_each_request(sandbox: Sandbox, sm: Any) -> None:
    sandbox.set_faults(latency_ms=200)
    started = time.perf_counter()
    sm.list_endpoints()
    assert time.perf_counter() - started >= 0.2
    sandbox.set_faults(latency_ms=0)


def test_calls_route_counts_operations_per_name(sandbox: Sandbox, sm: Any) -> None:
    sm.list_endpoints()
    sm.list_endpoints()
    client(sandbox, "sts").get_caller_identity()
    status, body = http(sandbox, "/_sandbox/calls")
    assert status == 200
    assert body == {"calls": {"GetCallerIdentity": 1, "ListEndpoints": 2}}
    assert sandbox.calls() == body["calls"]


def test_failed_api_calls_still_count_as_served(sandbox: Sandbox, sm: Any) -> None:
    error_of(lambda: sm.describe_endpoint(EndpointName="ghost"))
    assert sandbox.calls() == {"DescribeEndpoint": 1}


def test_faults_route_partial_update_and_read_back(sandbox: Sandbox) -> None:
    status, body = http(sandbox, "/_sandbox/faults", {"latency_ms": 20, "transition_seconds": 2})
    assert status == 200
    assert body["latency_ms"] == 20
    assert body["transition_seconds"] == 2
    status, body = http(sandbox, "/_sandbox/faults", {"throttle_rate": 0.1})
    assert (body["latency_ms"], body["throttle_rate"]) == (20, 0.1)
    status, body = http(sandbox, "/_sandbox/faults")
    assert body["error_rate"] == 0.0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"throttle_rate": 1.5}, "throttle_rate must be a number from 0 to 1"),
        ({"error_rate": "lots"}, "error_rate must be a number from 0 to 1"),
        ({"latency_ms": -1}, "latency_ms must be an integer"),
        ({"transition_seconds": -3}, "transition_seconds must be a number"),
        ({"jitter": 1}, "unknown setting(s): jitter"),
    ],
)
def test_faults_route_rejects_invalid_values(
    sandbox: Sandbox, change: dict[str, Any], fragment: str
) -> None:
    http(sandbox, "/_sandbox/faults", {"latency_ms": 5})
    # A valid change sent with an invalid one must not be applied either.
    request = {"throttle_rate": 0.2, **change}
    status, body = http(sandbox, "/_sandbox/faults", request)
    assert status == 400
    assert fragment in body["message"]
    status, body = http(sandbox, "/_sandbox/faults")
    assert (body["latency_ms"], body["throttle_rate"]) == (5, 0.0)


def test_control_routes_are_never_faulted(sandbox: Sandbox) -> None:
    sandbox.set_faults(error_rate=1.0)
    status, _ = http(sandbox, "/_sandbox/calls")
    assert status == 200
