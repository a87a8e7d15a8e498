"""The promoter's pass over one pipeline, against in-memory fakes of the registry, the endpoints,
CloudWatch and git: the clock is the test's, so soak times, deploy windows, too little traffic
and a flapping metrics API are each one step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.aws.stages.serving import ComponentServing, Serving
from controller.core.snapshots import Snapshot
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests
from controller.promotion.gitwriting import Change, Written
from controller.promotion.pullrequests import Decision
from controller.service.promoting.advancing import Advancer, StageEvent, StageView
from controller.service.windows import Window, WindowPolicy, WindowSpec
from tests.e2e.test_targets import GROUP_ARN, PROD, STAGING, endpoint, target

START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PACKAGE = GROUP_ARN.replace(":model-package-group/", ":model-package/")


def pipeline(staging: str = "", prod: str = "") -> str:
    return f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: staging
      endpoints: {{targets: [staging]}}
      verification:
        interval: 1m
        count: 2
        minInvocations: 100
        metrics: [{{name: errors, errorRate: {{}}, max: 0.05}}]
      {staging}
    - name: prod
      endpoints: {{targets: [prod]}}
      autoPromote: true
      {prod}
"""


class Registry:
    """ListModelPackages, DescribeModelPackage and UpdateModelPackage over a dict."""

    def __init__(self, versions: int) -> None:
        self.metadata: dict[int, dict[str, str]] = {n: {} for n in range(1, versions + 1)}
        self.updates = 0

    def get_paginator(self, name: str) -> Any:
        registry = self

        class Pages:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [
                    {
                        "ModelPackageSummaryList": [
                            {
                                "ModelPackageVersion": n,
                                "ModelPackageArn": f"{PACKAGE}/{n}",
                                "ModelApprovalStatus": (
                                    "PendingManualApproval"
                                    if registry.metadata[n].get("approved") == "no"
                                    else "Approved"
                                ),
                            }
                            for n in registry.metadata
                        ]
                    }
                ]

        return Pages()

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        number = int(ModelPackageName.rsplit("/", 1)[1])
        return {"CustomerMetadataProperties": dict(self.metadata[number])}

    def update_model_package(self, ModelPackageArn: str, **params: Any) -> dict[str, Any]:
        number = int(ModelPackageArn.rsplit("/", 1)[1])
        self.metadata[number].update(params["CustomerMetadataProperties"])
        self.updates += 1
        return {}

    def verdict(self, version: int, stage: str) -> str:
        return self.metadata[version].get(f"sagemaker-gitops/stage/{stage}", "")


class Live:
    """The endpoints (always converged on what they pin) and CloudWatch."""

    def __init__(self, pins: dict[str, int]) -> None:
        self.pins = pins
        self.invocations = 600.0
        self.errors = 0.0
        self.failing = False
        self.calls = 0
        self.reads = 0
        self.dimensions: set[str] = set()

    def serving(self, location: str, endpoint: str) -> Serving:
        self.reads += 1
        version = self.pins[location]
        return Serving(
            "InService",
            "config",
            {"primary": ("churn", version)},
            packages={"primary": f"{PACKAGE}/{version}"},
        )

    def component(self, location: str, component: str) -> ComponentServing:
        self.reads += 1
        version = self.pins[location]
        return ComponentServing("InService", "gpu", ("churn", version), f"{PACKAGE}/{version}")

    def metric_values(
        self, location: str, requests: Any, start: datetime, end: datetime
    ) -> dict[str, list[float]]:
        self.calls += 1
        self.dimensions |= {
            d["Name"] for r in requests for d in r["MetricStat"]["Metric"]["Dimensions"]
        }
        if self.failing:
            raise ControllerError("GetMetricData: ThrottlingException")
        values: dict[str, list[float]] = {}
        for request in requests:
            metric = request["MetricStat"]["Metric"]["MetricName"]
            values[request["Id"]] = [self.invocations if metric == "Invocations" else self.errors]
        return values


class Writer:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.decisions: dict[str, Decision] = {}
        """Pull request branch -> what its humans did."""

    def decision(self, change: Change) -> Decision | None:
        return self.decisions.get(change.branch)

    def write(self, change: Change) -> Written:
        self.changes.append(change)
        return Written("committed", "c" * 40, f"{change.kind}({change.stage})")


