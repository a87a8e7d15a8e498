"""A stage's checks as an endpoint's rollback alarms: the requests (pure), what a rollout does
with the live ones, and `fromPipeline` resolved against the tree with `file:line` errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.core import rollbackactions, rollbackalarms
from controller.core.plan.plans import Op
from controller.core.scaling.model import LiveAlarm
from controller.manifests.loading import load_manifests
from controller.manifests.pipelines.model import StageAlarms, Verification

CHECKS = [
    {"name": "errors", "errorRate": {}, "max": 0.05},
    {"name": "p99", "latency": {"statistic": "p99"}, "max": 500},
    {"name": "mean", "latency": {"statistic": "Average"}, "max": 200, "min": 1},
    {
        "name": "drift",
        "query": {
            "namespace": "Team/Quality",
            "metricName": "Drift",
            "dimensions": {"Endpoint": "{endpoint}", "Variant": "{variant}"},
        },
        "max": 0.3,
    },
    {
        "name": "share",
        "math": {
            "expression": "e4 / inv",
            "metrics": {
                "e4": {"namespace": "AWS/SageMaker", "metricName": "Invocation4XXErrors",
                       "dimensions": {"EndpointName": "{endpoint}", "VariantName": "{variant}"},
                       "statistic": "Sum"},
                "inv": {"namespace": "AWS/SageMaker", "metricName": "Invocations",
                        "dimensions": {"EndpointName": "{endpoint}", "VariantName": "{variant}"},
                        "statistic": "Sum"},
            },
        },
        "max": 0.1,
    },
]  # fmt: skip


def stage(interval: str = "90s", checks: list[dict[str, Any]] = CHECKS) -> StageAlarms:
    verification = Verification.model_validate({"interval": interval, "metrics": checks})
    return StageAlarms("churn", "staging", verification, ("primary",))


def by_name(requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    prefix = "sagemaker-gitops-rollback-churn-primary-"
    return {str(r["AlarmName"]).removeprefix(prefix): r for r in requests}


def test_each_check_and_bound_is_one_alarm_on_what_the_analysis_reads() -> None:
    found = by_name(rollbackalarms.requests(stage(), "churn", "ctl"))

    assert sorted(found) == [
        "drift-max", "errors-max", "mean-max", "mean-min", "p99-max", "share-max"
    ]  # fmt: skip
    share = found["share-max"]["Metrics"]
    assert [q["Id"] for q in share] == ["m_e4", "m_inv", "value"]
    assert share[-1]["Expression"] == "m_e4 / m_inv" and share[0]["ReturnData"] is False
    assert share[1]["MetricStat"]["Metric"]["Dimensions"][0] == {
        "Name": "EndpointName", "Value": "churn"
    }  # fmt: skip
    errors = found["errors-max"]
    assert [q.get("Expression") for q in errors["Metrics"]] == [None, None, "errors / invocations"]
    assert errors["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "Invocation5XXErrors"
    assert errors["Metrics"][0]["MetricStat"]["Period"] == 120  # 90s, in whole minutes
    assert (errors["Threshold"], errors["ComparisonOperator"]) == (0.05, "GreaterThanThreshold")
    assert "MetricName" not in errors and "EvaluateLowSampleCountPercentile" not in errors
    p99 = found["p99-max"]
    assert (p99["ExtendedStatistic"], p99["Threshold"]) == ("p99", 500_000.0)  # ms -> us
    assert p99["EvaluateLowSampleCountPercentile"] == "ignore"
    assert (found["mean-min"]["Statistic"], found["mean-min"]["Threshold"]) == ("Average", 1000.0)
    assert found["mean-min"]["ComparisonOperator"] == "LessThanThreshold"
    assert found["drift-max"]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "churn"},
        {"Name": "Variant", "Value": "primary"},
    ]
    for request in found.values():
        assert request["TreatMissingData"] == "notBreaching"
        assert request["AlarmActions"] == [] and request["EvaluationPeriods"] == 1
        assert {"Key": "sagemaker-gitops/managed-by", "Value": "ctl"} in request["Tags"]


@given(
    st.integers(min_value=1, max_value=86_400),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=63),
)
def test_periods_cover_the_window_and_names_fit_cloudwatch(seconds: int, endpoint: str) -> None:
    checks = [{"name": "e" * 63, "errorRate": {}, "max": 1, "min": 0}]
    alarms = StageAlarms(
        "p",
        "s",
        Verification.model_validate({"interval": seconds, "metrics": checks}),
        ("v" * 63,),
    )

    for request in rollbackalarms.requests(alarms, endpoint, "ctl"):
        period = request["Metrics"][0]["MetricStat"]["Period"]
        assert period % 60 == 0 and seconds <= period < seconds + 60
        assert len(request["AlarmName"]) <= 255  # PutMetricAlarm's AlarmName limit


def described(request: dict[str, Any]) -> dict[str, Any]:
    """What DescribeAlarms answers for an alarm put with `request` (moto's, and CloudWatch's,
    shape: state and empty lists besides what was put)."""
    found = {k: v for k, v in request.items() if k not in ("Tags",)}
    found.setdefault("Dimensions", [])
    found.setdefault("Metrics", [])
    return {**found, "StateValue": "OK", "OKActions": [], "InsufficientDataActions": []}


def live(request: dict[str, Any], owner: str | None = "ctl") -> LiveAlarm:
    tags = {"sagemaker-gitops/managed-by": owner} if owner else {}
    return LiveAlarm(request["AlarmName"], f"arn:{request['AlarmName']}", described(request), tags)


def test_a_rollout_puts_what_is_missing_or_differs_and_deletes_what_it_no_longer_names() -> None:
    wanted = rollbackalarms.requests(stage(), "churn", "ctl")
    asked: list[str] = []

    def tags_of(arn: str) -> dict[str, str]:
        asked.append(arn)
        return {"sagemaker-gitops/managed-by": "ctl"}

    def plan(have: dict[str, LiveAlarm]) -> list[tuple[Op, str]]:
        found, _ = rollbackactions.actions("churn", wanted, have, "ctl", tags_of)
        return [(a.op, a.name.rsplit("-", 2)[-2] + "-" + a.name.rsplit("-", 1)[-1]) for a in found]

    everything = {str(r["AlarmName"]).lower(): live(r) for r in wanted}
    assert plan({}) == [(Op.CREATE, n) for n in sorted(by_name(wanted))]
    assert plan(everything) == []  # in sync: nothing put, no tags read
    assert asked == []
    moved = {**wanted[0], "Threshold": 0.5}
    stale = live({**wanted[0], "AlarmName": "sagemaker-gitops-rollback-churn-primary-old-max"})
    changed = {**everything, wanted[0]["AlarmName"].lower(): live(moved), "old": stale}
    assert plan(changed) == [(Op.UPDATE, "drift-max"), (Op.DELETE, "old-max")]


def test_an_alarm_of_that_name_it_does_not_own_is_left_alone_and_reported() -> None:
    wanted = rollbackalarms.requests(stage(checks=CHECKS[:1]), "churn", "ctl")
    theirs = live({**wanted[0], "Threshold": 0.9}, owner="someone-else")

    found, warnings = rollbackactions.actions(
        "churn", wanted, {wanted[0]["AlarmName"].lower(): theirs}, "ctl", lambda arn: {}
    )

    assert found == []
    assert warnings == [f"alarm {theirs.name} exists and is not managed by this controller"]


PIPELINE = """\
apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {name: churn}
spec:
  packageGroups: [churn-xgb]
  stages:
    - name: staging
      endpoints: {names: [churn]}
      verification:
        metrics: [{name: errors, errorRate: {}, max: 0.05}, {name: p99, latency: {}, max: 500}]
