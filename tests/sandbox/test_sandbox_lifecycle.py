"""Endpoint status transitions: Creating/Deleting timing, Failed on the fail marker, listings."""

from __future__ import annotations

from typing import Any

from sandbox_helpers import (
    ROLE,
    ManualClock,
    client,
    error_of,
    make_config,
    make_endpoint,
    make_model,
    status,
    wait_for,
)

from controller.sandbox import Sandbox

FAIL = {"SAGEMAKER_SANDBOX_FAIL": "1"}


def test_create_is_in_service_at_once_with_zero_transition(sm: Any) -> None:
    make_endpoint(sm, "churn")
    described = sm.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "churn-c1"
    assert "FailureReason" not in described


def test_create_then_delete_take_transition_seconds_in_real_time() -> None:
    with Sandbox(transition_seconds=0.3) as sandbox:
        sm = client(sandbox)
        make_endpoint(sm, "churn")
        assert status(sm, "churn") == "Creating"
        wait_for(lambda: status(sm, "churn") == "InService", timeout=5)
        sm.delete_endpoint(EndpointName="churn")
        assert status(sm, "churn") == "Deleting"
        wait_for(lambda: sm.list_endpoints()["Endpoints"] == [], timeout=5)
        code, message = error_of(lambda: sm.describe_endpoint(EndpointName="churn"))
        assert (code, message) == ("ValidationException", 'Could not find endpoint "churn".')


def test_status_follows_the_clock_exactly(slow_sandbox: Sandbox, clock: ManualClock) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "churn")
    created = sm.describe_endpoint(EndpointName="churn")
    clock.advance(9.99)
    assert status(sm, "churn") == "Creating"
    clock.advance(0.01)
    settled = sm.describe_endpoint(EndpointName="churn")
    assert settled["EndpointStatus"] == "InService"
    elapsed = settled["LastModifiedTime"] - created["CreationTime"]
    assert abs(elapsed.total_seconds() - 10.0) < 0.01


def test_list_endpoints_reflects_lazy_statuses(slow_sandbox: Sandbox, clock: ManualClock) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "a")
    clock.advance(5)
    make_endpoint(sm, "b")
    clock.advance(5)
    statuses = {e["EndpointName"]: e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]}
    assert statuses == {"a": "InService", "b": "Creating"}
    in_service = sm.list_endpoints(StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in in_service] == ["a"]


def test_new_transition_time_applies_to_later_transitions_only(
    slow_sandbox: Sandbox, clock: ManualClock
) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "before")
    slow_sandbox.set_faults(transition_seconds=100)
    make_endpoint(sm, "after")
    clock.advance(10)
    assert status(sm, "before") == "InService"
    assert status(sm, "after") == "Creating"
    clock.advance(90)
    assert status(sm, "after") == "InService"


def test_fail_marker_on_byom_model_fails_create(slow_sandbox: Sandbox, clock: ManualClock) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "broken", env=FAIL)
    assert status(sm, "broken") == "Creating"
    clock.advance(10)
    described = sm.describe_endpoint(EndpointName="broken")
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "The primary container for production variant primary did not pass the ping health check."
    )


def test_fail_marker_in_containers_list_fails_create(sm: Any) -> None:
    container = {"Image": "img:1", "Environment": FAIL}
    sm.create_model(ModelName="multi", ExecutionRoleArn=ROLE, Containers=[container])
    make_config(sm, "multi-c", "multi")
    sm.create_endpoint(EndpointName="multi", EndpointConfigName="multi-c")
    assert status(sm, "multi") == "Failed"


def test_failed_endpoint_can_be_deleted(sm: Any) -> None:
    make_endpoint(sm, "broken", env=FAIL)
    assert status(sm, "broken") == "Failed"
    sm.delete_endpoint(EndpointName="broken")
    assert sm.list_endpoints()["Endpoints"] == []


def test_delete_while_creating_is_rejected(slow_sandbox: Sandbox, clock: ManualClock) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "busy")
    code, message = error_of(lambda: sm.delete_endpoint(EndpointName="busy"))
    assert code == "ValidationException"
    assert message.startswith('Cannot delete in-progress endpoint "arn:aws:sagemaker:')


def test_name_is_free_again_once_deletion_finished(
    slow_sandbox: Sandbox, clock: ManualClock
) -> None:
    sm = client(slow_sandbox)
    make_endpoint(sm, "churn")
    clock.advance(10)
    sm.delete_endpoint(EndpointName="churn")
    code, _ = error_of(
        lambda: sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-c1")
    )
    assert code == "ValidationException"
    clock.advance(10)
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-c1")
    assert status(sm, "churn") == "Creating"


def test_model_created_after_config_is_irrelevant_but_missing_model_fails(sm: Any) -> None:
    make_model(sm, "gone")
    make_config(sm, "gone-c", "gone")
    sm.delete_model(ModelName="gone")
    sm.create_endpoint(EndpointName="gone", EndpointConfigName="gone-c")
    described = sm.describe_endpoint(EndpointName="gone")
    assert described["EndpointStatus"] == "Failed"
    assert "Could not find model" in described["FailureReason"]


def test_list_endpoints_time_filters_work(sm: Any) -> None:
    import datetime

    make_endpoint(sm, "churn")
    now = datetime.datetime.now(datetime.UTC)
    hour = datetime.timedelta(hours=1)
    assert len(sm.list_endpoints(CreationTimeBefore=now + hour)["Endpoints"]) == 1
    assert sm.list_endpoints(CreationTimeAfter=now + hour)["Endpoints"] == []
    assert len(sm.list_endpoints(LastModifiedTimeAfter=now - hour)["Endpoints"]) == 1