class World:
    def __init__(
        self,
        tmp_path: Path,
        staging: str = "",
        prod: str = "",
        prod_version: int = 1,
        staging_endpoint: str = "",
        more: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.registry = Registry(versions=3)
        self.registry.metadata[3]["approved"] = "no"
        self.live = Live({"staging": 2, "prod": prod_version, "prod-west": 2})
        self.writer = Writer()
        self.events: list[StageEvent] = []
        self.advancer = Advancer(
            lambda location: self.registry,
            self.live,
            self.writer,  # type: ignore[arg-type]
            emit=self.events.append,
            **extra,
        )
        files = {
            "targets/staging.yaml": target("staging", STAGING, "us-east-1"),
            "targets/prod.yaml": target("prod", PROD, "us-east-1"),
            "staging.yaml": staging_endpoint or endpoint("churn", "staging", version=2),
            "prod.yaml": endpoint("churn", "prod", version=prod_version),
            "pipeline.yaml": pipeline(staging, prod),
            **(more or {}),
        }
        for name, text in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        result = load_manifests([tmp_path], root=tmp_path)
        assert result.ok, result.diagnostics
        self.snapshot = Snapshot.build(result, "r" * 40, lambda: "us-east-1")

    def step(self, minutes: float) -> dict[str, StageView]:
        now = START + timedelta(minutes=minutes)
        self.advancer.begin()
        views = self.advancer.advance(
            self.snapshot.pipelines[0], self.snapshot.entries, self.snapshot.target_labels, now
        )
        self.advancer.end()
        return {v.stage: v for v in views}


def test_measurements_follow_the_clock_and_a_verified_version_is_promoted(tmp_path: Path) -> None:
    world = World(tmp_path)

    first = world.step(0)
    assert world.registry.verdict(2, "staging") == "Verifying 2026-12-05T12:00:00Z"
    assert first["staging"].analysis == "Running (0/2 measurements)"
    assert world.live.calls == 0 and world.writer.changes == []
    assert first["prod"].next_promotion == "v2: v2 is Verifying in staging"

    # Each 1-minute window is read a minute after it closes (CloudWatch's lag).
    assert world.step(1.5)["staging"].analysis == "Running (0/2 measurements)"
    assert world.step(2.5)["staging"].analysis == "Running (1/2 measurements)"
    done = world.step(3)
    assert world.live.calls == 2  # one GetMetricData per measurement, none repeated
    assert world.registry.verdict(2, "staging").startswith("Verified 2026-12-05T12:02:00Z")
    assert [(c.stage, c.version, c.kind) for c in world.writer.changes] == [("prod", 2, "promote")]
    assert "verified in staging" in world.writer.changes[0].evidence
    assert done["prod"].last_write.startswith("committed")
    assert [e.kind for e in world.events] == ["verified", "promoted"]


GPU = f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: gpu}}
spec:
  target: staging
  executionRoleArn: arn:aws:iam::{STAGING}:role/SageMakerExecution
  variants:
    - name: shared
      instanceType: ml.g5.12xlarge
      managedInstanceScaling: {{minInstanceCount: 1, maxInstanceCount: 2}}
  inferenceComponents:
    - name: chat
      variant: shared
      model: {{packageGroup: "{GROUP_ARN}", version: 2}}
      compute: {{acceleratorDevices: 1, minMemoryMb: 1024}}
"""


def test_a_stage_served_by_an_inference_component_is_verified_on_its_metrics(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, staging_endpoint=GPU)

    world.step(0)
    world.step(3)

    assert world.live.dimensions == {"InferenceComponentName"}
    assert world.registry.verdict(2, "staging").startswith("Verified")
    assert [(c.stage, c.version, c.kind) for c in world.writer.changes] == [("prod", 2, "promote")]


FAN_IN = f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: staging
      endpoints: {{targets: [staging]}}
      verification: {{interval: 1m, count: 2, metrics: [{{name: e, errorRate: {{}}, max: 0.05}}]}}
    - name: canary
      after: []
      endpoints: {{targets: [prod-west]}}
      verification: {{interval: 1m, count: 4, metrics: [{{name: e, errorRate: {{}}, max: 0.05}}]}}
    - name: prod
      after: [staging, canary]
      endpoints: {{targets: [prod]}}
      autoPromote: true
"""


