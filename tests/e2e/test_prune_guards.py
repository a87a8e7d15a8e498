"""Proof 5 of issue 8: prune is scoped and guarded. Each case ends with zero deletes.

Empty directory, emptied git path, broken manifest, another scope, another controller, endpoints
whose tags predate scopes, the circuit breaker over its limit, one file named by `-m`. Where a
guard is what holds the delete back, the same command with the guard lifted deletes, so the test
would fail if the guard did nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import boto3

from tests.e2e.conftest import World, byom_manifest

SCOPE_TAG = "sagemaker-gitops/scope"
FAST = ("--calls-per-second", "1000")  # the sandbox needs no client-side rate limit
POLL = ("--poll-interval", "0.05")  # world.apply sets this; direct `apply` calls need it too


def deletes(world: World, fn: Callable[[], object]) -> dict[str, int]:
    return {op: n for op, n in world.mutations_during(fn).items() if op.startswith("Delete")}


def create(world: World, *names: str, folder: Path | None = None) -> None:
    root = folder or world.root
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / f"{name}.yaml").write_text(_text(name))
    result = world.cli("apply", "-m", str(root), "--poll-interval", "0.05", *FAST)
    assert result.code == 0, result.err


def _text(name: str) -> str:
    import textwrap

    return textwrap.dedent(byom_manifest(name=name)).lstrip()


def test_an_empty_directory_deletes_nothing_unless_allow_empty(world: World) -> None:
    create(world, "a", "b")
    for path in world.root.glob("*.yaml"):
        path.unlink()
    (world.root / "README.md").write_text("endpoints moved\n")

    plan = world.plan("--prune", *FAST)
    held = deletes(world, lambda: world.apply("--prune", *FAST))
    status = json.loads(world.cli("status", "-m", str(world.root), "--format", "json", *FAST).out)
    allowed = deletes(world, lambda: world.apply(*FAST, "--prune", "--allow-empty"))

    assert held == {}
    assert "delete held back: the manifest set is empty" in plan.out
    assert "prune held back 2 delete(s)" in plan.err
    assert {r["endpoint"]: r["sync"] for r in status["endpoints"]} == {
        "a": "HeldBack",
        "b": "HeldBack",
    }
    assert allowed.get("DeleteEndpoint") == 2  # the guard, not something else, held them back


def test_an_emptied_git_path_deletes_nothing(world: World, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    path = repo / "endpoints"
    path.mkdir(parents=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://example.com/org/ml.git"], check=True)
    create(world, "a", "b", folder=path)
    (path / "README.md").write_text("moved to another repo\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "endpoints"], check=True)
    subprocess.run([*git, "rm", "-q", "endpoints/a.yaml", "endpoints/b.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "only a README is left"], check=True)

    mutations = deletes(world, lambda: world.cli("apply", "-m", str(path), "--prune", *FAST, *POLL))

    assert mutations == {}
    assert world.names("endpoint") == ["a", "b"]
    tags = world.tags(world.endpoint("a")["EndpointArn"])
    assert tags[SCOPE_TAG] == "example.com/org/ml:endpoints"


def test_a_broken_manifest_deletes_nothing(world: World) -> None:
    create(world, "a", "b")
    (world.root / "b.yaml").write_text("apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nspec: [\n")
    (world.root / "a.yaml").unlink()

    result = world.apply("--prune", *FAST)
    mutations = deletes(world, lambda: world.apply("--prune", *FAST))

    assert mutations == {}
    assert result.code == 1 and "some manifests failed to load" in result.err
    assert world.names("endpoint") == ["a", "b"]


def test_another_scope_is_neither_listed_nor_deleted(world: World, tmp_path: Path) -> None:
    team_a, team_b = tmp_path / "team-a", tmp_path / "team-b"
    create(world, "a1", "a2", folder=team_a)
    create(world, "b1", folder=team_b)

    plan = world.cli("plan", "-m", str(team_b), "--prune", *FAST)
    mutations = deletes(
        world, lambda: world.cli("apply", "-m", str(team_b), "--prune", *FAST, *POLL)
    )
    (team_b / "b1.yaml").unlink()
    (team_b / "b2.yaml").write_text(_text("b2"))
    pruned = deletes(world, lambda: world.cli("apply", "-m", str(team_b), "--prune", *FAST, *POLL))

    assert mutations == {}
    assert "a1" not in plan.out and "a2" not in plan.out  # issue 10: no line per other endpoint
    assert pruned.get("DeleteEndpoint") == 1  # b1, its own scope's removed endpoint
    assert world.names("endpoint") == ["a1", "a2", "b2"]


def test_one_file_never_prunes_its_neighbours(world: World) -> None:
    create(world, "a", "b", "c")

    one = world.cli(
        "apply", "-m", str(world.root / "a.yaml"), "--prune", "--max-deletes", "9", *FAST
    )

    assert one.code == 0, one.err
    assert world.names("endpoint") == ["a", "b", "c"]


def test_another_controllers_endpoints_are_never_deleted(world: World, tmp_path: Path) -> None:
    create(world, "theirs")
    (world.root / "theirs.yaml").unlink()
    (world.root / "mine.yaml").write_text(_text("mine"))

    mutations = deletes(
        world,
        lambda: world.apply("--controller-id", "team-b", "--prune", "--allow-empty", *FAST),
    )

    assert mutations == {}
    assert world.names("endpoint") == ["mine", "theirs"]


def test_endpoints_whose_tags_predate_scopes_are_reported_not_pruned(world: World) -> None:
    create(world, "legacy", "kept")
    for kind, names in (("endpoint", ["legacy"]), ("config", None), ("model", None)):
        for name in names or [n for n in world.names(kind) if n.startswith("legacy-")]:
            arn = _arn(world, kind, name)
            world.sm.delete_tags(ResourceArn=arn, TagKeys=[SCOPE_TAG])
    (world.root / "legacy.yaml").unlink()

    plan = world.plan("--prune", *FAST)
    mutations = deletes(world, lambda: world.apply("--prune", *FAST))
    (world.root / "legacy.yaml").write_text(_text("legacy"))
    adopted = world.mutations_during(lambda: world.apply(*FAST))

    assert mutations == {}
    assert "1 owned endpoint(s) without a manifest carry no sagemaker-gitops/scope tag" in plan.err
    assert "legacy" not in plan.out
    assert adopted.get("AddTags", 0) >= 1  # re-applying its manifest adopts it into the scope
    assert SCOPE_TAG in world.tags(world.endpoint("legacy")["EndpointArn"])


def _arn(world: World, kind: str, name: str) -> str:
    if kind == "endpoint":
        return str(world.endpoint(name)["EndpointArn"])
    if kind == "config":
        return str(world.sm.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"])
    return str(world.sm.describe_model(ModelName=name)["ModelArn"])


def test_the_circuit_breaker_holds_back_a_mass_delete(world: World) -> None:
    names = [f"e{i}" for i in range(7)]
    create(world, *names)
    for name in names[1:]:
        (world.root / f"{name}.yaml").unlink()

    plan = world.plan("--prune", "--format", "json", *FAST)
    held = deletes(world, lambda: world.apply("--prune", *FAST))
    percent = deletes(world, lambda: world.apply(*FAST, "--prune", "--max-deletes", "9",
                                                 "--max-delete-percent", "50"))  # fmt: skip
    lifted = deletes(world, lambda: world.apply(*FAST, "--prune", "--max-deletes", "6"))

    assert held == {} and percent == {}
    endpoints = {e["name"]: e for e in json.loads(plan.out)["endpoints"]}
    assert "circuit breaker: 6 endpoint deletes exceed --max-deletes 5" in endpoints["e3"]["held"]
    assert "prune held back 6 delete(s)" in plan.err
    assert lifted.get("DeleteEndpoint") == 6
    assert world.names("endpoint") == ["e0"]


def test_every_delete_is_logged_at_warning_level(world: World) -> None:
    create(world, "a", "b")
    (world.root / "b.yaml").unlink()

    result = world.apply(*FAST, "--prune", "--revision", "f" * 40)

    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    deletes = [r for r in records if r.get("action") == "delete"]
    assert ("Endpoint", "b") in {(r["type"], r["resource"]) for r in deletes}
    assert all(r["level"] == "warning" for r in deletes)
    assert all(r["endpoint"] == "b" and r["revision"] == "f" * 40 for r in deletes)


def test_a_region_whose_last_manifest_is_gone_is_pruned_when_the_repo_config_lists_it(
    world: World,
) -> None:
    # `west` is the only endpoint in us-west-2: deleting its manifest drops the region out of
    # the scan, so `--prune` alone cannot see it (kept, never wrongly deleted, but leaked);
    # `prune.regions` in .sagemaker-gitops.yaml keeps the region scanned.
    create(world, "a")
    west = _text("west").replace("spec:\n", "spec:\n  region: us-west-2\n", 1)
    (world.root / "west.yaml").write_text(west)
    assert world.apply(*FAST).code == 0
    west_sm = boto3.client(
        "sagemaker",
        endpoint_url=world.sandbox.url,
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert [e["EndpointName"] for e in west_sm.list_endpoints()["Endpoints"]] == ["west"]
    (world.root / "west.yaml").unlink()

    unlisted = world.plan("--prune", *FAST)
    kept = deletes(world, lambda: world.apply("--prune", *FAST))
    (world.root / ".sagemaker-gitops.yaml").write_text("prune:\n  regions: [us-west-2]\n")
    listed = world.plan("--prune", *FAST)
    pruned = deletes(world, lambda: world.apply("--prune", *FAST))

    assert kept == {}
    assert "regions scanned: us-east-1 (add others with --prune-region or prune.regions" in (
        " ".join(unlisted.err.split())
    )
    assert "regions scanned: us-east-1, us-west-2" in listed.err
    assert pruned.get("DeleteEndpoint") == 1
    assert west_sm.list_endpoints()["Endpoints"] == []


def test_held_back_deletes_are_pending_changes_not_a_green_run(world: World) -> None:
    """Issue 19: CI must not go green while a guard keeps the account from matching git."""
    create(world, "a", "b", "c")
    (world.root / "b.yaml").unlink()
    (world.root / "c.yaml").unlink()
    guard = ("--prune", "--max-deletes", "1", *FAST)

    text = world.plan(*guard, "--detailed-exitcode")
    doc = json.loads(world.plan(*guard, "--format", "json").out)
    markdown = world.plan(*guard, "--format", "markdown").out
    applied = world.apply(*guard)
    status = world.cli("status", "-m", str(world.root), "--max-deletes", "1", *FAST)
    for path in world.root.glob("*.yaml"):  # the empty-directory guard holds every delete
        path.unlink()
    empty_plan = world.plan("--prune", "--detailed-exitcode", *FAST)
    empty_apply = world.apply("--prune", *FAST)

    why = "circuit breaker: 2 endpoint deletes exceed --max-deletes 1"
    assert text.code == 2, text.out
    assert "No changes" not in text.out and "No changes" not in markdown
    assert f"2 deletes held back ({why})" in text.out
    assert f"2 deletes held back ({why})" in markdown
    assert doc["held_back"] == 2 and doc["summary"]["delete"] == 0
    assert applied.code == 3 and "2 delete(s) held back by a prune guard" in applied.err
    assert world.names("endpoint") == ["a", "b", "c"]  # still nothing deleted
    assert status.code == 3 and "HeldBack" in status.out
    assert (
        empty_plan.code == 2 and "3 deletes held back (the manifest set is empty" in empty_plan.out
    )
    assert empty_apply.code == 3, empty_apply.err
    assert world.names("endpoint") == ["a", "b", "c"]