"""
ENDPOINT = """\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {name: churn}
spec:
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: primary
      model: {packageGroup: churn-xgb, version: 1}
      instanceType: ml.m5.xlarge
  deployment:
    autoRollbackConfiguration:
      fromPipeline: PIPELINE
      alarms: ALARMS
"""


@pytest.mark.parametrize(
    ("pipeline", "alarms", "expected"),
    [
        ("churn", "[]", None),
        (
            "fraud",
            "[]",
            "churn.yaml:12: spec.deployment.autoRollbackConfiguration.fromPipeline: no kind: "
            "Pipeline named 'fraud' among the manifests loaded",
        ),
        (
            "churn",
            "[" + ", ".join(f"{{alarmName: a{i}}}" for i in range(9)) + "]",
            "churn.yaml:12: spec.deployment.autoRollbackConfiguration.fromPipeline: 9 alarm(s) "
            "named here and 2 from stage 'staging''s checks make 11: SageMaker takes at most 10",
        ),
    ],
)
def test_from_pipeline_resolves_to_the_stage_or_says_why_not(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipeline: str,
    alarms: str,
    expected: str | None,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    text = ENDPOINT.replace("PIPELINE", pipeline).replace("ALARMS", alarms)
    (tmp_path / "churn.yaml").write_text(text)

    result = load_manifests([Path(".")])

    if expected is None:
        assert result.ok, result.diagnostics
        (entry,) = result.manifests
        assert entry.stage_alarms is not None
        assert (entry.stage_alarms.stage, entry.stage_alarms.variants) == ("staging", ("primary",))
    else:
        assert [str(d) for d in result.diagnostics] == [expected]


def test_an_endpoint_in_no_verified_stage_has_no_checks_to_alarm_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    unverified = PIPELINE.split("      verification:")[0]
    (tmp_path / "pipeline.yaml").write_text(unverified)
    text = ENDPOINT.replace("PIPELINE", "churn").replace("ALARMS", "[]")
    (tmp_path / "churn.yaml").write_text(text)

    found = [str(d) for d in load_manifests([Path(".")]).diagnostics]

    assert found == [
        "churn.yaml:12: spec.deployment.autoRollbackConfiguration.fromPipeline: endpoint "
        "'churn' is in stage 'staging' of pipeline 'churn', which has no verification: no "
        "checks to make alarms of"
    ]


def test_a_condition_has_no_alarm_counterpart_only_its_bounds_do() -> None:
    checks = [{"name": "c", "errorRate": {}, "condition": "value < 0.1 or value > 0.9"}]
    bounded = [{**checks[0], "max": 0.95}]

    assert rollbackalarms.requests(stage(checks=checks), "churn", "ctl") == []
    assert [r["AlarmName"] for r in rollbackalarms.requests(stage(checks=bounded), "e", "ctl")] == [
        "sagemaker-gitops-rollback-e-primary-c-max"
    ]
