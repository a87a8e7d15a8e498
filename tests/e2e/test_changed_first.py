"""`apply` in a git checkout reconciles the endpoints of changed manifest files first.

Git knows which manifests changed without an AWS call (HEAD against its first parent,
`--changed-since REV`, uncommitted and untracked files), so `apply` reads those endpoints ahead
of the owned index: one DescribeEndpoint (reused by their reconcile) and one ListTags each, then
their own reads and their mutating calls, wherever the file sorts and whatever index page shows
it. The hint only orders work: every endpoint is still reconciled, and outside git `apply`
behaves as before (`test_fleet_call_budgets.py`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controller.aws import reading
from tests.e2e import test_fleet_call_budgets as budgets
from tests.e2e.conftest import World, registry_manifest
from tests.e2e.test_fleet_call_budgets import GROUP, N, before_first_mutation, name

started = budgets.started  # the fixture recording every operation the controller starts

# Before the changed endpoint's first CreateModel: DescribeEndpoint and ListTags (the read
# ahead), then ListModelPackages, DescribeScalableTargets, the probes of its new content-named
# Model and EndpointConfig, and the live config and its Model (the diff). One variant; the
# benchmark's two-variant endpoints read 10.
HINTED_READS = 8


def git(repo: Path, *argv: str) -> str:
    who = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    done = subprocess.run(
        ["git", "-C", str(repo), *who, *argv], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture
def fleet(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """N endpoints applied from a git repository whose manifests sit in a subfolder (so paths
    are taken relative to the manifest root), index pages of 10 (3 endpoint pages, as 1,000
    endpoints make 10 of 100)."""
    for i in range(N):
        world.write(f"{name(i)}.yaml", registry_manifest(name=name(i), group=GROUP))
    repo = world.root.parent
    git(repo, "init", "-q")
    git(repo, "add", "manifests")
    git(repo, "commit", "-qm", "fleet")
    assert world.apply("--no-wait").code == 0
    monkeypatch.setattr(reading, "PAGE_SIZE", 10)
    return world


def bump(fleet: World, i: int, *, commit: bool = True) -> None:
    fleet.write(f"{name(i)}.yaml", registry_manifest(name=name(i), version=2))
    if commit:
        git(fleet.root.parent, "commit", "-qam", f"bump {name(i)}")


@pytest.mark.parametrize("changed", [0, N // 2, N - 1], ids=["sorts-first", "middle", "last"])
def test_a_committed_change_is_reconciled_before_the_index_is_read(
    fleet: World, started: list[str], changed: int
) -> None:
    bump(fleet, changed)
    started.clear()

    result = fleet.apply("--no-wait")

    assert result.code == 0, result.err
    assert before_first_mutation(started) == HINTED_READS, started[:12]
    assert started[:2] == ["DescribeEndpoint", "ListTags"]
    assert "GetResources" not in started[: HINTED_READS + 1]
    # Every endpoint is still reconciled in the same apply; only the bumped one changed.
    assert result.out.count("\n") == N
    assert f"{name(changed)}: in progress" in result.out
    assert started.count("UpdateEndpoint") == 1
    # Idempotent: a second apply (nothing changed since HEAD's parent but the bump) makes no
    # mutating call, though the hint names the bumped endpoint again.
    assert not fleet.mutations_during(lambda: fleet.apply("--no-wait"))


def test_an_uncommitted_change_is_hinted_too(fleet: World, started: list[str]) -> None:
    bump(fleet, N - 1, commit=False)
    started.clear()

    result = fleet.apply("--no-wait")

    assert result.code == 0, result.err
    assert before_first_mutation(started) == HINTED_READS, started[:12]
    assert started.count("UpdateEndpoint") == 1


def test_an_untracked_manifest_is_created_first(fleet: World, started: list[str]) -> None:
    fleet.write("zz-new.yaml", registry_manifest(name="zz-new", group=GROUP))
    started.clear()

    result = fleet.apply("--no-wait")

    assert result.code == 0, result.err
    # DescribeEndpoint says it does not exist (so no ListTags); it is created as new: registry
    # listing, autoscaling listing and the probes of its Model and config come before CreateModel.
    assert started[0] == "DescribeEndpoint"
    assert "ListTags" not in started[: before_first_mutation(started)]
    assert "GetResources" not in started[: before_first_mutation(started)]
    assert started[before_first_mutation(started)] == "CreateModel"
    assert started.count("CreateEndpoint") == 1


def test_changed_since_names_the_last_deployed_revision(fleet: World, started: list[str]) -> None:
    deployed = git(fleet.root.parent, "rev-parse", "HEAD")
    bump(fleet, N - 1)
    (fleet.root.parent / "README.md").write_text("not a manifest\n")
    git(fleet.root.parent, "add", "README.md")
    git(fleet.root.parent, "commit", "-qm", "docs")  # HEAD's own change names no manifest
    started.clear()

    result = fleet.apply("--no-wait", "--changed-since", deployed)

    assert result.code == 0, result.err
    assert before_first_mutation(started) == HINTED_READS, started[:12]
    assert started.count("UpdateEndpoint") == 1


@pytest.mark.parametrize("rev", ["no-such-branch", "--output=x", "HEAD~99"])
def test_an_unknown_changed_since_revision_is_a_clear_error(
    fleet: World, started: list[str], rev: str
) -> None:
    bump(fleet, 0)
    started.clear()

    result = fleet.apply("--no-wait", f"--changed-since={rev}")

    assert result.code != 0
    assert f"--changed-since {rev!r}: not a commit of the git repository at" in result.err
    assert "Traceback" not in result.err
    assert started == []  # refused before any AWS call


def test_a_hint_naming_an_unowned_endpoint_changes_nothing(
    fleet: World, started: list[str]
) -> None:
    """An endpoint of the same name made by hand is not ours: the hint leaves it to the
    normal path, which reports it, and reconciles nothing ahead of the index."""
    fleet.write("by-hand.yaml", registry_manifest(name="by-hand", group=GROUP))
    config = fleet.sm.describe_endpoint(EndpointName=name(0))["EndpointConfigName"]
    fleet.sm.create_endpoint(EndpointName="by-hand", EndpointConfigName=config)
    started.clear()

    result = fleet.apply("--no-wait")

    assert started[:3] == ["DescribeEndpoint", "ListTags", "GetResources"]
    assert "by-hand" in result.err
    assert started.count("UpdateEndpoint") == 0
    assert fleet.endpoint("by-hand")["EndpointConfigName"] == config


def test_outside_git_the_index_is_read_first(world: World, started: list[str]) -> None:
    for i in range(3):
        world.write(f"{name(i)}.yaml", registry_manifest(name=name(i), group=GROUP))
    assert world.apply("--no-wait").code == 0
    world.write(f"{name(2)}.yaml", registry_manifest(name=name(2), version=2))
    started.clear()

    result = world.apply("--no-wait")

    assert result.code == 0, result.err
    assert started[0] == "GetResources"
    assert "ListTags" not in started
    assert started.count("UpdateEndpoint") == 1
