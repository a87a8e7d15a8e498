"""`sagemaker-gitops rollback`: the revert is a manifest change read from the rollback history.

One sandbox for the module; the endpoint goes v1 -> v2 with two applies, so its history tag
names v1's config.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.sandbox import Sandbox
from tests.conftest import SEED_FILE
from tests.e2e.conftest import World, registry_manifest


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A sandbox seeded with the registry and a manifest directory, shared by the module."""
    root = tmp_path_factory.mktemp("rollback") / "manifests"
    root.mkdir()
    with (
        pytest.MonkeyPatch.context() as patch,
        Sandbox(transition_seconds=0.0, seed=SEED_FILE) as sandbox,
    ):
        for key in list(os.environ):
            if key.startswith("AWS_"):
                patch.delenv(key)
        for key, value in sandbox.env().items():
            patch.setenv(key, value)
        yield World(sandbox, root, capsys=None)  # each test hands its own capsys


def commented(version: int) -> str:
    return "# owned by the churn team\n" + textwrap.dedent(registry_manifest(version=version))


def deployed(world: World, *versions: int) -> None:
    """Apply churn at each version in turn: the manifest pins the last, the rollback history
    names the config of the one before it (whatever an earlier test left behind)."""
    for version in versions:
        world.write("churn.yaml", commented(version=version))
        assert world.apply().code == 0


@pytest.fixture
def world(rolled: World, capsys: pytest.CaptureFixture[str]) -> World:
    """churn deployed at v1, then v2: the manifest pins 2, the history holds v1's config. Each
    test starts from it, so none depends on another having run first (or in the same worker)."""
    rolled._capsys = capsys
    deployed(rolled, 1, 2)
    return rolled


def version_line(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if "version:" in line).strip()


def test_dry_run_prints_the_revert_and_changes_nothing(world: World) -> None:
    path = world.root / "churn.yaml"
    before = path.read_text()
    results = []
    mutations = world.mutations_during(
        lambda: results.append(world.cli("rollback", "churn", "-m", str(world.root), "--dry-run"))
    )
    result = results[0]
    assert result.code == 0, result.err
    assert "-    - name: primary\n" not in result.out  # only the version line moves
    assert "-      model: {packageGroup: churn-xgb, version: 2}\n" in result.out
    assert "+      model: {packageGroup: churn-xgb, version: 1}\n" in result.out
    assert path.read_text() == before
    assert mutations == {}  # rollback only reads AWS


def test_rollback_pins_the_previous_version_and_apply_rolls_back(world: World) -> None:
    path = world.root / "churn.yaml"
    live = world.endpoint("churn")["EndpointConfigName"]

    result = world.cli("rollback", "churn", "-m", str(world.root))

    assert result.code == 0, result.err
    assert version_line(path) == "model: {packageGroup: churn-xgb, version: 1}"
    assert path.read_text().startswith("# owned by the churn team\n")
    assert "churn-xgb 2 -> 1 (back to churn-" in result.err and f"live before {live})" in result.err
    again = world.cli("rollback", "churn", "-m", str(world.root))
    assert again.code == 0 and "nothing to roll back: churn already pins churn-xgb 1" in again.out
    assert world.apply().code == 0
    config = world.sm.describe_endpoint_config(
        EndpointConfigName=world.endpoint("churn")["EndpointConfigName"]
    )
    model = world.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    container = model.get("PrimaryContainer") or model["Containers"][0]
    assert container["ModelPackageName"].endswith("/churn-xgb/1")


def test_a_version_that_is_not_approved_is_refused(world: World) -> None:
    path = world.root / "churn.yaml"
    before = path.read_text()
    result = world.cli("rollback", "churn", "-m", str(world.root), "--to", "3")
    assert result.code == 1
    assert "PendingManualApproval" in result.err or "not Approved" in result.err
    assert path.read_text() == before


def test_an_endpoint_without_history_or_manifest_is_a_clear_error(world: World) -> None:
    world.write("fresh.yaml", registry_manifest(name="fresh", version=1))
    assert world.apply().code == 0
    fresh = world.cli("rollback", "fresh", "-m", str(world.root))
    missing = world.cli("rollback", "nobody", "-m", str(world.root))
    (world.root / "fresh.yaml").unlink()
    assert world.apply("--prune").code == 0
    assert fresh.code == 1 and "no earlier config in its rollback history" in fresh.err
    assert missing.code == 1 and "no endpoint named nobody in the manifests" in missing.err
    assert "Traceback" not in fresh.err + missing.err


def test_commit_records_the_revert_alone(world: World) -> None:
    deployed(world, 1)  # back at v1: the previous config served v2
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(world.root)], check=True)
    subprocess.run([*git, "-C", str(world.root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(world.root), "commit", "-qm", "init"], check=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        result = world.cli("rollback", "churn", "-m", str(world.root), "--commit")
    log = subprocess.run(
        ["git", "-C", str(world.root), "log", "-1", "--format=%s%n%b", "--name-only"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert result.code == 0, result.err
    assert log.startswith("revert(churn): churn-xgb 1 -> 2\n")
    assert "Roll endpoint churn back" in log and log.strip().endswith("churn.yaml")
    assert version_line(world.root / "churn.yaml").endswith("version: 2}")