def test_fan_in_promotes_only_what_every_upstream_stage_verified(tmp_path: Path) -> None:
    more = {
        "targets/prod-west.yaml": target("prod-west", PROD, "us-west-2"),
        "canary.yaml": endpoint("churn-canary", "prod-west", version=2),
        "pipeline.yaml": FAN_IN,
    }
    world = World(tmp_path, more=more)

    world.step(0)
    waiting = world.step(3)  # staging verified v2 (2 measurements); canary is still measuring
    assert world.registry.verdict(2, "staging").startswith("Verified")
    assert world.registry.verdict(2, "canary").startswith("Verifying")
    assert waiting["prod"].next_promotion == "v2: v2 is Verifying in canary"
    assert world.writer.changes == []

    world.step(5)  # canary verified v2 too: now prod takes it
    assert world.registry.verdict(2, "canary").startswith("Verified")
    (promoted,) = world.writer.changes
    assert (promoted.stage, promoted.version) == ("prod", 2)
    assert "verified in staging, canary" in promoted.evidence


def test_too_little_traffic_is_inconclusive_and_nothing_moves(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.live.invocations = 12

    world.step(0)
    world.step(2)

    assert world.registry.verdict(2, "staging").startswith("Inconclusive ")
    assert world.writer.changes == []
    assert world.step(30)["prod"].next_promotion == "v2: v2 is Inconclusive in staging"
    assert world.live.calls == 1  # an Inconclusive verdict waits for a human: no re-measuring


@pytest.mark.parametrize(
    ("decision", "verdict", "events"),
    [
        (Decision("open", "u/1", approved_by=("alice",)), "Verified", ["verified"]),
        (Decision("merged", "u/1", "dana"), "Verified", ["verified"]),
        (Decision("open", "u/1", changes_requested_by=("bob",)), "Failed", ["failed", "held"]),
        (Decision("closed", "u/1"), "Failed", ["failed", "held"]),
    ],
)
def test_an_inconclusive_stage_is_decided_by_the_promotions_pull_request_review(
    tmp_path: Path, decision: Decision, verdict: str, events: list[str]
) -> None:
    world = World(tmp_path, prod="write: pullRequest")
    world.live.invocations = 12
    world.step(0)
    world.step(3)
    assert world.registry.verdict(2, "staging").startswith("Inconclusive")

    # The promotion goes to a human as a pull request that says the review decides.
    (opened,) = world.writer.changes
    assert (opened.stage, opened.version, opened.mode) == ("prod", 2, "pullRequest")
    assert "Inconclusive in staging" in opened.evidence and "request changes" in opened.evidence
    view = world.step(3.5)["prod"]
    assert view.next_promotion == "v2: Inconclusive in staging: its pull request's review decides"

    world.events.clear()
    world.writer.decisions[opened.branch] = decision
    world.step(4)

    recorded = world.registry.verdict(2, "staging")
    assert recorded.startswith(f"{verdict} 2026-12-05T12:04:00Z") and "by review" in recorded
    assert [e.kind for e in world.events] == events
    later = world.step(5)["prod"].next_promotion
    if verdict == "Failed":
        assert later == "v2: v2 is held: stage staging recorded Failed"
    else:
        assert world.writer.changes[-1].evidence.startswith("churn v2 is verified in staging")


def test_a_soak_time_delays_the_promotion(tmp_path: Path) -> None:
    world = World(tmp_path, prod="requiredSoakTime: 30m")

    world.step(0)
    soaking = world.step(3)
    assert world.writer.changes == []
    assert soaking["prod"].next_promotion == "v2: soaking in staging until 12:32:00Z"
    world.step(31)
    assert world.writer.changes == []
    world.step(32)
    assert [c.version for c in world.writer.changes] == [2]


def test_a_closed_deploy_window_holds_the_promotion(tmp_path: Path) -> None:
    friday_freeze = WindowSpec.model_validate(
        {"kind": "deny", "schedule": "0 12 * * *", "duration": "1h", "endpoints": ["churn"]}
    )
    windows = WindowPolicy([Window.from_spec(friday_freeze)])
    world = World(tmp_path, windows=windows)

    world.step(0)
    held = world.step(3)

    assert world.writer.changes == []
    assert held["prod"].next_promotion.startswith("v2: deploy window: deny")
    world.step(61)  # the window closed at 13:00
    assert [c.version for c in world.writer.changes] == [2]


def test_a_failed_version_is_held_and_rolled_back_to_the_last_verified(tmp_path: Path) -> None:
    world = World(tmp_path, staging="autoRollback: true")
    world.registry.metadata[1]["sagemaker-gitops/stage/staging"] = "Verified 2026-12-01T00:00:00Z"
    world.live.errors = 90.0  # 15% of 600

    world.step(0)
    world.step(2)

    assert world.registry.verdict(2, "staging").startswith("Failed ")
    assert [(c.stage, c.version, c.kind) for c in world.writer.changes] == [
        ("staging", 1, "rollback")
    ]
    assert "last version it verified" in world.writer.changes[0].evidence
    assert [e.kind for e in world.events] == ["failed", "held", "rolledBack"]
    # Never promoted downstream, however long it waits (the revert is asked for again until
    # it lands: the git writer finds it made and writes nothing).
    later = world.step(600)
    assert later["prod"].next_promotion == "v2: v2 is held: stage staging recorded Failed"
    assert {c.kind for c in world.writer.changes} == {"rollback"}


def test_a_flapping_metrics_api_is_an_error_and_the_analysis_starts_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.live.failing = True

    world.step(0)
    world.step(7)  # 2 measurements + 4 errors allowed in a row: all six fail

    assert [e.kind for e in world.events] == ["error"]
    assert world.registry.verdict(2, "staging") == "Verifying 2026-12-05T12:07:00Z"
    world.live.failing = False
    world.step(10)
    assert world.registry.verdict(2, "staging").startswith("Verified ")


@pytest.mark.parametrize("pinned", [1, 3])
def test_prod_is_never_moved_back_or_sideways(tmp_path: Path, pinned: int) -> None:
    world = World(tmp_path, prod_version=pinned)
    world.registry.metadata[2]["sagemaker-gitops/stage/staging"] = "Verified 2026-12-01T00:00:00Z"

    world.step(0)

    assert [c.version for c in world.writer.changes] == ([2] if pinned == 1 else [])


def test_a_half_written_promotion_stops_the_stage(tmp_path: Path) -> None:
    (tmp_path / "prod-b.yaml").write_text(endpoint("churn-b", "prod", version=2))
    world = World(tmp_path)  # prod: churn on v1, churn-b on v2
    world.registry.metadata[2]["sagemaker-gitops/stage/staging"] = "Verified 2026-12-01T00:00:00Z"

    views = world.step(0)

    assert views["prod"].verdict == "mixed: a promotion is half written"
    assert views["prod"].next_promotion == "v2: waits until the stage pins one version"
    assert world.writer.changes == []


def test_a_stage_of_100_endpoints_costs_one_metrics_call_a_measurement(tmp_path: Path) -> None:
    """The cost users meet: 100 endpoints in one target, two checks' worth of queries (200) in
    one GetMetricData a measurement; the endpoints are read when a measurement falls due,
    not on every pass."""
    for n in range(99):
        (tmp_path / f"fleet/churn-{n}.yaml").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"fleet/churn-{n}.yaml").write_text(
            endpoint(f"churn-{n}", "staging", version=2)
        )
    world = World(tmp_path)

    world.step(0)  # converged: 100 reads, Verifying recorded
    assert world.live.reads == 100 and world.live.calls == 0
    world.step(1)  # nothing due (the first window is read once it settled): nothing read
    assert world.live.reads == 100 and world.live.calls == 0
    world.step(2)
    assert world.live.reads == 200 and world.live.calls == 1
    world.step(3)
    assert world.live.reads == 300 and world.live.calls == 2
    assert world.registry.verdict(2, "staging").startswith("Verified ")
    world.step(4)  # verdict recorded: nothing read any more
    assert world.live.reads == 300 and world.live.calls == 2
