"""UpdateEndpoint's AutoRollbackConfiguration in the sandbox: an alarm that would fire on the new
config's traffic rolls the update back, as SageMaker's deployment guardrails do; one that would
not, one on another endpoint, and one that does not exist do not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_helpers import client, make_config, make_endpoint, make_model

from controller.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(transition_seconds=0.0) as running:
        # Image models have no registry version: each endpoint's profile is its own.
        running.set_traffic({"endpoints": {"bad": {"error5xxRate": 0.3}}})
        yield running


def put_error_rate_alarm(cloudwatch: Any, name: str, endpoint: str, threshold: float) -> None:
    dims = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "primary"},
    ]

    def stat(ident: str, metric: str) -> dict[str, Any]:
        found = {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dims}
        return {
            "Id": ident,
            "MetricStat": {"Metric": found, "Period": 60, "Stat": "Sum"},
            "ReturnData": False,
        }

    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Metrics=[
            stat("errors", "Invocation5XXErrors"),
            stat("invocations", "Invocations"),
            {"Id": "rate", "Expression": "errors / invocations", "ReturnData": True},
        ],
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )


def update(sm: Any, endpoint: str, alarms: list[str]) -> dict[str, Any]:
    """Roll `endpoint` to a new config (its second) naming `alarms`; its description once
    settled (updates take no time in this sandbox)."""
    version = 2
    make_model(sm, f"{endpoint}-m{version}")
    make_config(sm, f"{endpoint}-c{version}", f"{endpoint}-m{version}")
    sm.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=f"{endpoint}-c{version}",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]},
        },
    )
    return dict(sm.describe_endpoint(EndpointName=endpoint))


@pytest.mark.parametrize(
    ("endpoint", "alarm", "watched", "threshold", "rolled_back"),
    [
        ("bad", "bad-5xx", "bad", 0.05, True),  # 30% 5XX on the new config: rolled back
        ("calm", "calm-5xx", "calm", 0.05, False),  # the default profile: 0.1% 5XX
        ("bad2", "elsewhere-5xx", "other", 0.05, False),  # watches another endpoint: no data
        ("bad3", "", "bad3", 0.05, False),  # names an alarm that does not exist
    ],
)
def test_an_alarm_that_would_fire_on_the_new_config_rolls_the_update_back(
    sandbox: Sandbox, endpoint: str, alarm: str, watched: str, threshold: float, rolled_back: bool
) -> None:
    sm, cloudwatch = client(sandbox), client(sandbox, "cloudwatch")
    sandbox.set_traffic({"endpoints": {e: {"error5xxRate": 0.3} for e in ("bad2", "bad3")}})
    make_endpoint(sm, endpoint)
    if alarm:
        put_error_rate_alarm(cloudwatch, alarm, watched, threshold)

    live = update(sm, endpoint, [alarm or "nobody-made-this"])

    assert live["EndpointStatus"] == "InService"
    if rolled_back:
        assert live["EndpointConfigName"] == f"{endpoint}-c1"
        assert f"CloudWatch alarm {alarm} went into ALARM state" in live["FailureReason"]
    else:
        assert live["EndpointConfigName"] == f"{endpoint}-c2"
        assert "FailureReason" not in live
