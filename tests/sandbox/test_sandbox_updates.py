"""UpdateEndpoint and UpdateEndpointWeightsAndCapacities with SageMaker's semantics."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import (
    ManualClock,
    client,
    error_of,
    make_config,
    make_endpoint,
    make_model,
    status,
)

from controller.sandbox import Sandbox

FAIL = {"SAGEMAKER_SANDBOX_FAIL": "1"}
CANARY = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        },
        "MaximumExecutionTimeoutInSeconds": 3600,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-5xx"}]},
}


@pytest.fixture
def sm(slow_sandbox: Sandbox, clock: ManualClock) -> Any:
    """A client whose endpoint `churn` is InService on config churn-c1 (1 instance)."""
    sm = client(slow_sandbox)
    make_endpoint(sm, "churn")
    clock.advance(10)
    make_model(sm, "churn-m2")
    make_config(sm, "churn-c2", "churn-m2", count=3)
    return sm


def test_update_goes_updating_then_in_service_on_new_config(sm: Any, clock: ManualClock) -> None:
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c2", DeploymentConfig=CANARY)
    during = sm.describe_endpoint(EndpointName="churn")
    assert during["EndpointStatus"] == "Updating"
    assert during["EndpointConfigName"] == "churn-c1"
    assert during["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    pending = during["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "churn-c2"
    assert pending["ProductionVariants"][0]["DesiredInstanceCount"] == 3
    clock.advance(10)
    after = sm.describe_endpoint(EndpointName="churn")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == "churn-c2"
    assert after["ProductionVariants"] == [
        {
            "VariantName": "primary",
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
            "CurrentInstanceCount": 3,
            "DesiredInstanceCount": 3,
        }
    ]
    assert after["LastDeploymentConfig"] == CANARY
    assert "PendingDeploymentSummary" not in after


@pytest.mark.parametrize("busy", ["Updating", "Creating", "Deleting"])
def test_update_of_in_progress_endpoint_is_rejected(sm: Any, clock: ManualClock, busy: str) -> None:
    if busy == "Updating":
        sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c2")
    elif busy == "Creating":
        sm.create_endpoint(EndpointName="fresh", EndpointConfigName="churn-c1")
    else:
        sm.delete_endpoint(EndpointName="churn")
    name = "fresh" if busy == "Creating" else "churn"
    assert status(sm, name) == busy
    code, message = error_of(
        lambda: sm.update_endpoint(EndpointName=name, EndpointConfigName="churn-c2")
    )
    assert code == "ValidationException"
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
    assert message == f'Cannot update in-progress endpoint "{arn}".'


def test_update_to_missing_config_is_rejected(sm: Any) -> None:
    code, message = error_of(
        lambda: sm.update_endpoint(EndpointName="churn", EndpointConfigName="nope")
    )
    assert code == "ValidationException"
    assert message == (
        'Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:'
        'endpoint-config/nope".'
    )


def test_update_of_missing_endpoint_is_rejected(sm: Any) -> None:
    code, message = error_of(
        lambda: sm.update_endpoint(EndpointName="nope", EndpointConfigName="churn-c2")
    )
    assert code == "ValidationException"
    assert message.startswith('Could not find endpoint "arn:aws:sagemaker:')


def test_failing_update_rolls_back_to_old_config(sm: Any, clock: ManualClock) -> None:
    make_model(sm, "churn-bad", env=FAIL)
    make_config(sm, "churn-c3", "churn-bad", count=5)
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c3")
    assert status(sm, "churn") == "Updating"
    clock.advance(10)
    assert status(sm, "churn") == "RollingBack"
    clock.advance(10)
    after = sm.describe_endpoint(EndpointName="churn")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == "churn-c1"
    assert after["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert "did not pass the ping health check" in after["FailureReason"]
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="churn-c2")
    clock.advance(10)
    fixed = sm.describe_endpoint(EndpointName="churn")
    assert fixed["EndpointConfigName"] == "churn-c2"
    assert "FailureReason" not in fixed


def test_update_of_failed_endpoint_is_rejected(sm: Any, clock: ManualClock) -> None:
    make_endpoint(sm, "broken", env=FAIL)
    clock.advance(10)
    assert status(sm, "broken") == "Failed"
    code, message = error_of(
        lambda: sm.update_endpoint(EndpointName="broken", EndpointConfigName="churn-c2")
    )
    assert code == "ValidationException"
    assert "failed endpoint" in message


def test_retain_all_variant_properties_keeps_live_counts(sm: Any, clock: ManualClock) -> None:
    sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}],
    )
    clock.advance(10)
    sm.update_endpoint(
        EndpointName="churn", EndpointConfigName="churn-c2", RetainAllVariantProperties=True
    )
    clock.advance(10)
    variant = sm.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 2


def test_excluded_retained_property_comes_from_new_config(sm: Any, clock: ManualClock) -> None:
    sm.update_endpoint(
        EndpointName="churn",
        EndpointConfigName="churn-c2",
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    clock.advance(10)
    variant = sm.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 3


def test_weights_and_capacities_update(sm: Any, clock: ManualClock) -> None:
    sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredWeight": 0.5, "DesiredInstanceCount": 4}
        ],
    )
    during = sm.describe_endpoint(EndpointName="churn")
    assert during["EndpointStatus"] == "Updating"
    variant = during["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (1, 4)
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 0.5)
    clock.advance(10)
    after = sm.describe_endpoint(EndpointName="churn")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == "churn-c1"
    variant = after["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["CurrentWeight"]) == (4, 0.5)


def test_weights_for_unknown_variant_are_rejected(sm: Any) -> None:
    code, message = error_of(
        lambda: sm.update_endpoint_weights_and_capacities(
            EndpointName="churn",
            DesiredWeightsAndCapacities=[{"VariantName": "other", "DesiredWeight": 1.0}],
        )
    )
    assert code == "ValidationException"
    assert '"other"' in message


@pytest.mark.parametrize(
    ("deployment", "fragment"),
    [
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "SIDEWAYS", "WaitIntervalInSeconds": 1}
                }
            },
            "Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 3601,
                    }
                }
            },
            "Member must have value less than or equal to 3600",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 0,
                    },
                    "MaximumExecutionTimeoutInSeconds": 599,
                }
            },
            "Member must have value greater than or equal to 600",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 0}
                }
            },
            "CanarySize must be specified",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "WaitIntervalInSeconds": 0,
                        "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 0},
                    }
                }
            },
            "Member must have value greater than or equal to 1",
        ),
        (
            {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "BATCHES", "Value": 1},
                    "WaitIntervalInSeconds": 0,
                }
            },
            "[INSTANCE_COUNT, CAPACITY_PERCENT]",
        ),
        (
            {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"a{i}"} for i in range(11)]}},
            "Member must have length less than or equal to 10",
        ),
    ],
)
def test_invalid_deployment_config_is_rejected(
    sm: Any, slow_sandbox: Sandbox, deployment: dict[str, Any], fragment: str
) -> None:
    # botocore checks minimums itself; switch that off to see the server's answer.
    raw = client(slow_sandbox, parameter_validation=False)
    code, message = error_of(
        lambda: raw.update_endpoint(
            EndpointName="churn", EndpointConfigName="churn-c2", DeploymentConfig=deployment
        )
    )
    assert code == "ValidationException"
    assert fragment in message
    assert status(sm, "churn") == "InService"


def test_rolling_update_config_is_accepted_and_reported(sm: Any, clock: ManualClock) -> None:
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 60,
            "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        }
    }
    sm.update_endpoint(
        EndpointName="churn", EndpointConfigName="churn-c2", DeploymentConfig=rolling
    )
    clock.advance(10)
    assert sm.describe_endpoint(EndpointName="churn")["LastDeploymentConfig"] == rolling
