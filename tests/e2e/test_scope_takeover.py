"""An endpoint belongs to one scope (manifest tree): another tree that deploys it is a conflict,
a takeover is explicit (spec.adopt) and high risk, and one file keeps its tree's scope (issue 19,
item 6)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import MUTATING_PREFIXES, World, registry_manifest

SCOPE_TAG = "sagemaker-gitops/scope"
FAST = ("--poll-interval", "0.05")


def apply(world: World, path: Path, *extra: str) -> tuple[int, str]:
    result = world.cli("apply", "-m", str(path), *FAST, *extra)
    return result.code, result.out + result.err


def mutated_since(world: World, before: dict[str, int]) -> dict[str, int]:
    after = world.calls()
    return {
        op: n - before.get(op, 0)
        for op, n in after.items()
        if op.startswith(MUTATING_PREFIXES) and n != before.get(op, 0)
    }


def scope_of(world: World, name: str) -> str:
    return world.tags(world.endpoint(name)["EndpointArn"])[SCOPE_TAG]


def test_another_tree_deploying_an_endpoint_is_a_conflict_not_a_tag_edit(world: World) -> None:
    team_a, team_b = world.root / "team-a", world.root / "team-b"
    world.write("team-a/churn.yaml", registry_manifest())
    world.write("team-b/churn.yaml", registry_manifest())
    assert apply(world, team_a)[0] == 0
    owner = scope_of(world, "churn")

    plan = world.cli("plan", "-m", str(team_b), "--format", "json")
    before = world.calls()
    code, output = apply(world, team_b)
    mutations = mutated_since(world, before)

    assert owner == team_a.resolve().as_posix()
    [entry] = json.loads(plan.out)["endpoints"]
    assert plan.code == 1 and (entry["status"], entry["risk"]) == ("error", "high")
    assert entry["actions"] == []
    message = (
        f"endpoint churn belongs to scope {owner!r} ({SCOPE_TAG}), not to this run's scope "
        f"{team_b.resolve().as_posix()!r}: another manifest tree deploys it"
    )
    assert message in entry["errors"][0] and "spec.adopt: true" in entry["errors"][0]
    assert code == 1 and message in output
    assert mutations == {} and scope_of(world, "churn") == owner


def test_a_takeover_is_explicit_high_risk_and_does_not_flip_back(world: World) -> None:
    team_a, team_b = world.root / "team-a", world.root / "team-b"
    world.write("team-a/churn.yaml", registry_manifest())
    world.write("team-b/churn.yaml", registry_manifest(extra_spec="  adopt: true"))
    assert apply(world, team_a)[0] == 0

    plan = json.loads(world.cli("plan", "-m", str(team_b), "--format", "json").out)
    taken = apply(world, team_b)
    again = world.mutations_during(lambda: apply(world, team_b))
    before = world.calls()
    code, output = apply(world, team_a)
    back = mutated_since(world, before)

    [entry] = plan["endpoints"]
    assert (entry["status"], entry["risk"]) == ("update", "high")
    [action] = [a for a in entry["actions"] if a["type"] == "Endpoint"]
    assert (action["op"], action["reason"]) == ("tag", "Adopt")
    assert [(c["path"], c["before"], c["after"]) for c in action["changes"]] == [
        (f"tags.{SCOPE_TAG}", team_a.resolve().as_posix(), team_b.resolve().as_posix())
    ]
    assert taken[0] == 0, taken[1]
    assert again == {}  # idempotent: the takeover is done once
    assert scope_of(world, "churn") == team_b.resolve().as_posix()
    # team-a's tree no longer owns it: its apply is a conflict, never a flip back.
    assert code == 1 and "another manifest tree deploys it" in output
    assert back == {} and scope_of(world, "churn") == team_b.resolve().as_posix()


def test_one_file_keeps_the_scope_of_its_tree(world: World) -> None:
    world.write("a.yaml", registry_manifest("a"))
    world.write("b.yaml", registry_manifest("b"))
    assert apply(world, world.root)[0] == 0

    one = world.mutations_during(lambda: apply(world, world.root / "a.yaml"))
    pruned = world.cli("apply", "-m", str(world.root / "a.yaml"), "--prune", *FAST)

    assert one == {}  # same scope: nothing to re-tag, no conflict
    assert scope_of(world, "a") == world.root.resolve().as_posix()
    assert pruned.code == 0, pruned.err
    assert world.names("endpoint") == ["a", "b"]  # b is a neighbour, not removed
    assert "-m names one file, a part of its scope's manifest tree" in pruned.err
