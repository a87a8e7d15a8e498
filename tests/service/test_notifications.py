"""Notifications: the config file, each sink's payload, and delivery against a local receiver.

What the issue asks to prove: each event is sent once, secrets never reach the logs, and a dead
or slow receiver never blocks or fails a reconcile.
"""

from __future__ import annotations

import dataclasses
import json
import random
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Health, Status
from controller.errors import ManifestError
from controller.service.notifications.config import (
    GithubStatusSink,
    Notifications,
    load_notifications,
)
from controller.service.notifications.delivery import Notifier
from controller.service.notifications.messages import (
    github_request,
    slack_payload,
    webhook_payload,
)
from controller.service.status.events import Event, EventKind
from controller.service.status.statuses import SyncState
from tests.service.receiver import Receiver, receiving
from tests.service.test_runner import FakeReconciler, Manifest, drain, make, outcome

SHA = "0123456789abcdef0123456789abcdef01234567"
SLACK_SECRET = "T000/B000/XXXXsecretXXXX"
TOKEN = "ghp_notarealtokenbutsecret"
KEY = "us-east-1/churn"


def event(
    kind: EventKind = EventKind.ROLLOUT_SUCCEEDED, revision: str = SHA, **extra: str
) -> Event:
    fields = {
        "endpoint": "churn",
        "message": "in sync",
        "reason": "Synced",
        **extra,
    }
    return Event(
        kind=kind,
        key=f"us-east-1/{fields['endpoint']}",
        region="us-east-1",
        revision=revision,
        manifest="churn.yaml",
        time="2026-11-29T08:00:00+00:00",
        models={"primary": "churn-xgb v2"},
        **fields,
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notifications.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def config_for(tmp_path: Path, url: str, **retry: float) -> Notifications:
    (tmp_path / "slack-url").write_text(f"{url}/slack/{SLACK_SECRET}\n")
    settings = ", ".join(f"{k}: {v}" for k, v in {"initialDelay": 0.01, **retry}.items())
    path = write_config(
        tmp_path,
        f"""
        sinks:
          - name: slack
            type: slack
            url: {{file: {tmp_path / "slack-url"}}}
          - name: hook
            type: webhook
            url: {{env: HOOK_URL}}
            events: [RolloutFailed, RolloutSucceeded]
          - name: github
            type: githubStatus
            repository: acme/endpoints
            token: {{env: GH_TOKEN}}
            apiUrl: {url}/api/v3
        retry: {{{settings}}}
        timeout: 2
        """,
    )
    return load_notifications(path, {"HOOK_URL": f"{url}/hook", "GH_TOKEN": TOKEN})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def logs() -> Iterator[list[dict[str, object]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


# -- the file ---------------------------------------------------------------------------------


def test_a_valid_file_loads_and_hides_its_secrets(tmp_path: Path) -> None:
    loaded = config_for(tmp_path, "http://127.0.0.1:9")
    assert [s.name for s in loaded.config.sinks] == ["slack", "hook", "github"]
    github = loaded.config.sinks[2]
    assert isinstance(github, GithubStatusSink) and github.api_url.endswith("/api/v3")
    assert loaded.secrets["github"].get_secret_value() == TOKEN
    assert TOKEN not in repr(loaded) and SLACK_SECRET not in repr(loaded)


def test_errors_name_the_file_line_and_field(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        sinks:
          - name: a
            type: slack
            url: {env: NOT_SET_ANYWHERE}
          - name: b
            type: teams
            url: {env: X}
          - name: c
            type: webhook
            url: {env: X, file: /x}
        retry: {attempts: 0}
        """,
    )
    with pytest.raises(ManifestError) as caught:
        load_notifications(path, {})
    lines = str(caught.value).splitlines()
    assert f"{path}:6: sinks[1].type: unknown sink type 'teams' (known: slack, webhook," in str(
        caught.value
    )
    assert any(f"{path}:10: sinks[2].url" in line and "exactly one" in line for line in lines)
    assert any(f"{path}:11: retry.attempts" in line for line in lines), lines


def test_a_missing_secret_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        sinks:
          - name: a
            type: slack
            url: {env: NOT_SET_ANYWHERE}
        """,
    )
    with pytest.raises(ManifestError, match=r":4: sinks\[0\]\.url: environment variable NOT_SET"):
        load_notifications(path, {})


# -- payloads ---------------------------------------------------------------------------------


def test_slack_text_cannot_forge_links_or_mentions() -> None:
    text = slack_payload(event(endpoint="x<!channel>", message="<http://evil|click> & more"))
    assert "<!channel>" not in text["text"] and "<http://evil" not in text["text"]
    assert "&lt;!channel&gt;" in text["text"] and "&amp; more" in text["text"]


def test_webhook_payload_is_the_event() -> None:
    assert webhook_payload(event()) == {
        "schemaVersion": 1,
        "event": "RolloutSucceeded",
        "endpoint": "churn",
        "target": "default",
        "region": "us-east-1",
        "revision": SHA,
        "reason": "Synced",
        "message": "in sync",
        "manifest": "churn.yaml",
        "models": {"primary": "churn-xgb v2"},
        "time": "2026-11-29T08:00:00+00:00",
    }


def test_github_status_goes_to_the_revision_and_needs_a_sha(tmp_path: Path) -> None:
    sink = config_for(tmp_path, "http://127.0.0.1:9").config.sinks[2]
    assert isinstance(sink, GithubStatusSink)
    request = github_request(sink, TOKEN, event(EventKind.ROLLED_BACK, message="m" * 300))
    assert request is not None
    assert request.url == f"http://127.0.0.1:9/api/v3/repos/acme/endpoints/statuses/{SHA}"
    body = json.loads(request.body)
    assert body["state"] == "failure"
    assert body["context"] == "sagemaker-gitops/us-east-1/churn"
    assert len(body["description"]) == 140
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert github_request(sink, TOKEN, event(revision="not-a-commit")) is None


def test_with_several_locations_messages_name_the_target_and_region(tmp_path: Path) -> None:
    sink = config_for(tmp_path, "http://127.0.0.1:9").config.sinks[2]
    assert isinstance(sink, GithubStatusSink)
    alone = event()
    assert "*churn* (us-east-1) rollout succeeded" in slack_payload(alone)["text"]
    targeted = dataclasses.replace(alone, key="prod/churn", target="prod", several_locations=True)
    ambient = dataclasses.replace(alone, several_locations=True)
    assert "*churn* (prod, us-east-1) rollout succeeded" in slack_payload(targeted)["text"]
    assert "*churn* (us-east-1) rollout succeeded" in slack_payload(ambient)["text"]
    requests = [github_request(sink, TOKEN, e) for e in (targeted, ambient)]
    bodies = [json.loads(r.body) for r in requests if r is not None]
    assert [b["description"] for b in bodies] == [
        "churn (prod, us-east-1): rollout succeeded",
        "churn (us-east-1): rollout succeeded",
    ]
    # One commit status per location: the context is the key, as before for region endpoints.
    assert [b["context"] for b in bodies] == [
        "sagemaker-gitops/prod/churn",
        "sagemaker-gitops/us-east-1/churn",
    ]
    assert webhook_payload(targeted)["target"] == "prod"


# -- delivery ---------------------------------------------------------------------------------


def test_each_event_is_sent_once_to_each_sink_that_wants_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    observed: list[tuple[str, str]] = []
    notifier = Notifier(config_for(tmp_path, receiver.url), observe=lambda *x: observed.append(x))
    notifier.start()
    try:
        for _ in range(3):
            notifier.submit(event(EventKind.ROLLOUT_STARTED))
            notifier.submit(event(EventKind.ROLLOUT_SUCCEEDED))
        # slack: both; hook: succeeded only; github: both
        got = receiver.wait_for(5)
    finally:
        notifier.stop()
    assert observed.count(("*", "duplicate")) == 4, "repeats were never queued"
    assert len(receiver.received) == 5
    paths = sorted(r.path for r in got)
    assert paths == sorted(
        [
            f"/slack/{SLACK_SECRET}",
            f"/slack/{SLACK_SECRET}",
            "/hook",
            f"/api/v3/repos/acme/endpoints/statuses/{SHA}",
            f"/api/v3/repos/acme/endpoints/statuses/{SHA}",
        ]
    )
    states = sorted(r.body["state"] for r in got if "statuses" in r.path)
    assert states == ["pending", "success"]
    assert next(r for r in got if r.path == "/hook").body["event"] == "RolloutSucceeded"


def test_server_errors_are_retried_and_secrets_stay_out_of_logs(
    tmp_path: Path, logs: list[dict[str, object]]
) -> None:
    with receiving(statuses=[500, 503, 429]) as receiver:
        loaded = config_for(tmp_path, receiver.url)
        only_slack = Notifications(
            loaded.config.model_copy(update={"sinks": loaded.config.sinks[:1]}), loaded.secrets
        )
        observed: list[tuple[str, str]] = []
        notifier = Notifier(only_slack, observe=lambda *x: observed.append(x), rng=random.Random(0))
        notifier.start()
        try:
            notifier.submit(event())
            got = receiver.wait_for(4)
        finally:
            notifier.stop()
    assert len(got) == 4 and observed == [("slack", "delivered")]
    assert sum(e["event"] == "notification attempt failed" for e in logs) == 3
    assert SLACK_SECRET not in repr(logs) and TOKEN not in repr(logs)


def test_a_dead_receiver_is_given_up_on_without_leaking_the_url(
    tmp_path: Path, logs: list[dict[str, object]]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    observed: list[tuple[str, str]] = []
    loaded = config_for(tmp_path, dead, attempts=2, maxDelay=0.02)
    notifier = Notifier(loaded, observe=lambda *x: observed.append(x), rng=random.Random(0))
    notifier.start()
    notifier.submit(event())
    for _ in range(200):  # three sinks, two refused attempts each: bounded wait for the verdicts
        if len(observed) == 3:
            break
        time.sleep(0.05)
    notifier.stop(timeout=10)
    assert sorted(observed) == [("github", "failed"), ("hook", "failed"), ("slack", "failed")]
    assert SLACK_SECRET not in repr(logs) and TOKEN not in repr(logs)


def test_a_full_queue_drops_instead_of_blocking(tmp_path: Path) -> None:
    loaded = config_for(tmp_path, "http://127.0.0.1:9")
    small = Notifications(loaded.config.model_copy(update={"queue_size": 1}), loaded.secrets)
    observed: list[tuple[str, str]] = []
    notifier = Notifier(small, observe=lambda *x: observed.append(x))  # not started: no drain
    notifier.submit(event())
    assert observed == [("hook", "dropped"), ("github", "dropped")]


# -- through the runner -----------------------------------------------------------------------


def rolling_out() -> FakeReconciler:
    rec = FakeReconciler({KEY: Manifest()})
    rec.revision = SHA
    rec.scripts[KEY] = outcome(OutcomeKind.REQUEUE, changes=True, after=5)
    return rec


def test_a_held_receiver_never_blocks_a_reconcile(tmp_path: Path) -> None:
    with receiving(hold=True) as receiver:
        notifier = Notifier(config_for(tmp_path, receiver.url))
        rec = rolling_out()
        runner, _ = make(rec, tmp_path, notifier=notifier)
        notifier.start()
        try:
            runner.reload(full=False)
            # The receiver holds every request until released: had the reconcile waited for
            # delivery, drain() would not return before the hold is lifted below.
            assert drain(runner) == [KEY]
            assert runner.status()["endpoints"][0]["rollout"]["revision"] == SHA
            assert receiver.received == []
            receiver.hold.set()
            got = receiver.wait_for(2)  # RolloutStarted: slack and github (hook does not want it)
        finally:
            notifier.stop()
    assert sorted(r.path.split("/")[1] for r in got) == ["api", "slack"]
    assert next(r for r in got if r.path.startswith("/api")).body["state"] == "pending"


def test_a_dead_receiver_never_fails_a_reconcile(tmp_path: Path) -> None:
    notifier = Notifier(config_for(tmp_path, "http://127.0.0.1:9", attempts=1))
    rec = rolling_out()
    runner, _ = make(rec, tmp_path, notifier=notifier)
    notifier.start()
    try:
        runner.reload(full=False)
        drain(runner)
        rec.scripts[KEY] = lambda key, apply: Outcome(
            key,
            OutcomeKind.CONVERGED,
            "in sync",
            plan=EndpointPlan("churn", "churn.yaml", "us-east-1", Status.UNCHANGED, Health.HEALTHY),
            reason="Synced",
        )
        runner.queue.add(KEY)
        drain(runner)
        status = runner.status()["endpoints"][0]
    finally:
        notifier.stop(timeout=5)
    assert status["sync"] == SyncState.SYNCED.value and status["rollout"] is None
    assert status["conditions"][0]["status"] == "True"
