"""`kind: Pipeline`: loading, validation against the tree, and `file:line: path: message` errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.manifests.loading import load_manifests
from controller.manifests.pipelines.model import parse_seconds

TARGETS = """\
apiVersion: sagemaker-gitops/v1
kind: Target
metadata: {name: staging}
spec: {accountId: "222222222222", region: us-east-1}
---
apiVersion: sagemaker-gitops/v1
kind: Target
metadata: {name: prod}
spec: {accountId: "333333333333", region: us-east-1}
"""
ENDPOINT = """\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: churn
  labels: {{env: {env}}}
spec:
  target: {target}
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: primary
      model: {{packageGroup: churn-xgb, version: 1}}
      instanceType: ml.m5.xlarge
"""
PIPELINE = """\
apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata:
  name: churn
spec:
  packageGroups: [churn-xgb]
  stages:
    - name: staging
      endpoints: {matchLabels: {env: staging}}
      verification:
        interval: 2s
        count: 3
        metrics:
          - {name: errors, errorRate: {}, max: 0.01}
          - {name: p99, latency: {statistic: p99}, max: 250}
    - name: prod
      endpoints: {targets: [prod]}
"""


def tree(tmp_path: Path, pipeline: str = PIPELINE) -> Path:
    (tmp_path / "targets.yaml").write_text(TARGETS)
    (tmp_path / "staging.yaml").write_text(ENDPOINT.format(env="staging", target="staging"))
    (tmp_path / "prod.yaml").write_text(ENDPOINT.format(env="prod", target="prod"))
    (tmp_path / "pipeline.yaml").write_text(pipeline)
    return tmp_path


def problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipeline: str) -> list[str]:
    monkeypatch.chdir(tree(tmp_path, pipeline))
    return [str(d) for d in load_manifests([Path(".")]).diagnostics]


def test_a_pipeline_loads_beside_its_endpoints_and_deploys_nothing_itself(tmp_path: Path) -> None:
    result = load_manifests([tree(tmp_path)])

    assert result.ok, result.diagnostics
    assert [p.pipeline.metadata.name for p in result.pipelines] == ["churn"]
    assert sorted(m.manifest.spec.target or "" for m in result.manifests) == ["prod", "staging"]
    stage = result.pipelines[0].pipeline.spec.stages[0]
    assert stage.verification is not None
    assert stage.verification.interval_seconds == 2.0
    pipeline = result.pipelines[0].pipeline
    assert pipeline.upstreams("prod") == [stage] and pipeline.upstreams("staging") == []


def test_fan_in_orders_stages_after_everything_they_take_versions_from() -> None:
    from controller.manifests.pipelines.model import PipelineManifest

    def stage(name: str, after: list[str] | None = None) -> dict[str, object]:
        found: dict[str, object] = {"name": name, "endpoints": {"names": [name]}}
        return found if after is None else {**found, "after": after}

    pipeline = PipelineManifest.model_validate(
        {
            "apiVersion": "sagemaker-gitops/v1",
            "kind": "Pipeline",
            "metadata": {"name": "churn"},
            "spec": {
                "packageGroups": ["churn-xgb"],
                "stages": [
                    stage("prod", ["staging-us", "staging-eu"]),
                    stage("dev", []),
                    stage("staging-us", ["dev"]),
                    stage("staging-eu", ["dev"]),
                ],
            },
        }
    )

    assert [s.name for s in pipeline.ordered()] == ["dev", "staging-us", "staging-eu", "prod"]
    assert [s.name for s in pipeline.upstreams("prod")] == ["staging-us", "staging-eu"]
    assert pipeline.upstreams("dev") == [] and pipeline.cycle() == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      endpoints: {targets: [prod]}",
            "      endpoints: {targets: [prod]}\n      after: [staging, canary]",
            "pipeline.yaml:18: spec.stages[1].after[1]: unknown stage 'canary' (stages: prod, "
            "staging)",
        ),
        (
            "      endpoints: {matchLabels: {env: staging}}",
            "      endpoints: {matchLabels: {env: staging}}\n      after: [prod]",
            "pipeline.yaml:10: spec.stages[0].after: stages staging -> prod -> staging form a "
            "cycle: a version could never enter them",
        ),
        (
            "      endpoints: {targets: [prod]}",
            "      endpoints: {targets: [prod]}\n      after: [staging, staging]",
            "pipeline.yaml:18: spec.stages[1].after: after names must be unique: staging repeated",
        ),
    ],
)
def test_a_wrong_fan_in_is_a_file_line_path_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, expected: str
) -> None:
    assert old in PIPELINE
    found = problems(tmp_path, monkeypatch, PIPELINE.replace(old, new))

    assert expected in found, found


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "targets: [prod]",
            "targets: [prod-west]",
            "pipeline.yaml:17: spec.stages[1].endpoints.targets[0]: unknown target 'prod-west' "
            "(no kind: Target defines it)",
        ),
        (
            "packageGroups: [churn-xgb]",
            "packageGroups: [churn-xgb, fraud]",
            "pipeline.yaml:6: spec.packageGroups[1]: no endpoint in the manifests serves group "
            "'fraud'",
        ),
        (
            "{matchLabels: {env: staging}}",
            "{matchLabels: {env: dev}}",
            "pipeline.yaml:9: spec.stages[0].endpoints: stage 'staging' selects no endpoint "
            "serving churn-xgb",
        ),
        (
            "{targets: [prod]}",
            "{names: [churn]}",
            "pipeline.yaml:17: spec.stages[1].endpoints: endpoint 'churn' (staging.yaml) is also "
            "in stage 'staging': a version is in one stage at a time",
        ),
        (
            "max: 250}",
            "max: fast}",
            "pipeline.yaml:15: spec.stages[0].verification.metrics[1].max: Input should be a "
            "valid number, unable to parse string as a number (got 'fast')",
        ),
        (
            "{name: errors, errorRate: {}, max: 0.01}",
            '{name: errors, errorRate: {}, condition: "rate < 1"}',
            "pipeline.yaml:14: spec.stages[0].verification.metrics[0].condition: condition "
            "'rate < 1': unknown name 'rate' (use value)",
        ),
        (
            "interval: 2s",
            "interval: 2 weeks",
            "pipeline.yaml:11: spec.stages[0].verification.interval: duration "
            "'2 weeks': use e.g. 30s, 5m, 1h or 1m30s",
        ),
        (
            "- name: prod",
            "- name: staging",
            "pipeline.yaml:7: spec.stages: stage names must be unique: staging repeated",
        ),
        (
            "      endpoints: {targets: [prod]}",
            "      endpoints: {targets: [prod]}\n      requiredSoakTime: forever",
            "pipeline.yaml:18: spec.stages[1].requiredSoakTime: duration 'forever': use e.g. "
            "30s, 5m, 1h or 1m30s",
        ),
        (
            "      endpoints: {targets: [prod]}",
            "      endpoints: {targets: [prod]}\n      write: email",
            "pipeline.yaml:18: spec.stages[1].write: must be 'commit' or 'pullRequest' "
            "(got 'email')",
        ),
        (
            "{name: errors, errorRate: {}, max: 0.01}",
            "{name: errors, errorRate: {}, compare: ratio, max: 0.01}",
            "pipeline.yaml:8: spec.stages[0]: compare is for a shadow gate's checks "
            "(shadow.verification): a stage's own verification has no production to compare with",
        ),
        (
            "      endpoints: {targets: [prod]}",
            "      endpoints: {targets: [prod]}\n      shadow: {samplingWeight: 2, "
            "verification: {metrics: [{name: e, errorRate: {}, max: 1}]}}",
            "pipeline.yaml:18: spec.stages[1].shadow.samplingWeight: Input should be less than "
            "or equal to 1 (got 2)",
        ),
    ],
)
def test_a_wrong_pipeline_is_a_file_line_path_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, expected: str
) -> None:
    assert old in PIPELINE
    found = problems(tmp_path, monkeypatch, PIPELINE.replace(old, new))

    assert expected in found, found


def test_a_broken_pipeline_fails_the_load_like_any_manifest(tmp_path: Path) -> None:
    result = load_manifests([tree(tmp_path, PIPELINE.replace("targets: [prod]", "targets: [x]"))])

    assert not result.ok
    with pytest.raises(Exception, match="unknown target 'x'"):
        result.raise_for_errors()


def test_a_check_without_a_threshold_or_with_two_sources_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_threshold = PIPELINE.replace(
        "{name: errors, errorRate: {}, max: 0.01}", "{name: e, errorRate: {}}"
    )
    two = PIPELINE.replace("errorRate: {}, max", "errorRate: {}, latency: {}, max")

    assert any(
        "give max, min or a condition" in p for p in problems(tmp_path, monkeypatch, no_threshold)
    )
    assert any("exactly one of errorRate" in p for p in problems(tmp_path, monkeypatch, two))


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1m30s", 90), (2, 2)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "25h", "1d", "-5s", "5 minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_seconds(text)


GPU = """\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: gpu
  labels: {env: prod}
