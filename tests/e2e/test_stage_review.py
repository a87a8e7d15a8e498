"""A stage the analysis leaves Inconclusive is decided by the next promotion's pull request
review, end to end: the real service, the sandbox's metrics, a bare repository and the GitHub
fake.

staging cannot gather enough traffic (minInvocations of a billion), so v2 is Inconclusive
there; prod writes pull requests, so `run --promote` opens prod's promotion of v2 as one that
says its review decides. A reviewer approves it, and the service records v2 Verified in
staging, in the registry, naming who approved where.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_service import eventually
from tests.e2e.test_stage_promotion import FILES, SEED, promotion_world
from tests.e2e.test_targets import GROUP_ARN

PIPELINE = f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: staging
      endpoints: {{targets: [staging]}}
      verification:
        interval: 1s
        count: 1
        minInvocations: 1000000000
        metrics: [{{name: errors, errorRate: {{}}, max: 0.05}}]
    - name: prod
      endpoints: {{targets: [prod]}}
      autoPromote: true
      write: pullRequest
"""


def test_an_inconclusive_stage_is_approved_in_the_next_promotions_review(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if not k.startswith(("dev/", "targets/dev"))}
    with promotion_world(tmp_path, SEED, {**files, "pipeline.yaml": PIPELINE}) as p:
        with p.service("one") as runner:
            eventually(lambda: p.github.pulls, 60, "prod's pull request")
            pull = p.github.pulls[0]
            assert p.verdict(2, "staging").startswith("Inconclusive")
            assert pull["title"] == "promote(prod): churn v1 -> v2"
            assert "**churn v2 is Inconclusive in staging**" in pull["body"]
            assert "request changes, or close it unmerged" in pull["body"]

            p.github.review(1, "alice", "APPROVED")
            eventually(lambda: p.verdict(2, "staging").startswith("Verified"), 30, "approval")
            eventually(
                lambda: "inFlight" in str(runner.status()["promotion"]), 30, "the pull request"
            )

        verdict = p.verdict(2, "staging")
        assert f"approved by review: alice on {pull['html_url']}" in verdict.replace("_", " ")
        assert len(p.github.pulls) == 1  # the approved request is the promotion; none more
        assert p.log() == ["promote(staging): churn v1 -> v2", "initial"]
