"""Notifications from the real `run` service against the sandbox: two rollouts, four messages.

The manifest folder is a git checkout, as in production, so each event carries a commit SHA and
the GitHub sink posts a commit status on it.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from tests.e2e.conftest import World, registry_manifest, world  # noqa: F401 (fixture)
from tests.service.receiver import Received, receiving


def commit(root: Path, message: str) -> str:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    if not (root / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", message], check=True)
    out = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def events(received: list[Received]) -> list[tuple[str, str]]:
    return [(r.body["event"], r.body["revision"]) for r in received if r.path == "/hook"]


def test_each_rollout_is_announced_once_per_sink(
    world: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with receiving() as receiver:
        config = tmp_path / "notifications.yaml"
        config.write_text(
            "sinks:\n"
            "  - {name: hook, type: webhook, url: {env: TEST_HOOK_URL}}\n"
            "  - name: github\n"
            "    type: githubStatus\n"
            "    repository: acme/endpoints\n"
            "    token: {env: TEST_GH_TOKEN}\n"
            f"    apiUrl: {receiver.url}\n"
        )
        monkeypatch.setenv("TEST_HOOK_URL", f"{receiver.url}/hook")
        monkeypatch.setenv("TEST_GH_TOKEN", "test-token")
        world.write("churn.yaml", registry_manifest(version=1))
        first = commit(world.root, "v1")
        argv = ["run", "-m", str(world.root), "--http-port", "0", "--requeue-interval", "0.2"]
        args = build_parser().parse_args([*argv, "--notifications", str(config)])
        runner = build_runner(args, _config(args))
        runner.start()
        try:
            receiver.wait_for(4, timeout=20)  # started + succeeded, to each sink
            world.write("churn.yaml", registry_manifest(version=2))
            second = commit(world.root, "v2")
            receiver.wait_for(8, timeout=20)
            time.sleep(0.5)  # a duplicate, if any, would arrive within a few requeues
        finally:
            assert runner.stop(10)
        got = receiver.received
    assert events(got) == [
        ("RolloutStarted", first),
        ("RolloutSucceeded", first),
        ("RolloutStarted", second),
        ("RolloutSucceeded", second),
    ]
    statuses = [(r.path.rsplit("/", 1)[-1], r.body["state"]) for r in got if r.path != "/hook"]
    assert statuses == [
        (first, "pending"),
        (first, "success"),
        (second, "pending"),
        (second, "success"),
    ]


def _service(world: World, config: Path, *extra: str) -> Any:  # noqa: F811
    argv = ["run", "-m", str(world.root), "--http-port", "0", "--requeue-interval", "0.2"]
    args = build_parser().parse_args([*argv, "--notifications", str(config), *extra])
    runner = build_runner(args, _config(args))
    runner.start()
    return runner


def _set_capacity(world: World, count: int) -> None:  # noqa: F811
    world.sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": count}],
    )


def _capacity(world: World) -> int:  # noqa: F811
    return int(world.endpoint("churn")["ProductionVariants"][0]["DesiredInstanceCount"])


def test_every_heal_is_one_drift_healed_and_a_restart_announces_no_rollout(
    world: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with receiving() as receiver:
        config = tmp_path / "notifications.yaml"
        config.write_text(
            "sinks:\n"
            "  - {name: hook, type: webhook, url: {env: TEST_HOOK_URL}}\n"
            "  - name: github\n"
            "    type: githubStatus\n"
            "    repository: acme/endpoints\n"
            "    token: {env: TEST_GH_TOKEN}\n"
            f"    apiUrl: {receiver.url}\n"
        )
        monkeypatch.setenv("TEST_HOOK_URL", f"{receiver.url}/hook")
        monkeypatch.setenv("TEST_GH_TOKEN", "test-token")
        world.write("churn.yaml", registry_manifest(version=1))
        sha = commit(world.root, "v1")
        runner = _service(world, config, "--resync-interval", "0.5")
        try:
            receiver.wait_for(4, timeout=20)  # the rollout: started + succeeded, to each sink
            _set_capacity(world, 3)  # a capacity changed by hand: healed by a resync
            receiver.wait_for(6, timeout=20)
            assert _capacity(world) == 1
            arn = world.endpoint("churn")["EndpointArn"]
            world.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "cost-center", "Value": "x"}])
            receiver.wait_for(8, timeout=20)  # a tag added by hand: removed, one message
            assert "cost-center" not in world.tags(arn)
        finally:
            assert runner.stop(10)
        _set_capacity(world, 2)  # changed while the service was down
        runner = _service(world, config)  # a new process: it remembers nothing it sent
        try:
            receiver.wait_for(10, timeout=20)
            assert _capacity(world) == 1
            time.sleep(0.5)  # a re-announced rollout, if any, would arrive within a few requeues
        finally:
            assert runner.stop(10)
        got = receiver.received
    assert events(got) == [
        ("RolloutStarted", sha),
        ("RolloutSucceeded", sha),
        ("DriftHealed", sha),
        ("DriftHealed", sha),
        ("DriftHealed", sha),
    ]
    statuses = [r.body["state"] for r in got if r.path != "/hook"]
    assert statuses == ["pending", "success", "success", "success", "success"]
