"""What plans and status say about an endpoint is true: the models it serves, how risky a
capacity cut is, and the account it lives in (issue 19, item 7)."""

from __future__ import annotations

import json

from tests.e2e.conftest import IMAGE, World, header, registry_manifest

PREDICT = IMAGE.replace("kmeans:1", "predict:2")
DEFAULT = "123456789012"  # the account of the sandbox's default credentials


def pipeline(mode: str) -> str:
    return f"""
{header("pipe")}
    - name: main
      instanceType: ml.m5.xlarge
      model:
        inferenceExecutionMode: {mode}
        containers:
          - {{image: "{IMAGE}", containerHostname: pre}}
          - {{image: "{PREDICT}", containerHostname: predict}}
"""


def test_a_multi_container_variant_shows_every_container_as_its_model(world: World) -> None:
    world.write("pipe.yaml", pipeline("Direct"))

    text = world.plan().out
    served = json.loads(world.plan("--format", "json").out)["endpoints"][0]["models"]
    world.write("pipe.yaml", pipeline("Serial"))
    serial = json.loads(world.plan("--format", "json").out)["endpoints"][0]["models"]

    assert served == {"main": f"Direct: pre={IMAGE}, predict={PREDICT}"}
    assert f"models: main: Direct: pre={IMAGE}, predict={PREDICT}" in text
    assert serial == {"main": f"Serial: {IMAGE} -> {PREDICT}"}


def test_halving_an_instance_count_is_medium_risk(world: World) -> None:
    counted = registry_manifest().replace("initialInstanceCount: 1", "{count}")
    world.write("churn.yaml", counted.replace("{count}", "initialInstanceCount: 4"))
    assert world.apply().code == 0

    def risk(count: int) -> tuple[str, list[str]]:
        world.write("churn.yaml", counted.replace("{count}", f"initialInstanceCount: {count}"))
        [entry] = json.loads(world.plan("--format", "json").out)["endpoints"]
        return entry["risk"], [a["reason"] for a in entry["actions"]]

    assert risk(3) == ("low", ["WeightsOnly"])  # a quarter less: routine
    assert risk(2) == ("medium", ["WeightsOnly"])  # half the fleet takes all the traffic
    assert risk(1) == ("medium", ["WeightsOnly"])
    assert risk(8)[0] == "low"  # growing is routine


def test_status_names_the_account_of_endpoints_without_a_target(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    assert world.apply().code == 0

    result = world.cli("status", "-m", str(world.root), "--output", "json")

    [row] = json.loads(result.out)["endpoints"]
    assert (row["endpoint"], row["target"], row["account"]) == ("churn", "", DEFAULT)
    plan = json.loads(world.plan("--format", "json").out)
    assert plan["account"] == row["account"]
