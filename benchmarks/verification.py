"""What a stage's verification costs: API calls and time per measurement, 100 endpoints a stage.

A stage of N endpoints (one target) with two checks (5XX error rate, p99 latency) needs three
series per endpoint variant per measurement. `verify` batches them: one GetMetricData per target
per measurement, up to 500 queries a call. The baseline, in the same run against the same
sandbox, is what a per-endpoint script does: one GetMetricData per endpoint per measurement with
that endpoint's three queries. Both read through the same clients, with the sandbox answering
every call after `LATENCY_MS` (a region's usual round trip), so the time ratio is the calls'.

Also reported: the whole `verify --stage` (convergence reads, then COUNT measurements) and its
calls by operation.

`python -m benchmarks.verification [--endpoints 100]`; `python -m benchmarks.run --only
verification` (`--quick`: 20 endpoints).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from benchmarks.harness import FAST, cli, seed, table, world, write_fleet

NAME = "verification"
LATENCY_MS = 20
COUNT = 3
PIPELINE = """\
apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {name: bench}
spec:
  packageGroups: [grp-0]
  stages:
    - name: bench
      endpoints: {matchLabels: {env: bench}}
      verification:
        interval: 1s
        count: %d
        initialDelay: 1s
        minInvocations: 10
        metrics:
          - {name: errors, errorRate: {}, max: 0.05}
          - {name: p99, latency: {statistic: p99}, max: 500}
"""


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def measure(endpoints: int) -> dict[str, Any]:
    from controller.aws.clients import AwsOptions, Clients
    from controller.core.locations import location_of
    from controller.manifests.loading import load_manifests
    from controller.manifests.pipelines.checks import select_stage
    from controller.promotion import analysis, verifying
    from controller.promotion.reading import ClientsReader

    with world(seed(1), latency_ms=LATENCY_MS, prefix="bench-verify-") as (sandbox, root):
        fleet = root / "fleet"
        write_fleet(fleet, endpoints, 1)
        (fleet / "pipeline.yaml").write_text(PIPELINE % COUNT)
        code, _, _ = cli("apply", "-m", str(fleet), "--no-wait", "--calls-per-second", FAST)
        if code != 0:
            raise RuntimeError("apply failed")
        _post(f"{sandbox.url}/_sandbox/metrics", {"timeScale": 60})
        time.sleep(2.0)  # a full window of traffic behind every endpoint

        loaded = load_manifests([fleet])
        selected = select_stage(loaded.pipelines, loaded.manifests, "bench")
        stage = selected.stage
        assert stage.verification is not None
        clients = Clients(AwsOptions(read_only=True))
        pinned = verifying.pinned(
            selected.pipeline,
            selected.endpoints,
            lambda e: location_of(e.manifest, lambda: clients.default_region),
        )
        subjects = [analysis.Subject(p.location, p.endpoint, p.variant) for p in pinned]
        reader = ClientsReader(clients)
        now = datetime.now(UTC)
        start, end, period = verifying.window(stage.verification, now)

        before = sandbox.calls().get("GetMetricData", 0)
        started = time.perf_counter()
        batched = verifying.measure(stage.verification, subjects, reader, now)
        batched_s = time.perf_counter() - started
        batched_calls = sandbox.calls().get("GetMetricData", 0) - before

        before = sandbox.calls().get("GetMetricData", 0)
        started = time.perf_counter()
        for subject in subjects:  # the per-endpoint script
            queries = analysis.queries(stage.verification, [subject])
            reader.metric_values(
                subject.location, [q.as_request(period) for q in queries], start, end
            )
        script_s = time.perf_counter() - started
        script_calls = sandbox.calls().get("GetMetricData", 0) - before

        before_all = sandbox.calls()
        code, _, verify_s = cli("verify", "--stage", "bench", "-m", str(fleet), "--format", "json")
        after_all = sandbox.calls()
    verify_calls = {
        k: v - before_all.get(k, 0) for k, v in after_all.items() if v - before_all.get(k, 0)
    }
    return {
        "endpoints": endpoints,
        "phase_exit": code,
        "measurement": {
            "batched_calls": batched_calls,
            "batched_s": round(batched_s, 3),
            "script_calls": script_calls,
            "script_s": round(script_s, 3),
            "phase": batched.phase.value,
        },
        "verify": {"seconds": round(verify_s, 2), "calls": verify_calls},
    }


def run(quick: bool = False, endpoints: int | None = None) -> dict[str, Any]:
    n = endpoints or (20 if quick else 100)
    result = measure(n)
    m = result["measurement"]
    rows = [
        ["verify (one batch per target)", m["batched_calls"], m["batched_s"]],
        ["per-endpoint script (baseline)", m["script_calls"], m["script_s"]],
    ]
    print(f"one measurement of a stage of {n} endpoints, 2 checks, {LATENCY_MS} ms per call:")
    print(table(["", "GetMetricData calls", "seconds"], rows))
    ratio_calls = m["batched_calls"] / max(1, m["script_calls"])
    ratio_time = m["batched_s"] / max(1e-9, m["script_s"])
    print(f"verify: {ratio_calls:.3f}x the script's calls, {ratio_time:.3f}x its time")
    v = result["verify"]
    print(
        f"whole verify --stage ({COUNT} measurements 1 s apart, exit {result['phase_exit']}): "
        f"{v['seconds']} s, calls {dict(sorted(v['calls'].items()))}"
    )
    result["ratio_calls"] = round(ratio_calls, 4)
    result["ratio_time"] = round(ratio_time, 4)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int)
    options = parser.parse_args()
    run(endpoints=options.endpoints)
