"""A throttled target never holds up another: `apply` and `run` against two sandbox accounts.

Target "prod" has a rate limit of its own (`callsPerSecond`) and, on top of that, its rate
limiter is held shut (the `gate` fixture) until the test opens it: a stand-in for an account AWS
throttles for as long as it likes. Target "stage" is not limited. While prod is held, stage must
make every one of its mutating calls; the proof is the order of calls, not a stopwatch: the
sandbox's count of CreateEndpoint (UpdateEndpoint) calls while prod has made none. Before
per-location loops and queues, stage's calls queued behind prod's (its index read, its batch,
its workers), and the count stayed at 0.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.aws import targets
from controller.aws.ratelimit import TokenBucket
from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from controller.sandbox import Sandbox
from tests.e2e.conftest import IMAGE, World

ACCOUNTS = {"prod": "333333333333", "stage": "222222222222"}
SLOW = 50.0  # prod's callsPerSecond: a limit of its own (the gate is the throttle)
N = 8  # endpoints per target
HOLD_LIMIT = 20.0  # seconds prod stays held at most: the bound of a failing run, never reached


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    with Sandbox(transition_seconds=0.0) as sandbox:
        yield sandbox


@pytest.fixture
def world(shared_sandbox: Sandbox, tmp_path: Path, capsys: Any, monkeypatch: Any) -> World:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in shared_sandbox.env().items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "manifests"
    root.mkdir()
    world = World(shared_sandbox, root, capsys)
    for name, account in ACCOUNTS.items():
        rate = f", callsPerSecond: {SLOW:g}" if name == "prod" else ""
        world.write(
            f"targets/{name}.yaml",
            "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
            f"metadata: {{name: {name}}}\n"
            f'spec: {{accountId: "{account}", region: us-east-1{rate},\n'
            f"       roleArn: 'arn:aws:iam::{account}:role/deployer'}}\n",
        )
    return world


@pytest.fixture
def gate(monkeypatch: Any) -> threading.Event:
    """Opened by the test; until then every call through prod's rate limiter waits."""
    opened = threading.Event()

    class HeldBucket(TokenBucket):
        def acquire(self, timeout: float = 60.0) -> None:
            opened.wait(HOLD_LIMIT)
            super().acquire(timeout)

    def bucket(rate: float, burst: int | None = None) -> TokenBucket:
        return (HeldBucket if rate == SLOW else TokenBucket)(rate, burst)

    monkeypatch.setattr(targets, "TokenBucket", bucket)
    return opened


def write_endpoints(world: World, prefix: str, log_level: str = "info") -> None:
    for where, account in ACCOUNTS.items():
        for index in range(N):
            world.write(
                f"{where}/{prefix}-{index}.yaml",
                "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
                f"metadata: {{name: {prefix}-{index}}}\n"
                f"spec:\n  target: {where}\n"
                f"  executionRoleArn: arn:aws:iam::{account}:role/SageMakerExecution\n"
                "  variants:\n    - name: main\n"
                f"      model: {{image: '{IMAGE}', environment: {{LOG_LEVEL: {log_level}}}}}\n"
                "      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}\n",
            )


def made_while_held(world: World, gate: threading.Event, operation: str) -> int:
    """How many `operation` calls the sandbox served before prod was let go: stage's alone,
    as prod cannot send anything. Waits (bounded) for N of them, then opens the gate."""
    before = world.calls().get(operation, 0)
    deadline = time.monotonic() + HOLD_LIMIT / 2
    try:
        while world.calls().get(operation, 0) - before < N and time.monotonic() < deadline:
            time.sleep(0.05)
        return world.calls().get(operation, 0) - before
    finally:
        gate.set()


def apply_in_background(world: World, results: list[Any]) -> threading.Thread:
    args = ("--no-wait", "--concurrency", "2")
    thread = threading.Thread(target=lambda: results.append(world.apply(*args)), daemon=True)
    thread.start()
    return thread


def test_apply_creates_and_updates_in_one_target_while_another_is_throttled(
    world: World, gate: threading.Event
) -> None:
    write_endpoints(world, "a")
    results: list[Any] = []
    thread = apply_in_background(world, results)
    created = made_while_held(world, gate, "CreateEndpoint")
    thread.join(60)
    assert created == N, f"stage created {created} of {N} endpoints while prod was throttled"
    assert results and results[0].code == 0, results and results[0].err

    # A version bump: both targets' endpoints change; stage's rollouts go out while prod is held.
    gate.clear()
    write_endpoints(world, "a", log_level="debug")
    results.clear()
    thread = apply_in_background(world, results)
    updated = made_while_held(world, gate, "UpdateEndpoint")
    thread.join(60)
    assert updated == N, f"stage updated {updated} of {N} endpoints while prod was throttled"
    assert results and results[0].code == 0, results and results[0].err
    assert results[0].out.count("updated Endpoint") == 2 * N  # prod's too, once let go


def test_run_creates_in_one_target_while_another_is_throttled(
    world: World, gate: threading.Event
) -> None:
    write_endpoints(world, "r")
    argv = ["run", "-m", str(world.root), "--concurrency", "2", "--http-port", "0"]
    argv += ["--resync-interval", "60", "--requeue-interval", "0.2", "--shutdown-timeout", "5"]
    args = build_parser().parse_args(argv)
    runner = build_runner(args, _config(args))
    before = world.calls().get("CreateEndpoint", 0)
    runner.start()
    try:
        created = made_while_held(world, gate, "CreateEndpoint")
        deadline = time.monotonic() + 30
        while world.calls().get("CreateEndpoint", 0) - before < 2 * N:  # prod's, once let go
            assert time.monotonic() < deadline, "prod's endpoints were never created"
            time.sleep(0.05)
    finally:
        assert runner.stop(10)
    assert created == N, f"stage created {created} of {N} endpoints while prod was throttled"
