"""`sagemaker-gitops run` end to end against the sandbox: watch, git, probes, HA, isolation."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from tests.e2e.conftest import World, registry_manifest

FAST = [
    "--resync-interval",
    "60",
    "--requeue-interval",
    "0.2",
    "--http-port",
    "0",
    "--concurrency",
    "4",
    "--shutdown-timeout",
    "5",
]


@contextmanager
def service(*argv: str) -> Iterator[Any]:
    args = build_parser().parse_args(["run", *argv])
    runner = build_runner(args, _config(args))
    runner.start()
    try:
        assert runner.wait_ready(15), runner.status()
        yield runner
    finally:
        assert runner.stop(10)


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # the resource may not exist yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def get(runner: Any, path: str) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{runner.http_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_editing_a_manifest_updates_the_endpoint(world: World) -> None:
    world.write("churn.yaml", registry_manifest(version=1))
    with service("-m", str(world.root), *FAST) as runner:
        first = eventually(lambda: world.endpoint("churn")["EndpointConfigName"], what="create")
        world.write("churn.yaml", registry_manifest(version=2))
        eventually(lambda: world.endpoint("churn")["EndpointConfigName"] != first, what="rollout")
        status = json.loads(get(runner, "/status")[1])

    assert [e["name"] for e in status["endpoints"]] == ["churn"]


def test_probes_metrics_and_status_answer(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    with service("-m", str(world.root), *FAST) as runner:
        eventually(lambda: world.endpoint("churn")["EndpointStatus"] == "InService")
        eventually(
            lambda: json.loads(get(runner, "/status")[1])["endpoints"][0]["sync"] == "Synced",
            what="synced status",
        )
        health, ready = get(runner, "/healthz"), get(runner, "/readyz")
        metrics = get(runner, "/metrics")[1].decode()
        status = json.loads(get(runner, "/status")[1])

    assert health[0] == 200 and ready[0] == 200
    for name in ("reconcile", "api_calls", "queue_depth", "last_successful_sync"):
        assert name in metrics, name
    endpoint = status["endpoints"][0]
    assert endpoint["health"] == "Healthy" and not endpoint.get("last_error")


def test_status_shows_a_settled_change_long_before_the_requeue_interval(world: World) -> None:
    """The sandbox creates at once; /status must not say Progressing/Missing for 60 s."""
    world.write("quick.yaml", registry_manifest(name="quick"))
    slow_requeue = [*FAST, "--requeue-interval", "60"]  # the later flag wins
    with service("-m", str(world.root), *slow_requeue) as runner:

        def shown() -> tuple[str, str]:
            entry = json.loads(get(runner, "/status")[1])["endpoints"][0]
            return entry["sync"], entry["health"]

        first = shown()  # ready: the create was sent and its outcome published
        eventually(lambda: shown() == ("Synced", "Healthy"), timeout=8, what="synced status")
    assert first in (("Progressing", "Progressing"), ("Synced", "Healthy")), first


def test_a_slow_or_failing_endpoint_does_not_block_another(world: World) -> None:
    world.sandbox.set_faults(transition_seconds=60)  # `slow` stays Creating for the whole test
    world.write("slow.yaml", registry_manifest(name="slow"))
    world.write("broken.yaml", registry_manifest(name="broken", version=3))  # not Approved
    with service("-m", str(world.root), *FAST):
        eventually(lambda: world.endpoint("slow")["EndpointStatus"] == "Creating")
        started = time.monotonic()
        world.write("fast.yaml", registry_manifest(name="fast"))
        eventually(lambda: world.endpoint("fast"), what="fast endpoint created")
        elapsed = time.monotonic() - started
        before = world.calls().get("ListModelPackages", 0)
        time.sleep(1.5)
        listings = world.calls().get("ListModelPackages", 0) - before

    assert elapsed < 5
    assert "broken" not in world.names("endpoint")
    # The unapproved endpoint is terminal: it waits for new input instead of polling the registry.
    assert listings <= 4, listings


def test_git_mode_follows_commits_and_tags_the_revision(world: World, tmp_path: Path) -> None:
    bare, clone = tmp_path / "repo.git", tmp_path / "clone"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True, capture_output=True)

    def commit(version: int) -> str:
        (clone / "endpoints").mkdir(exist_ok=True)
        (clone / "endpoints" / "churn.yaml").write_text(
            registry_manifest(version=version).replace("\n        ", "\n").lstrip()
        )
        subprocess.run([*git, "-C", str(clone), "add", "."], check=True)
        subprocess.run([*git, "-C", str(clone), "commit", "-qm", f"v{version}"], check=True)
        subprocess.run(
            ["git", "-C", str(clone), "push", "-q", "origin", "HEAD:main"],
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    first = commit(1)
    with service(
        "--repo",
        f"file://{bare}",
        "--path",
        "endpoints",
        "--poll-interval",
        "0.2",
        "--workdir",
        str(tmp_path / "work"),
        *FAST,
    ):
        arn = eventually(lambda: world.endpoint("churn")["EndpointArn"])
        assert world.tags(arn)["sagemaker-gitops/revision"] == first
        second = commit(2)
        eventually(
            lambda: world.tags(arn)["sagemaker-gitops/revision"] == second,
            what="new revision applied",
        )


def test_leader_election_hands_over_and_never_runs_two_leaders(world: World) -> None:
    world.write("churn.yaml", registry_manifest(version=1))
    ha = ["--lease-table", "sagemaker-gitops-leases", "--lease-duration", "1.5"]
    with (
        service("-m", str(world.root), *FAST, *ha) as a,
        service("-m", str(world.root), *FAST, *ha) as b,
    ):
        both = _watch_leaders(a, b)
        try:
            leader = eventually(
                lambda: a if a.status()["leader"] else (b if b.status()["leader"] else None),
                what="a leader",
            )
            standby = b if leader is a else a
            eventually(lambda: world.endpoint("churn"), what="first apply")
            leader.stop(5)
            eventually(lambda: standby.status()["leader"], timeout=10, what="handover")
            world.write("churn.yaml", registry_manifest(version=2))
            eventually(
                lambda: (
                    "v2" in json.dumps(standby.status())
                    or world.endpoint("churn")["EndpointStatus"] == "Updating"
                    or _serves_version(world, 2)
                ),
                what="standby applies the change",
            )
        finally:
            overlap = both()
    assert not overlap, "two replicas led at the same time"


def _serves_version(world: World, version: int) -> bool:
    config = world.sm.describe_endpoint_config(
        EndpointConfigName=world.endpoint("churn")["EndpointConfigName"]
    )
    model = world.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return bool(model["Containers"][0]["ModelPackageName"].endswith(f"/{version}"))


def _watch_leaders(a: Any, b: Any) -> Callable[[], bool]:
    """Sample both replicas every 10 ms; return a function that stops and says if both led."""
    stop, seen = threading.Event(), []

    def sample() -> None:
        for _ in range(3000):  # at most 30 s
            if stop.wait(0.01):
                return
            if a.status()["leader"] and b.status()["leader"]:
                seen.append(time.monotonic())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def finish() -> bool:
        stop.set()
        thread.join(5)
        return bool(seen)

    return finish


def test_killing_the_leader_process_hands_over_after_the_lease_expires(
    world: World, tmp_path: Path
) -> None:
    world.write("churn.yaml", registry_manifest())
    env = {**os.environ, **world.sandbox.env()}
    replicas = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        argv = [
            sys.executable,
            "-m",
            "controller",
            "run",
            "-m",
            str(world.root),
            "--requeue-interval",
            "0.2",
            "--http-port",
            str(port),
            "--lease-table",
            "leases",
            "--lease-duration",
            "2",
        ]
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        replicas.append((process, port))
    try:

        def leaders() -> list[int]:
            found = []
            for process, port in replicas:
                if process.poll() is None:
                    status = json.loads(
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2).read()
                    )
                    found += [port] if status["leader"] else []
            return found

        first = eventually(lambda: leaders(), timeout=20, what="a leader")
        assert len(first) == 1
        leader = next(p for p in replicas if p[1] == first[0])
        leader[0].send_signal(signal.SIGKILL)  # no clean release: the lease must expire
        leader[0].wait(5)
        killed_at = time.monotonic()
        second = eventually(lambda: leaders(), timeout=10, what="the standby leads")
        taken_over_after = time.monotonic() - killed_at
    finally:
        for process, _ in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in replicas:
            process.wait(15)
    assert second != first
    # Not before the dead leader's lease could have expired, and not much later.
    assert 0.5 < taken_over_after < 6, taken_over_after


def test_projects_reach_status_metrics_and_the_page(world: World) -> None:
    world.write(
        ".sagemaker-gitops.yaml",
        "projects:\n  - name: retention\n    paths: ['teams/retention/**']\n"
        "    regions: [us-east-1]\n",
    )
    manifest = registry_manifest(name="churn-p", extra_spec="  region: us-east-1")
    world.write("teams/retention/churn.yaml", manifest)
    with service("-m", str(world.root), *FAST) as runner:
        eventually(
            lambda: json.loads(get(runner, "/status")[1])["endpoints"][0]["sync"] == "Synced",
            what="synced status",
        )
        status = json.loads(get(runner, "/status")[1])
        metrics = get(runner, "/metrics")[1].decode()
        page = get(runner, "/?project=retention")[1].decode()

    assert status["endpoints"][0]["project"] == "retention"
    assert 'project="retention"' in metrics
    assert '<option value="retention" selected>retention</option>' in page
