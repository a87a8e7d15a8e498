"""`run --shard-by location` end to end: three replicas split six accounts' targets.

One sandbox, six targets in six accounts, two serverless endpoints each. Replicas A and B run
in-process (their ownership is sampled every 10 ms), replica C is a separate process so it can
be SIGKILLed. Proven here: every endpoint is created once and updated once per change whichever
replica holds it, a killed replica's targets are taken over within the lease duration with no
second UpdateEndpoint, and a fourth replica takes only its share (nothing moves between the
replicas that stay).
"""

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
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from controller.sandbox import Sandbox
from tests.e2e.conftest import IMAGE, World
from tests.e2e.test_service import FAST, eventually

TARGETS = {f"team-{i}": f"20000000000{i}" for i in range(6)}
LEASES = ["--lease-table", "shard-leases", "--lease-duration", "1.5", "--shard-by", "location"]
DURATION = 1.5


def target(name: str, account: str) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
        f"metadata: {{name: {name}}}\n"
        f'spec:\n  accountId: "{account}"\n  region: us-east-1\n'
        f"  roleArn: arn:aws:iam::{account}:role/deployer\n"
    )


def endpoint(name: str, where: str, level: str) -> str:
    role = f"arn:aws:iam::{TARGETS[where]}:role/SageMakerExecution"
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {where}\n  executionRoleArn: {role}\n"
        "  variants:\n    - name: main\n"
        f'      model: {{image: "{IMAGE}", environment: {{LOG_LEVEL: {level}}}}}\n'
        "      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}\n"
    )


