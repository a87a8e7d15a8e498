"""The promoter's gates, without AWS: only the leader (or the shard owner) passes over a
pipeline, a snapshot that failed to load is never acted on, one pipeline's error leaves the
others going, and stage events become notifications and metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.core.snapshots import Snapshot
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests
from controller.service.metrics import Metrics
from controller.service.notifications.messages import slack_payload, webhook_payload
from controller.service.promoting.advancing import StageEvent, StageView
from controller.service.promoting.promoter import Promoter
from controller.service.status.events import Event, EventKind
from tests.e2e.test_targets import GROUP_ARN, PROD, STAGING, endpoint, target

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def pipeline(name: str) -> str:
    return f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: {name}}}
spec:
  packageGroups: ["{GROUP_ARN.replace("churn", name)}"]
  stages:
    - name: staging
      endpoints: {{targets: [staging], matchLabels: {{app: {name}}}}}
    - name: prod
      endpoints: {{targets: [prod], matchLabels: {{app: {name}}}}}
"""


def labelled(name: str, where: str) -> str:
    text = endpoint(name, where, group=GROUP_ARN.replace("churn", name))
    return text.replace(
        f"metadata: {{name: {name}}}", f"metadata: {{name: {name}, labels: {{app: {name}}}}}"
    )


def snapshot(tmp_path: Path, broken: bool = False) -> Snapshot:
    files = {
        "targets/staging.yaml": target("staging", STAGING, "us-east-1"),
        "targets/prod.yaml": target("prod", PROD, "eu-west-1"),
        "churn.yaml": labelled("churn", "staging") + "---\n" + labelled("churn", "prod"),
        "fraud.yaml": labelled("fraud", "staging") + "---\n" + labelled("fraud", "prod"),
        "pipelines.yaml": pipeline("churn") + "---\n" + pipeline("fraud"),
    }
    if broken:
        files["broken.yaml"] = "kind: Endpoint\nmetadata: [\n"
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = load_manifests([tmp_path], root=tmp_path)
    return Snapshot.build(result, "a" * 40, lambda: "us-east-1")


class FakeAdvancer:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.advanced: list[str] = []

    def begin(self) -> None:
        return

    def end(self) -> None:
        return

    def advance(
        self, loaded: Any, entries: Any, labels: Any, now: Any, revision: Any
    ) -> list[StageView]:
        name = loaded.pipeline.metadata.name
        self.advanced.append(name)
        if name in self.failing:
            raise ControllerError("throttled")
        return [StageView("staging", name, (2,), True, verdict="Verified")]


def promoter(snap: Snapshot | None, advancer: FakeAdvancer, **extra: Any) -> Promoter:
    kwargs: dict[str, Any] = {"interval": 1.0, "leading": lambda: True, "now": lambda: NOW}
    kwargs.update(extra)
    return Promoter(advancer, lambda: snap, **kwargs)  # type: ignore[arg-type]


def test_only_the_leader_promotes(tmp_path: Path) -> None:
    advancer = FakeAdvancer()
    follower = promoter(snapshot(tmp_path), advancer, leading=lambda: False)

    follower.step()

    assert advancer.advanced == []
    assert follower.status()["state"] == "not leading: the lease holder promotes"


def test_manifests_that_do_not_load_are_never_acted_on(tmp_path: Path) -> None:
    advancer = FakeAdvancer()
    broken = promoter(snapshot(tmp_path, broken=True), advancer)

    broken.step()

    assert advancer.advanced == []
    assert "do not load" in broken.status()["state"]


def test_with_shards_the_owner_of_the_first_stage_drives_the_pipeline(tmp_path: Path) -> None:
    advancer = FakeAdvancer()
    sharded = promoter(snapshot(tmp_path), advancer, owns=lambda key: key == "staging/churn")

    sharded.step()

    assert advancer.advanced == ["churn"]
    states = {p["name"]: p["state"] for p in sharded.status()["pipelines"]}
    assert states == {"churn": "ok", "fraud": "another replica drives it"}


def test_one_pipeline_failing_leaves_the_others_going(tmp_path: Path) -> None:
    metrics = Metrics()
    advancer = FakeAdvancer(failing={"churn"})
    both = promoter(snapshot(tmp_path), advancer, metrics=metrics)

    both.step()

    assert advancer.advanced == ["churn", "fraud"]
    states = {p["name"]: p["state"] for p in both.status()["pipelines"]}
    assert states == {"churn": "error: throttled", "fraud": "ok"}
    text = metrics.render().decode()
    assert 'promotion_passes_total{pipeline="churn",result="error"} 1.0' in text
    assert 'stage_version{group="fraud",pipeline="fraud",stage="staging"} 2.0' in text


def test_stage_events_become_notifications_and_metrics(tmp_path: Path) -> None:
    metrics = Metrics()
    sent: list[Event] = []
    notified = promoter(snapshot(tmp_path), FakeAdvancer(), metrics=metrics, notify=sent.append)
    notified.step()  # the snapshot it reads targets from

    notified.emit(StageEvent("failed", "churn", "prod", "churn", 3, "errors=0.2", "prod", "b" * 40))
    notified.emit(StageEvent("held", "churn", "prod", "churn", 3, "held", "prod"))

    assert len(sent) == 1  # `held` rides on StageFailed
    event = sent[0]
    assert event.kind is EventKind.STAGE_FAILED
    assert (event.endpoint, event.region, event.target) == ("churn/prod", "eu-west-1", "prod")
    payload = webhook_payload(event)
    assert payload["event"] == "StageFailed"
    assert (payload["pipeline"], payload["stage"], payload["version"]) == ("churn", "prod", 3)
    assert "churn v3 failed verification: held" in slack_payload(event)["text"]
    text = metrics.render().decode()
    assert 'stage_events_total{event="failed",pipeline="churn",stage="prod"} 1.0' in text
    assert 'stage_events_total{event="held",pipeline="churn",stage="prod"} 1.0' in text
