"""Proof 2 of issue 8: SIGKILL right after EVERY mutating step of an apply, then re-run.

The apply under test changes three endpoints at once: a version bump (new Model and config,
AddTags, UpdateEndpoint, then garbage collection of the old config and model), a new endpoint,
and a removed one (`--prune`: DeleteEndpoint, then its config and model). A subprocess runs the
real CLI with a botocore `after-call` hook that SIGKILLs the process right after its Nth successful
mutating call. The test first counts the steps of an uninterrupted run, then loops over every
index 1..N (not a sample): kill after step N, re-run `apply`, and check that the account ends
exactly as the uninterrupted run leaves it (no duplicate, no orphan after GC), and that a further
apply makes no mutating call.

Each index works on its own endpoints under its own controller id, so one sandbox serves them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import World, registry_manifest

# Runs the CLI, SIGKILLing itself right after the CRASH_AFTER-th successful mutating AWS call;
# prints the number of mutating calls it made when it exits normally.
CRASHING_CLI = """
import atexit, os, signal, sys
from controller.aws import clients

LIMIT = int(os.environ["CRASH_AFTER"])
MUTATING = ("Create", "Update", "Delete", "Add", "Put")
done = [0]
original = clients.Clients._make

def _make(self, service, region):
    client = original(self, service, region)

    def after_call(http_response, model, **_):
        if model.name.startswith(MUTATING) and http_response.status_code < 300:
            done[0] += 1
            if done[0] == LIMIT:
                os.kill(os.getpid(), signal.SIGKILL)

    client.meta.events.register("after-call", after_call)
    return client

clients.Clients._make = _make
atexit.register(lambda: print(f"mutating-calls={done[0]}", file=sys.stderr))
from controller.cli import main
sys.exit(main(sys.argv[1:]))
"""

FLAGS = (
    "--prune",
    "--keep-history",
    "0",
    "--gc-min-age",
    "0",
    "--concurrency",
    "1",
    "--poll-interval",
    "0.05",
    "--calls-per-second",
    "1000",
)


class Scenario:
    """Endpoints a (bumped v1 -> v2), b (removed) and c (new), named for one step index."""

    def __init__(self, world: World, tmp: Path, index: int) -> None:
        self.world = world
        self.root = tmp / f"crash-{index:02}"
        self.id = f"crash-{index:02}"
        self.a, self.b, self.c = (f"x{index:02}-{n}" for n in "abc")

    def argv(self) -> list[str]:
        return ["apply", "-m", str(self.root), "--controller-id", self.id, *FLAGS]

    def before(self) -> None:
        self.root.mkdir()
        self._write(self.a, 1)
        self._write(self.b, 1)
        result = self.world.cli(*self.argv())
        assert result.code == 0, result.err
        (self.root / f"{self.b}.yaml").unlink()
        self._write(self.a, 2)
        self._write(self.c, 1)

    def _write(self, name: str, version: int) -> None:
        text = registry_manifest(name=name, version=version)
        (self.root / f"{name}.yaml").write_text("\n".join(x[8:] for x in text.splitlines()[1:]))

    def state(self) -> dict[str, list[str]]:
        """Every resource of this scenario by kind, named without the index prefix and the
        content hash (`x03-a-primary-1f2e...` -> `a-primary`); duplicates stay visible."""
        prefix = self.a[:4]
        return {
            kind: sorted(
                n.removeprefix(prefix).rsplit("-", 1)[0] if kind != "endpoint" else n[4:]
                for n in self.world.names(kind)
                if n.startswith(prefix)
            )
            for kind in ("endpoint", "config", "model")
        }

    def crash_run(self, after: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CRASHING_CLI, *self.argv()],
            env={**env, "CRASH_AFTER": str(after)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _env(world: World) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**keep, **world.sandbox.env()}


def _normalised(scenario: Scenario) -> dict[str, object]:
    """The end state in index-free terms: names minus their prefix, a's version, b gone."""
    state = scenario.state()
    config = scenario.world.endpoint(scenario.a)["EndpointConfigName"]
    model = scenario.world.sm.describe_endpoint_config(EndpointConfigName=config)[
        "ProductionVariants"
    ][0]["ModelName"]
    package = scenario.world.sm.describe_model(ModelName=model)["Containers"][0]
    return {**state, "a-version": package["ModelPackageName"].rsplit("/", 1)[-1]}


@pytest.mark.slow
@pytest.mark.timeout(600)  # ~13 subprocess runs; far less on an idle machine
def test_sigkill_after_every_mutating_step_then_rerun_converges(
    world: World, tmp_path: Path
) -> None:
    env = _env(world)
    reference = Scenario(world, tmp_path, 0)
    reference.before()
    clean = reference.crash_run(after=0, env=env)  # 0: never killed; counts the steps
    assert clean.returncode == 0, clean.stderr
    steps = int(clean.stderr.rsplit("mutating-calls=", 1)[1].split()[0])
    expected = _normalised(reference)
    assert expected == {
        "endpoint": ["a", "c"],
        "config": ["a", "c"],  # one each: the old config of a was collected, b's are gone
        "model": ["a-primary", "c-primary"],
        "a-version": "2",
    }
    assert steps >= 12  # 4 for the bump + 2 GC, 3 for the new endpoint, 3 for the prune

    for index in range(1, steps + 1):
        scenario = Scenario(world, tmp_path, index)
        scenario.before()
        killed = scenario.crash_run(after=index, env=env)
        assert killed.returncode == -signal.SIGKILL, (index, killed.stderr[-2000:])

        rerun = world.cli(*scenario.argv())
        assert rerun.code == 0, (index, rerun.err)
        assert _normalised(scenario) == expected, index
        noop = world.mutations_during(lambda s=scenario: world.cli(*s.argv()))
        assert noop == {}, (index, noop)
