"""CloudWatch GetMetricData over the sandbox's synthesised SageMaker invocation metrics, through a
real boto3 CloudWatch client (Smithy RPC v2 CBOR) over HTTP. One sandbox for the module, on a
manual clock: every number below is exact and repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sandbox_helpers import ROLE, ManualClock, assumed_client, client, error_of

from controller.sandbox import Sandbox
from controller.sandbox.errors import SeedError

GROUP = "churn-xgb"
SEED = {
    "modelPackageGroups": [
        {
            "name": GROUP,
            "versions": [
                {"image": "i:1", "modelDataUrl": "s3://m/1.tar.gz", "approval": "Approved"},
                {
                    "image": "i:1",
                    "modelDataUrl": "s3://m/2.tar.gz",
                    "approval": "Approved",
                    "traffic": {"error5xxRate": 0.2, "modelLatencyMs": {"p50": 300, "p99": 900}},
                },
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=SEED, clock=clock) as running:
        running.set_traffic({"timeScale": 1, "seed": 7})
        yield running


@pytest.fixture(scope="module")
def endpoints(sandbox: Sandbox, clock: ManualClock) -> dict[str, float]:
    """`good` serves v1; `bad` serves v1 with v2 as a shadow; `quiet` has no traffic. Returns
    the clock time each became InService."""
    sm = client(sandbox)
    packages = [
        p["ModelPackageArn"]
        for p in sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    ]
    by_version = {int(arn.rsplit("/", 1)[1]): arn for arn in packages}
    for version in (1, 2):
        sm.create_model(
            ModelName=f"m{version}",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"ModelPackageName": by_version[version]},
        )
    variant = {
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1.0,
    }
    sm.create_endpoint_config(
        EndpointConfigName="c1",
        ProductionVariants=[{"VariantName": "primary", "ModelName": "m1", **variant}],
    )
    sm.create_endpoint_config(
        EndpointConfigName="c-shadow",
        ProductionVariants=[{"VariantName": "primary", "ModelName": "m1", **variant}],
        ShadowProductionVariants=[
            {"VariantName": "candidate", "ModelName": "m2", **variant, "InitialVariantWeight": 0.5}
        ],
    )
    started = clock.now
    for name, config in (("good", "c1"), ("bad", "c-shadow"), ("quiet", "c1")):
        sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sandbox.set_traffic({"endpoints": {"quiet": {"invocationsPerMinute": 0}}})
    clock.advance(600)  # ten minutes of traffic
    return {"started": started}


def query(
    ident: str, endpoint: str, metric: str, stat: str, variant: str = "primary", period: int = 60
) -> dict[str, Any]:
    return {
        "Id": ident,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def values(
    sandbox: Sandbox,
    queries: list[dict[str, Any]],
    start: float,
    end: float,
    cloudwatch: Any = None,
) -> dict[str, list[float]]:
    cw = cloudwatch or client(sandbox, "cloudwatch")
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=at(start), EndTime=at(end))
    return {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}


def last_minutes(clock: ManualClock, minutes: int) -> tuple[float, float]:
    return clock.now - 60 * minutes, clock.now


def test_a_healthy_variant_shows_its_profile(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    found = values(
        sandbox,
        [
            query("inv", "good", "Invocations", "Sum"),
            query("p99", "good", "ModelLatency", "p99"),
            query("p50", "good", "ModelLatency", "p50"),
        ],
        *last_minutes(clock, 5),
    )

    assert len(found["inv"]) == 5  # one datapoint per minute
    assert all(570 <= v <= 630 for v in found["inv"])  # 600 a minute, +-3%
    assert all(115_000 <= v <= 125_000 for v in found["p99"])  # 120 ms, in microseconds
    assert all(38_000 <= v <= 42_000 for v in found["p50"])


def test_a_bad_versions_profile_shows_as_shadow_beside_a_healthy_production(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    found = values(
        sandbox,
        [
            query("prodinv", "bad", "Invocations", "Sum"),
            query("prod5xx", "bad", "Invocation5XXErrors", "Sum"),
            query("shadowinv", "bad", "Invocations", "Sum", "candidate"),
            query("shadow5xx", "bad", "Invocation5XXErrors", "Sum", "candidate"),
            query("shadowp99", "bad", "ModelLatency", "p99", "candidate"),
        ],
        *last_minutes(clock, 1),
    )

    assert sum(found["prod5xx"]) / sum(found["prodinv"]) < 0.01
    assert 250 <= sum(found["shadowinv"]) <= 350  # a copy sampled at weight 0.5
    assert 0.17 <= sum(found["shadow5xx"]) / sum(found["shadowinv"]) <= 0.23
    assert 850_000 <= found["shadowp99"][0] <= 950_000


def test_no_traffic_gives_zero_invocations_and_no_latency_points(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    found = values(
        sandbox,
        [query("inv", "quiet", "Invocations", "Sum"), query("lat", "quiet", "ModelLatency", "p99")],
        *last_minutes(clock, 2),
    )

    assert found == {"inv": [0.0, 0.0], "lat": []}


def test_nothing_before_the_endpoint_served_nor_for_an_unknown_one(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    before = endpoints["started"]
    found = values(
        sandbox,
        [
            query("early", "good", "Invocations", "Sum"),
            query("ghost", "ghost", "Invocations", "Sum"),
        ],
        before - 600,
        before,
    )

    assert found == {"early": [], "ghost": []}


def test_an_unknown_inference_component_has_no_datapoints(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    ghost = query("ghost", "good", "Invocations", "Sum")
    ghost["MetricStat"]["Metric"]["Dimensions"] = [{"Name": "InferenceComponentName", "Value": "x"}]

    assert values(sandbox, [ghost], *last_minutes(clock, 2)) == {"ghost": []}


def test_the_time_scale_multiplies_invocations_and_answers_repeat_exactly(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    window = (clock.now - 2, clock.now)  # two seconds, inside one period
    plain = values(sandbox, [query("inv", "good", "Invocations", "Sum")], *window)
    sandbox.set_traffic({"timeScale": 60})
    try:
        fast = values(sandbox, [query("inv", "good", "Invocations", "Sum")], *window)
        again = values(sandbox, [query("inv", "good", "Invocations", "Sum")], *window)
    finally:
        sandbox.set_traffic({"timeScale": 1})

    assert 19 <= plain["inv"][0] <= 21  # two seconds at 600 a minute
    assert 1140 <= fast["inv"][0] <= 1260  # two minutes' worth
    assert fast == again


def test_metric_math_divides_pointwise(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    queries = [
        {**query("inv", "bad", "Invocations", "Sum", "candidate"), "ReturnData": False},
        {**query("errors", "bad", "Invocation5XXErrors", "Sum", "candidate"), "ReturnData": False},
        {"Id": "rate", "Expression": "100 * errors / inv"},
    ]
    found = values(sandbox, queries, *last_minutes(clock, 3))

    assert list(found) == ["rate"]
    assert len(found["rate"]) == 3 and all(17 <= v <= 23 for v in found["rate"])


@pytest.mark.parametrize(
    ("queries", "code", "message"),
    [
        (
            [{"Id": f"q{i}", "Expression": "1"} for i in range(501)],
            "InvalidParameterValue",
            "greater than 500",
        ),
        (
            [{"Id": "Bad", "Expression": "1"}],
            "InvalidParameterValue",
            "Bad for parameter MetricDataQueries.member.1.Id",
        ),
        (
            [query("q", "good", "Invocations", "Sum", period=45)],
            "InvalidParameterValue",
            "multiple of 60",
        ),
        (
            [{**query("q", "good", "Invocations", "Sum"), "Expression": "1"}],
            "InvalidParameterCombination",
            "Exactly one element",
        ),
        (
            [{"Id": "q", "Expression": "FILL(q, 0)"}],
            "InvalidParameterValue",
            "function FILL is not supported",
        ),
    ],
)
def test_bad_requests_get_cloudwatchs_errors(
    sandbox: Sandbox, clock: ManualClock, queries: list[dict[str, Any]], code: str, message: str
) -> None:
    cw = client(sandbox, "cloudwatch")
    found = error_of(
        lambda: cw.get_metric_data(
            MetricDataQueries=queries, StartTime=at(clock.now - 60), EndTime=at(clock.now)
        )
    )

    assert found[0] == code and message in found[1]


def test_another_account_sees_none_of_these_endpoints_and_every_call_is_counted(
    sandbox: Sandbox, clock: ManualClock, endpoints: dict[str, float]
) -> None:
    other = assumed_client(sandbox, "222222222222", "cloudwatch")
    found = values(
        sandbox,
        [query("inv", "good", "Invocations", "Sum")],
        *last_minutes(clock, 1),
        cloudwatch=other,
    )

    assert found == {"inv": []}
    assert sandbox.calls_by_account()["222222222222"]["GetMetricData"] == 1


def test_a_seed_with_a_bad_traffic_profile_is_refused_whole() -> None:
    seed = {
        "modelPackageGroups": [
            {
                **SEED["modelPackageGroups"][0],
                "versions": [  # type: ignore[dict-item]
                    {
                        "image": "i:1",
                        "modelDataUrl": "s3://m/1.tar.gz",
                        "approval": "Approved",
                        "traffic": {"error5xxRate": 2},
                    }
                ],
            }
        ]
    }
    from controller.sandbox.registry.seeding import check_seed, load_seed

    parsed, name = load_seed(seed)
    with pytest.raises(
        SeedError, match=r"versions\[0\]\.traffic\.error5xxRate: must be from 0 to 1"
    ):
        check_seed(parsed, name)
