"""Ambiguous failures: a write takes effect, then the client gets a 5xx or a dropped connection."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from sandbox_helpers import client, error_of, make_config, make_endpoint, make_model, status

from controller.sandbox import Faults, Sandbox

NO_RETRY = {"retries": {"total_max_attempts": 1, "mode": "standard"}}


def test_a_failed_create_took_effect(sandbox: Sandbox) -> None:
    sandbox.set_faults(after_commit_error_rate=1.0)
    sm = client(sandbox, **NO_RETRY)
    with pytest.raises(ClientError) as caught:
        make_model(sm, "m")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    assert "after the change was made" in caught.value.response["Error"]["Message"]
    sandbox.set_faults(after_commit_error_rate=0.0)
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["m"]


def test_a_retried_create_meets_its_own_earlier_success(sandbox: Sandbox) -> None:
    sandbox.set_faults(after_commit_drop_rate=1.0)
    sm = client(sandbox, retries={"total_max_attempts": 2, "mode": "standard"})
    code, message = error_of(lambda: make_model(sm, "m"))
    assert code == "ValidationException"
    assert message.startswith("Cannot create already existing model")
    assert sandbox.calls()["CreateModel"] == 2


def test_a_dropped_connection_after_delete_endpoint(sandbox: Sandbox) -> None:
    sm = client(sandbox, **NO_RETRY)
    make_endpoint(sm, "churn")
    sandbox.set_faults(after_commit_drop_rate=1.0)
    with pytest.raises(ConnectionClosedError):
        sm.delete_endpoint(EndpointName="churn")
    sandbox.set_faults(after_commit_drop_rate=0.0)
    assert sm.list_endpoints()["Endpoints"] == []


def test_update_endpoint_commits_before_the_error(sandbox: Sandbox) -> None:
    sm = client(sandbox, **NO_RETRY)
    make_endpoint(sm, "churn")
    make_config(sm, "churn-c2", "churn-m1")
    sandbox.set_faults(after_commit_error_rate=1.0)
    with pytest.raises(ClientError):
        sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c2")
    sandbox.set_faults(after_commit_error_rate=0.0)
    assert status(sm, "churn") == "InService"
    assert sm.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-c2"


def test_reads_and_failed_writes_are_never_hit(sandbox: Sandbox) -> None:
    sandbox.set_faults(after_commit_error_rate=0.5, after_commit_drop_rate=0.5)
    sm = client(sandbox, **NO_RETRY)
    for _ in range(5):
        assert sm.list_models()["Models"] == []
    code, _ = error_of(lambda: sm.delete_model(ModelName="missing"))
    assert code == "ValidationException"


def outcomes(seed: int) -> list[str]:
    with Sandbox(
        faults=Faults(after_commit_error_rate=0.3, after_commit_drop_rate=0.3, seed=seed)
    ) as sandbox:
        sm = client(sandbox, **NO_RETRY)
        results = []
        for i in range(12):
            try:
                make_model(sm, f"m{i}")
                results.append("ok")
            except ConnectionClosedError:
                results.append("dropped")
            except ClientError as error:
                results.append(str(error.response["Error"]["Code"]))
        assert len(sm.list_models(MaxResults=100)["Models"]) == 12  # every one took effect
        return results


def test_the_same_seed_gives_the_same_faults() -> None:
    first = outcomes(7)
    assert outcomes(7) == first
    assert {"ok", "dropped"} <= set(first)
    assert set(first) - {"ok", "dropped"} <= {"InternalFailure", "ServiceUnavailable"}


def test_knobs_are_validated(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="after_commit_error_rate must be a number from 0 to 1"):
        sandbox.set_faults(after_commit_error_rate=1.5)
    with pytest.raises(ValueError, match="must be at most 1"):
        sandbox.set_faults(after_commit_error_rate=0.6, after_commit_drop_rate=0.6)
    settings = sandbox.set_faults(after_commit_drop_rate=0.25)
    assert settings["after_commit_drop_rate"] == 0.25
    assert settings["after_commit_error_rate"] == 0.0


def http_post(sandbox: Sandbox, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/faults", data=json.dumps(body).encode()
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_faults_route_takes_the_after_commit_knobs(sandbox: Sandbox) -> None:
    code, body = http_post(sandbox, {"after_commit_error_rate": 0.1, "after_commit_drop_rate": 0.2})
    assert code == 200
    assert (body["after_commit_error_rate"], body["after_commit_drop_rate"]) == (0.1, 0.2)
    code, body = http_post(sandbox, {"after_commit_drop_rate": -1})
    assert code == 400
    assert "after_commit_drop_rate" in body["message"]
