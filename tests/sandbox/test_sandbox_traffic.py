"""The sandbox's traffic model as pure functions: the latency fit, the noise, profiles, and the
metric math evaluator (hypothesis where the inputs are open-ended)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.sandbox.cloudwatch.metrics import expression_points
from controller.sandbox.cloudwatch.traffic import Profile, TrafficSettings, latency_statistic, noise
from controller.sandbox.errors import ApiError

latencies = st.tuples(st.floats(0.5, 5_000), st.floats(1.0, 20.0)).map(
    lambda t: (t[0], t[0] * t[1])
)


@given(latencies)
def test_the_fit_gives_back_p50_and_p99(p50_p99: tuple[float, float]) -> None:
    p50, p99 = p50_p99
    assert math.isclose(latency_statistic(p50, p99, "p50", 100), p50, rel_tol=1e-9)
    assert math.isclose(latency_statistic(p50, p99, "p99", 100), p99, rel_tol=1e-9)


@given(latencies, st.integers(2, 10_000))
def test_statistics_are_ordered_as_a_distribution_s_must_be(
    p50_p99: tuple[float, float], samples: int
) -> None:
    p50, p99 = p50_p99
    stat = lambda name: latency_statistic(p50, p99, name, samples)  # noqa: E731
    assert stat("Minimum") <= stat("p10") <= stat("p50") <= stat("p90") <= stat("p99.9")
    assert stat("p50") <= stat("Average")  # a log-normal's mean is above its median
    assert stat("Maximum") >= stat("p50")


@given(st.integers(), st.text(max_size=20), st.integers())
def test_noise_is_bounded_and_repeatable(seed: int, name: str, bucket: int) -> None:
    first = noise(seed, name, bucket)
    assert 0.97 <= first <= 1.03 and first == noise(seed, name, bucket)


def test_a_profile_refuses_what_aws_could_never_report() -> None:
    with pytest.raises(ValueError, match=r"versions\['x'\]\.error5xxRate: must be from 0 to 1"):
        Profile.parse({"error5xxRate": 1.5}, "versions['x']")
    with pytest.raises(ValueError, match="p99 10 is below p50 40"):
        Profile.parse({"modelLatencyMs": {"p50": 40, "p99": 10}}, "v")
    with pytest.raises(ValueError, match="unknown field"):
        Profile.parse({"errorRate": 0.1}, "v")


def test_a_bad_update_changes_nothing() -> None:
    settings = TrafficSettings()
    with pytest.raises(ValueError):
        settings.update(
            {"timeScale": 10, "versions": {"g/1": {"error5xxRate": 9}}}, "1" * 12, "us-east-1"
        )
    assert settings.time_scale == 1.0 and settings.versions == {}


SERIES = {"a": {0.0: 10.0, 60.0: 20.0}, "b": {0.0: 2.0, 60.0: 0.0}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b", {0.0: 12.0, 60.0: 20.0}),
        ("100 * b / a", {0.0: 20.0, 60.0: 0.0}),
        ("a / b", {0.0: 5.0}),  # a division by zero drops the point
        ("-(a - 2 * b)", {0.0: -6.0, 60.0: -20.0}),
    ],
)
def test_metric_math_is_pointwise_arithmetic(text: str, expected: dict[float, float]) -> None:
    assert expression_points(text, SERIES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FILL(a, 0)", "function FILL is not supported"),
        ("a ** 2", "not valid metric math"),
        ("c + 1", "unknown metric id 'c'"),
        ("__import__('os')", "function __import__ is not supported"),
        ("a +", "not valid metric math"),
    ],
)
def test_anything_but_arithmetic_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ApiError, match=message):
        expression_points(text, SERIES)