spec:
  target: prod
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: shared
      instanceType: ml.g5.12xlarge
      managedInstanceScaling: {minInstanceCount: 1, maxInstanceCount: 2}
  inferenceComponents:
    - name: chat
      variant: shared
      model: {packageGroup: churn-xgb, version: 1}
      compute: {acceleratorDevices: 1, minMemoryMb: 1024}
"""


def test_a_stage_serving_its_group_through_an_inference_component_is_a_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree(tmp_path))
    (tmp_path / "prod.yaml").write_text(GPU)

    assert load_manifests([Path(".")]).diagnostics == []
    # ...but it cannot be a shadow gate's: SageMaker has no shadow component.
    shadowed = PIPELINE.replace(
        "      endpoints: {targets: [prod]}",
        "      endpoints: {targets: [prod]}\n      shadow:\n"
        "        verification: {metrics: [{name: e, errorRate: {}, max: 1}]}",
    )
    (tmp_path / "pipeline.yaml").write_text(shadowed)
    found = [str(d) for d in load_manifests([Path(".")]).diagnostics]
    assert found == [
        "pipeline.yaml:18: spec.stages[1].shadow: stage 'prod' has a shadow gate, but gpu "
        "serve(s) the group through inference components, which have no shadow variant: verify "
        "them without a shadow"
    ]
