"""A stage whose version is served by an inference component, end to end: the real CLI against
the sandbox.

Endpoint `gpu` hosts `chat` (churn-xgb, in the pipeline) and `fraud` (another group, not in it).
Convergence reads the component, the analysis queries SageMaker's per-component invocation
metrics (`AWS/SageMaker`, dimension `InferenceComponentName`), and version 2 of churn-xgb has a
bad traffic profile. Time runs 60 times faster in the sandbox's metrics.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.test_components import component, ic_manifest

PIPELINE = """
    apiVersion: sagemaker-gitops/v1
    kind: Pipeline
    metadata: {name: chat}
    spec:
      packageGroups: [churn-xgb]
      stages:
        - name: staging
          endpoints: {names: [gpu]}
          verification:
            interval: 1s
            count: 2
            initialDelay: 1s
            minInvocations: 100
            metrics:
              - {name: errors, errorRate: {}, max: 0.05}
              - {name: p99, latency: {statistic: p99}, max: 500}
    """
FRAUD = component("fraud", "fraud-detector", 1)


def write(world: World, version: int) -> None:
    world.write("gpu.yaml", ic_manifest(component("chat", "churn-xgb", version), FRAUD))


def verify(world: World) -> tuple[int, Any]:
    result = world.cli("verify", "--stage", "staging", "-m", str(world.root), "--format", "json")
    return result.code, json.loads(result.out) if result.out.startswith("{") else result.err


def test_a_component_is_converged_measured_and_failed_on_its_own_metrics(world: World) -> None:
    world.sandbox.set_traffic(
        {
            "timeScale": 60,
            "versions": {"churn-xgb/2": {"error5xxRate": 0.2, "modelLatencyMs": {"p99": 900}}},
        }
    )
    write(world, 1)
    world.write("pipeline.yaml", PIPELINE)
    assert world.apply().code == 0

    code, report = verify(world)

    assert code == 0, report
    assert report["versions"] == {"churn-xgb": [1]}
    # Only the pipeline's group is measured: chat, not fraud, and as a component.
    assert report["subjects"] == [
        {"location": "us-east-1", "endpoint": "gpu", "variant": "shared", "component": "chat"}
    ]
    checks = report["measurements"][0]["subjects"][0]["checks"]
    assert checks["errors"]["value"] < 0.05 and 100 < checks["p99"]["value"] < 140
    (request,) = world.sandbox.requests("GetMetricData")[:1]
    dimensions = {
        tuple((d["Name"], d["Value"]) for d in q["MetricStat"]["Metric"]["Dimensions"])
        for q in request["MetricDataQueries"]
    }
    assert dimensions == {(("InferenceComponentName", "chat"),)}

    # The manifests move chat to v2, not yet applied: the component is read, not measured.
    write(world, 2)
    code, report = verify(world)
    assert code == 3
    assert report["measurements"] == []
    assert report["notes"] == [
        "gpu (us-east-1): component chat serves v1, the manifests pin churn-xgb v2"
    ]
    status = world.cli("status", "-m", str(world.root))
    assert "staging" in status.out and "v2" in status.out

    # Applied: v2's own traffic fails the stage at the first measurement.
    assert world.apply().code == 0
    code, report = verify(world)
    assert code == 1
    assert report["phase"] == "Failed" and report["versions"] == {"churn-xgb": [2]}
    assert report["measurements"][0]["subjects"][0]["checks"]["errors"]["value"] > 0.1
