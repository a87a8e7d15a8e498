"""A stage's analysis as pure functions: queries, verdicts, phases (Argo's AnalysisRun limits),
convergence, and the measurement schedule with a fake reader and clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.aws.stages.serving import ComponentServing, Serving
from controller.errors import ControllerError
from controller.manifests.pipelines.model import Stage, Verification
from controller.promotion import analysis, verifying
from controller.promotion.analysis import Measurement, Phase, Run, Subject

CHECKS = [
    {"name": "errors", "errorRate": {}, "max": 0.01},
    {"name": "p99", "latency": {"statistic": "p99"}, "max": 250},
]


def verification(**overrides: Any) -> Verification:
    return Verification.model_validate(
        {"interval": "2s", "count": 3, "minInvocations": 100, "metrics": CHECKS, **overrides}
    )


SUBJECTS = [Subject("staging", "churn", "primary"), Subject("staging", "fraud", "primary")]


def series(
    invocations: float, errors: float, p99_us: float, subject: int = 0
) -> dict[str, list[float]]:
    return {
        analysis.invocations_id(subject): [invocations],
        analysis.errors_id(subject, 0): [errors],
        analysis.check_id(subject, 1): [p99_us],
    }


def test_one_measurement_builds_its_queries_per_variant_in_manifest_terms() -> None:
    found = analysis.queries(verification(), SUBJECTS)

    assert [(q.id, q.metric, q.statistic) for q in found[:3]] == [
        ("s0_invocations", "Invocations", "Sum"),
        ("s0_c0_errors", "Invocation5XXErrors", "Sum"),
        ("s0_c1", "ModelLatency", "p99"),
    ]
    assert found[0].dimensions == (("EndpointName", "churn"), ("VariantName", "primary"))
    assert found[0].as_request(60)["MetricStat"] == {
        "Metric": {
            "Namespace": "AWS/SageMaker",
            "MetricName": "Invocations",
            "Dimensions": [
                {"Name": "EndpointName", "Value": "churn"},
                {"Name": "VariantName", "Value": "primary"},
            ],
        },
        "Period": 60,
        "Stat": "Sum",
    }
    assert len(found) == 6


def test_a_custom_query_names_the_endpoint_and_variant_in_its_dimensions() -> None:
    custom = {
        "name": "drift",
        "query": {
            "namespace": "Team/Quality",
            "metricName": "Drift",
            "dimensions": {"Endpoint": "{endpoint}", "Variant": "{variant}"},
            "statistic": "Maximum",
        },
        "max": 0.3,
    }
    found = analysis.queries(verification(metrics=[custom]), SUBJECTS[:1])

    assert found[1].namespace == "Team/Quality"
    assert found[1].dimensions == (("Endpoint", "churn"), ("Variant", "primary"))


MATH = {
    "name": "errors",
    "math": {
        "expression": "(e5 + e4) / IF(inv > 0, inv, 1)",
        "metrics": {
            "e5": {
                "namespace": "AWS/SageMaker",
                "metricName": "Invocation5XXErrors",
                "dimensions": {"EndpointName": "{endpoint}", "VariantName": "{variant}"},
                "statistic": "Sum",
            },
            "e4": {
                "namespace": "AWS/SageMaker",
                "metricName": "Invocation4XXErrors",
                "dimensions": {"EndpointName": "{endpoint}", "VariantName": "{variant}"},
                "statistic": "Sum",
            },
            "inv": {
                "namespace": "AWS/SageMaker",
                "metricName": "Invocations",
                "dimensions": {"EndpointName": "{endpoint}", "VariantName": "{variant}"},
                "statistic": "Sum",
            },
        },
    },
    "max": 0.01,
}


def test_a_math_check_is_its_metrics_and_one_expression_in_the_same_batch() -> None:
    found = analysis.queries(verification(metrics=[MATH]), SUBJECTS)

    requests = [q.as_request(60) for q in found if q.subject == 1]
    assert [r["Id"] for r in requests] == [
        "s1_invocations", "s1_c0_e5", "s1_c0_e4", "s1_c0_inv", "s1_c0"
    ]  # fmt: skip
    assert [r["ReturnData"] for r in requests] == [True, False, False, False, True]
    # Ids are made unique per subject and check; CloudWatch's functions are left alone.
    assert requests[-1]["Expression"] == "(s1_c0_e5 + s1_c0_e4) / IF(s1_c0_inv > 0, s1_c0_inv, 1)"
    dims = requests[1]["MetricStat"]["Metric"]["Dimensions"]  # type: ignore[index]
    assert dims == [
        {"Name": "EndpointName", "Value": "fraud"},
        {"Name": "VariantName", "Value": "primary"},
    ]
    measured = analysis.evaluate(
        verification(metrics=[MATH]), SUBJECTS[:1], {"s0_invocations": [1000], "s0_c0": [0.02]}, "t"
    )
    assert (measured.phase, measured.subjects[0].checks[0].value) == (Phase.FAILED, 0.02)


@pytest.mark.parametrize(
    ("math", "error"),
    [
        ({"expression": "a * 2", "metrics": {"a": {"namespace": "N", "metricName": "M"}}}, None),
        (
            {"expression": "a / b", "metrics": {"a": {"namespace": "N", "metricName": "M"}}},
            "the expression names 'b', not in metrics",
        ),
        (
            {"expression": "x", "metrics": {"Bad": {"namespace": "N", "metricName": "M"}}},
            "start with a lower-case letter",
        ),
        (
            {"expression": "1 + 1", "metrics": {"a": {"namespace": "N", "metricName": "M"}}},
            "the expression uses no metric 'a'",
        ),
    ],
)
def test_a_math_check_names_its_metrics_by_ids_its_expression_uses(
    math: dict[str, Any], error: str | None
) -> None:
    check = {"name": "m", "math": math, "max": 1}
    if error is None:
        assert verification(metrics=[check]).metrics[0].math is not None
    else:
        with pytest.raises(ValueError, match=error):
            verification(metrics=[check])


def test_an_inference_component_is_queried_by_its_own_name() -> None:
    custom = {
        "name": "drift",
        "query": {
            "namespace": "Team/Quality",
            "metricName": "Drift",
            "dimensions": {"Component": "{component}", "Endpoint": "{endpoint}"},
        },
        "max": 0.3,
    }
    chat = Subject("staging", "gpu", "shared", "chat")

    found = analysis.queries(verification(metrics=[*CHECKS, custom]), [chat])

    # SageMaker publishes a component's invocation metrics under InferenceComponentName alone.
    assert {q.dimensions for q in found[:3]} == {(("InferenceComponentName", "chat"),)}
    assert found[3].dimensions == (("Component", "chat"), ("Endpoint", "gpu"))
    assert chat.shown == "gpu/chat" and SUBJECTS[0].shown == "churn/primary"


def test_a_healthy_stage_measures_successful_with_its_values() -> None:
    measured = analysis.evaluate(verification(), SUBJECTS[:1], series(1000, 2, 180_000), "t")

    assert measured.phase is Phase.SUCCESSFUL
    checks = {c.name: c.value for c in measured.subjects[0].checks}
    assert checks == {"errors": 0.002, "p99": 180.0}  # microseconds reported as ms


def test_one_bad_endpoint_fails_the_stage() -> None:
    both = {**series(1000, 2, 180_000), **series(1000, 50, 180_000, subject=1)}
    measured = analysis.evaluate(verification(), SUBJECTS, both, "t")

    assert measured.phase is Phase.FAILED
    assert [s.phase for s in measured.subjects] == [Phase.SUCCESSFUL, Phase.FAILED]
    assert measured.subjects[1].checks[0].detail == "0.05 > max 0.01"


@pytest.mark.parametrize(
    "data",
    [
        series(99, 0, 100_000),  # too few invocations
        series(99, 60, 900_000),  # too few, even though they look bad
        {analysis.invocations_id(0): [500.0], analysis.errors_id(0, 0): [0.0]},  # no latency data
        {},  # nothing at all
    ],
)
def test_too_little_traffic_or_no_data_is_inconclusive_never_successful(
    data: dict[str, list[float]],
) -> None:
    assert analysis.evaluate(verification(), SUBJECTS[:1], data, "t").phase is Phase.INCONCLUSIVE


def m(phase: Phase) -> Measurement:
    return Measurement("t", phase)


@pytest.mark.parametrize(
    ("phases", "limits", "expected"),
    [
        ([Phase.SUCCESSFUL] * 3, {}, Phase.SUCCESSFUL),
        ([Phase.SUCCESSFUL] * 2, {}, Phase.RUNNING),
        ([Phase.SUCCESSFUL, Phase.FAILED], {}, Phase.FAILED),
        ([Phase.FAILED, Phase.SUCCESSFUL], {"failureLimit": 1}, Phase.RUNNING),
        ([Phase.FAILED, Phase.SUCCESSFUL, Phase.SUCCESSFUL], {"failureLimit": 1}, Phase.SUCCESSFUL),
        ([Phase.INCONCLUSIVE], {}, Phase.INCONCLUSIVE),
        ([Phase.ERROR] * 4, {}, Phase.RUNNING),
        ([Phase.ERROR] * 5, {}, Phase.ERROR),
        ([Phase.ERROR, Phase.SUCCESSFUL] * 3, {"consecutiveErrorLimit": 1}, Phase.SUCCESSFUL),
    ],
)
def test_run_phases_follow_the_limits(
    phases: list[Phase], limits: dict[str, int], expected: Phase
) -> None:
    run = Run(verification(**limits), [m(p) for p in phases])

    assert run.phase() is expected


@given(
    st.lists(st.sampled_from(list(Phase)[1:]), max_size=30), st.integers(0, 3), st.integers(0, 3)
)
def test_a_run_is_never_successful_past_its_limits(
    phases: list[Phase], failure_limit: int, inconclusive_limit: int
) -> None:
    v = verification(failureLimit=failure_limit, inconclusiveLimit=inconclusive_limit)
    run = Run(v, [m(p) for p in phases])
    failed = phases.count(Phase.FAILED)
    inconclusive = phases.count(Phase.INCONCLUSIVE)

    if run.phase() is Phase.SUCCESSFUL:
        assert failed <= failure_limit and inconclusive <= inconclusive_limit
        assert len(phases) - phases.count(Phase.ERROR) >= v.count


class FakeReader:
    """Serves canned endpoint states and metric answers; records every call."""

    def __init__(
        self, live: dict[str, Serving | None], answers: Sequence[dict[str, list[float]] | Exception]
    ):
        self.live = live
        self.answers = list(answers)
        self.calls: list[tuple[str, int, datetime, datetime]] = []

    def serving(self, location: str, endpoint: str) -> Serving | None:
        return self.live.get(endpoint)

    def metric_values(
        self, location: str, requests: Sequence[dict[str, Any]], start: datetime, end: datetime
    ) -> dict[str, list[float]]:
        self.calls.append((location, len(requests), start, end))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


PINNED = [verifying.Pinned("staging", "churn", "primary", "churn-xgb", 2)]
STAGE = Stage.model_validate(
    {
        "name": "staging",
        "endpoints": {"matchLabels": {"env": "staging"}},
        "verification": {"interval": "2s", "count": 3, "initialDelay": "5s", "metrics": CHECKS},
    }
)
LIVE = {"churn": Serving("InService", "churn-config-2", {"primary": ("churn-xgb", 2)})}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_a_converged_stage_is_measured_count_times_interval_apart_after_the_delay() -> None:
    clock = Clock()
    reader = FakeReader(LIVE, [series(1000, 1, 100_000)] * 3)

    outcome = verifying.verify(STAGE, PINNED, reader, clock=clock, sleep=clock.sleep)

    assert outcome.phase is Phase.SUCCESSFUL
    assert clock.slept == [5.0, 2.0, 2.0]
    assert [(c[0], c[1]) for c in reader.calls] == [
        (
            "staging",
            3,
        )
    ] * 3  # one batch a measurement
    start, end = reader.calls[0][2], reader.calls[0][3]
    assert end - start == timedelta(seconds=2)
    assert outcome.versions == {"churn-xgb": (2,)}


def test_a_failed_measurement_stops_the_run_at_once() -> None:
    clock = Clock()
    reader = FakeReader(LIVE, [series(1000, 1, 100_000), series(1000, 90, 100_000)])

    outcome = verifying.verify(STAGE, PINNED, reader, clock=clock, sleep=clock.sleep)

    assert outcome.phase is Phase.FAILED
    assert len(outcome.measurements) == 2


def test_api_errors_in_a_row_end_in_error_and_the_loop_is_bounded() -> None:
    clock = Clock()
    reader = FakeReader(LIVE, [ControllerError("GetMetricData: throttled")] * 20)

    outcome = verifying.verify(STAGE, PINNED, reader, clock=clock, sleep=clock.sleep)

    assert outcome.phase is Phase.ERROR
    assert len(outcome.measurements) == 5  # consecutiveErrorLimit 4, then one more
    assert outcome.measurements[0].error == "GetMetricData: throttled"


@pytest.mark.parametrize(
    ("live", "phase", "note"),
    [
        ({}, Phase.INCONCLUSIVE, "churn (staging): not created yet"),
        (
            {"churn": Serving("Updating", "c", {"primary": ("churn-xgb", 1)})},
            Phase.INCONCLUSIVE,
            "churn (staging): variant primary serves v1, the manifests pin churn-xgb v2",
        ),
        (
            {"churn": Serving("UpdateRollbackFailed", "c", {}, "alarm fired")},
            Phase.FAILED,
            "churn (staging): UpdateRollbackFailed: alarm fired",
        ),
    ],
)
def test_a_stage_not_serving_its_pinned_version_is_not_measured(
    live: dict[str, Serving | None], phase: Phase, note: str
) -> None:
    clock = Clock()
    reader = FakeReader(live, [])

    outcome = verifying.verify(STAGE, PINNED, reader, clock=clock, sleep=clock.sleep)

    assert outcome.phase is phase
    assert note in outcome.convergence.notes
    assert reader.calls == [] and clock.slept == []


def test_wait_converged_polls_until_the_stage_serves_its_pin_and_no_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from controller.commands import verify as command

    monkeypatch.setattr(command, "CONVERGE_POLL_SECONDS", 0.01)
    updating = Serving("Updating", "c", {"primary": ("churn-xgb", 1)})
    states = [updating, updating, LIVE["churn"]]
    reads: list[str] = []

    class Converging(FakeReader):
        def serving(self, location: str, endpoint: str) -> Serving | None:
            reads.append(endpoint)
            return states[min(len(reads), len(states)) - 1]

    command._wait_converged(PINNED, Converging({}, []), 5.0)

    assert len(reads) == 3  # two polls while Updating, then converged: no further read


class ComponentReader(FakeReader):
    def __init__(self, parts: dict[str, ComponentServing | None]) -> None:
        super().__init__({}, [])
        self.parts = parts

    def component(self, location: str, component: str) -> ComponentServing | None:
        return self.parts.get(component)


CHAT = verifying.Pinned("staging", "gpu", "shared", "churn-xgb", 2, "chat")
ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package/churn-xgb/2"


@pytest.mark.parametrize(
    ("part", "phase", "note"),
    [
        (ComponentServing("InService", "gpu", ("churn-xgb", 2), ARN), Phase.SUCCESSFUL, ""),
        (None, Phase.RUNNING, "gpu (staging): component chat: not created yet"),
        (
            ComponentServing("Updating", "gpu", ("churn-xgb", 2), ARN),
            Phase.RUNNING,
            "gpu (staging): component chat: Updating",
        ),
        (
            ComponentServing("InService", "gpu", ("churn-xgb", 1), ARN[:-1] + "1"),
            Phase.RUNNING,
            "gpu (staging): component chat serves v1, the manifests pin churn-xgb v2",
        ),
        (
            ComponentServing("Failed", "gpu", ("churn-xgb", 2), ARN, "health check failed"),
            Phase.FAILED,
            "gpu (staging): component chat: Failed: health check failed",
        ),
    ],
)
def test_a_component_converges_when_it_serves_its_pin_and_fails_when_it_failed(
    part: ComponentServing | None, phase: Phase, note: str
) -> None:
    found = verifying.convergence([CHAT], ComponentReader({"chat": part}))

    assert found.phase is phase
    assert list(found.notes) == ([note] if note else [])
    if phase is Phase.SUCCESSFUL:
        assert found.packages == (("churn-xgb", 2, "staging", ARN),)


@pytest.mark.parametrize(
    ("condition", "value", "phase"),
    [
        ("value < 0.01 or value > 0.99", 0.5, Phase.FAILED),
        ("value < 0.01 or value > 0.99", 0.995, Phase.SUCCESSFUL),
        ("0.2 <= value < 0.8", 0.8, Phase.FAILED),
        ("not (abs(value - 1) > 0.1)", 1.05, Phase.SUCCESSFUL),
        ("value * 1000 / 0 < 1", 1.0, Phase.FAILED),  # a division by zero does not hold
    ],
)
def test_a_condition_judges_what_one_range_cannot(
    condition: str, value: float, phase: Phase
) -> None:
    check = verification(metrics=[{"name": "c", "errorRate": {}, "condition": condition}])

    result = analysis.judge(check.metrics[0], value)

    assert result.phase is phase
    assert result.detail == ("" if phase is Phase.SUCCESSFUL else f"{value:.4g} fails {condition}")


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ("__import__('os').system('x')", "only abs\\(...\\) may be called"),
        ("value.real > 1", "Attribute is not allowed"),
        ("max(value, 1) > 1", "only abs"),
        ("maximum > 1", "unknown name 'maximum'"),
        ("value > 'a'", "only numbers may be written"),
        ("1 < 2", "does not use value"),
        ("value + 1", "is not a comparison"),
        ("value <", "is not an expression"),
    ],
)
def test_a_condition_is_a_small_language_and_nothing_else(condition: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        verification(metrics=[{"name": "c", "errorRate": {}, "condition": condition}])