NAMES = {f"{where}-{n}": where for where in TARGETS for n in ("a", "b")}
# The default region is a shard too: it is in the removal scan's scope, so whoever holds it
# prunes there, though no manifest names it.
SHARDS = {*TARGETS, "us-east-1"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("shards") / "manifests"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch, Sandbox(transition_seconds=0.0) as sandbox:
        for key in list(os.environ):
            if key.startswith("AWS_"):
                patch.delenv(key)
        for key, value in sandbox.env().items():
            patch.setenv(key, value)
        world = World(sandbox, root, capsys=None)
        for name, account in TARGETS.items():
            world.write(f"targets/{name}.yaml", target(name, account))
        yield world


def write_all(world: World, level: str) -> None:
    for name, where in NAMES.items():
        world.write(f"{where}/{name}.yaml", endpoint(name, where, level))


def per_endpoint(world: World, operation: str) -> Counter[str]:
    return Counter(r["EndpointName"] for r in world.recorded(operation))


def serving(world: World) -> dict[str, str]:
    """Endpoint -> the LOG_LEVEL of the config its last Create/UpdateEndpoint asked for."""
    models = {r["ModelName"]: r for r in world.recorded("CreateModel")}
    configs = {r["EndpointConfigName"]: r for r in world.recorded("CreateEndpointConfig")}
    found = {}
    for request in world.recorded("CreateEndpoint") + world.recorded("UpdateEndpoint"):
        variant = configs[request["EndpointConfigName"]]["ProductionVariants"][0]
        model = models[variant["ModelName"]]
        container = model.get("PrimaryContainer") or model["Containers"][0]
        found[request["EndpointName"]] = container["Environment"]["LOG_LEVEL"]
    return found


class Replicas:
    """In-process runners plus one subprocess; `held` reads each one's /status."""

    def __init__(self, world: World, stack: ExitStack) -> None:
        self.world, self.stack = world, stack
        self.inproc: dict[str, Any] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start_inproc(self, label: str) -> Any:
        args = build_parser().parse_args(["run", "-m", str(self.world.root), *FAST, *LEASES])
        runner = build_runner(args, _config(args))
        runner.start()
        self.stack.callback(runner.stop, 10)
        self.inproc[label] = runner
        return runner

    def start_process(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        argv = [sys.executable, "-m", "controller", "run", "-m", str(self.world.root)]
        argv += ["--requeue-interval", "0.2", "--http-port", str(self.port), *LEASES]
        env = {**os.environ, **self.world.sandbox.env()}
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.stack.callback(self._reap)

    def _reap(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def views(self) -> dict[str, dict[str, Any]]:
        found = {label: r.status()["shards"] for label, r in self.inproc.items()}
        if self.process is not None and self.process.poll() is None:
            url = f"http://127.0.0.1:{self.port}/status"
            with urllib.request.urlopen(url, timeout=2) as reply:
                found["C"] = json.loads(reply.read())["shards"]
        return found

    def held(self) -> dict[str, set[str]]:
        return {label: set(view["held"]) for label, view in self.views().items()}


def watch_exclusive(replicas: Replicas) -> Callable[[], list[str]]:
    """Sample the in-process replicas' `owns` every 10 ms; the shards two of them owned at once."""
    stop, both = threading.Event(), []

    def sample() -> None:
        for _ in range(6000):  # at most 60 s
            if stop.wait(0.01):
                return
            owners = Counter(
                shard
                for runner in list(replicas.inproc.values())
                for shard in SHARDS
                if runner.leadership.owns_shard(shard)
            )
            both.extend(shard for shard, n in owners.items() if n > 1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def finish() -> list[str]:
        stop.set()
        thread.join(5)
        return both

    return finish


def test_three_replicas_split_the_fleet_take_over_and_rebalance(world: World) -> None:
    write_all(world, "info")
    with ExitStack() as stack:
        replicas = Replicas(world, stack)
        replicas.start_inproc("A")
        replicas.start_inproc("B")
        replicas.start_process()
        overlap = watch_exclusive(replicas)

        def split_three_ways() -> bool:
            held = replicas.held()
            return (
                sorted(map(len, held.values())) == [2, 2, 3]
                and set().union(*held.values()) == SHARDS
            )

        eventually(split_three_ways, timeout=30, what="seven shards split 3/2/2")
        eventually(lambda: serving(world) == dict.fromkeys(NAMES, "info"), 30, "every endpoint")
        assert per_endpoint(world, "CreateEndpoint") == Counter(dict.fromkeys(NAMES, 1))

        # A change: every endpoint updated exactly once, by whichever replica holds its target.
        write_all(world, "debug")
        eventually(lambda: serving(world) == dict.fromkeys(NAMES, "debug"), 30, "the change")
        assert per_endpoint(world, "UpdateEndpoint") == Counter(dict.fromkeys(NAMES, 1))

        # SIGKILL C in the middle of the next change: its targets move to A and B.
        c_held = replicas.held()["C"]
        write_all(world, "warning")
        assert replicas.process is not None
        replicas.process.send_signal(signal.SIGKILL)
        replicas.process.wait(5)
        killed = time.monotonic()
        eventually(lambda: replicas.held()["A"] | replicas.held()["B"] >= c_held, 15, "takeover")
        taken_over = time.monotonic() - killed
        eventually(lambda: serving(world) == dict.fromkeys(NAMES, "warning"), 30, "the next change")
        assert per_endpoint(world, "UpdateEndpoint") == Counter(dict.fromkeys(NAMES, 2))

        # A new replica takes only its share: nothing moves between A and B.
        before = replicas.held()
        d = replicas.start_inproc("D")
        eventually(lambda: len(replicas.held()["D"]) >= 1, 15, "D takes a share")
        eventually(lambda: sorted(map(len, replicas.held().values())) == [2, 2, 3], 15, "3/2/2")
        after = replicas.held()
        assert after["A"] <= before["A"] and after["B"] <= before["B"]
        assert after["D"] == (before["A"] - after["A"]) | (before["B"] - after["B"])
        members = sorted(view["replica"] for view in replicas.views().values())
        assert d.status()["shards"]["members"] == members
        assert not overlap(), "two replicas owned one shard at once"
        # The handover to D and its resync changed nothing: still one create and two updates.
        assert per_endpoint(world, "CreateEndpoint") == Counter(dict.fromkeys(NAMES, 1))
        assert per_endpoint(world, "UpdateEndpoint") == Counter(dict.fromkeys(NAMES, 2))
    # Within the lease duration after it expired, plus one pass; never before it could expire.
    assert taken_over < 2 * DURATION + 1.0, taken_over
