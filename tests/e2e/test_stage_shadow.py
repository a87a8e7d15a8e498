"""A shadow gate end to end: `run --promote` adds the candidate as each prod endpoint's shadow
variant (a commit), measures it against production on the same endpoint with the sandbox's
per-variant metrics, then swaps it in and drops the shadow (a second commit), or drops the shadow
and holds the version when it is worse than production.

v1 serves; v2 behaves like it; v3's p99 is four times production's. Metrics run 60 times faster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller.edits.shadowing import MARK
from tests.e2e.test_stage_promotion import (
    Pipeline,
    churn_seed,
    eventually,
    git,
    promotion_world,
)
from tests.e2e.test_targets import GROUP_ARN, PROD, endpoint, target

SEED = churn_seed({"modelLatencyMs": {"p50": 160, "p99": 480}})
PIPELINE = f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: prod
      endpoints: {{targets: [prod]}}
      autoPromote: true
      shadow:
        samplingWeight: 0.5
        verification:
          interval: 1s
          count: 2
          initialDelay: 1s
          minInvocations: 50
          metrics:
            - {{name: p99-ratio, latency: {{statistic: p99}}, compare: ratio, max: 1.5}}
            - {{name: error-delta, errorRate: {{}}, compare: difference, max: 0.02}}
"""


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    files = {
        "targets/prod.yaml": target("prod", PROD, "us-east-1"),
        "prod/churn.yaml": "# prod's churn endpoint\n" + endpoint("churn", "prod"),
        "pipeline.yaml": PIPELINE,
    }
    with promotion_world(tmp_path_factory.mktemp("shadow"), SEED, files) as world:
        yield world


def shadow_of(p: Pipeline) -> list[str]:
    """The shadow variants the prod endpoint serves now."""
    from tests.e2e.test_targets import sagemaker_in

    prod = sagemaker_in(p.world, PROD)
    config = prod.describe_endpoint(EndpointName="churn")["EndpointConfigName"]
    described = prod.describe_endpoint_config(EndpointConfigName=config)
    return [v["VariantName"] for v in described.get("ShadowProductionVariants", [])]


def test_a_candidate_is_verified_as_a_shadow_then_swapped_in_or_dropped(
    shadowed: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    p = shadowed
    p.world._capsys = capsys
    with p.service("one") as runner:
        eventually(lambda: "promote(prod): churn v1 -> v2" in p.log(), 90, "v2 swapped in")
        assert p.log() == [
            "promote(prod): churn v1 -> v2",
            "shadow(prod): churn v2 beside v1",
            "initial",
        ]
        assert p.verdict(2, "prod-shadow").startswith("Verified ")
        manifest = p.pinned("prod/churn.yaml")
        assert manifest.startswith("# prod's churn endpoint\n")
        assert "version: 2" in manifest and "shadowVariants" not in manifest
        # The shadow commit added a copy of the production variant, marked as ours.
        added = git(p.bare, "show", "main~1:prod/churn.yaml")
        assert "shadowVariants:" in added and MARK in added and "initialWeight: 0.5" in added
        eventually(lambda: shadow_of(p) == [], 30, "the shadow dropped from the endpoint")

        # v3 is four times slower than production as a shadow: dropped, held, never served.
        p.registry.update_model_package(
            ModelPackageArn=GROUP_ARN.replace(":model-package-group/", ":model-package/") + "/3",
            ModelApprovalStatus="Approved",
        )
        eventually(
            lambda: "revert(prod): drop churn v3's shadow" in p.log(), 90, "v3's shadow dropped"
        )
        # The view is published when the pass that pushed the drop ends.
        status = eventually(lambda: _failed_view(runner), 10, "the pass's view")
    assert p.log()[:2] == [
        "revert(prod): drop churn v3's shadow",
        "shadow(prod): churn v3 beside v2",
    ]
    assert p.verdict(3, "prod-shadow").startswith("Failed ")
    assert "p99-ratio=" in p.verdict(3, "prod-shadow")
    manifest = p.pinned("prod/churn.yaml")
    assert "version: 2" in manifest and "shadowVariants" not in manifest
    stage = status["pipelines"][0]["stages"][0]
    assert "Failed" in stage["shadow"]
    assert stage["nextPromotion"] == "v3: v3 is held: stage prod-shadow recorded Failed"

    # Nothing is in shadow now: a human has no candidate to decide on.
    result = p.world.cli(
        "verify", "--stage", "prod", "-m", str(p.world.root), "--shadow", "--approve"
    )
    assert result.code == 1 and "pins a shadow candidate of none" in result.err


def _failed_view(runner: Any) -> dict[str, Any] | None:
    """The promotion view once it shows the shadow's Failed verdict."""
    view: dict[str, Any] = runner.status()["promotion"]
    stages = (view.get("pipelines") or [{}])[0].get("stages") or [{}]
    return view if "Failed" in stages[0].get("shadow", "") else None
