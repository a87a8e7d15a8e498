"""A slow target must not delay another: when the fast target's endpoints are planned.

Two targets in two sandbox accounts with N endpoints each. The "slow" target is limited to
`SLOW_RATE` calls per second (its `callsPerSecond`), standing in for an account that AWS
throttles (botocore's retries then hold that target's workers the same way); the "fast" target
is not limited. One `plan` pass over both records when the fast target's last endpoint is
planned, and compares it with:

- the same pass with the slow target's endpoints removed (the fast target alone), and
- the same pass with one worker pool shared by all targets (how passes ran before targets had
  pools of their own).

The sandbox's injected throttling (`--throttle-rate`) applies to every account alike, so it
cannot single one account out; the per-target rate limit is the stand-in. Numbers are ratios
from one run on one machine.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.harness import IMAGE, table, world
from controller.aws.clients import AwsOptions, Clients
from controller.reconcile import converging, planning
from controller.reconcile.reconciling import ReconcileOptions, Reconciler

NAME = "targets"
SLOW_RATE = 2.0
ACCOUNTS = {"fast": "222222222222", "slow": "333333333333"}
T = TypeVar("T")


def _target(name: str, rate: float) -> str:
    account = ACCOUNTS[name]
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
        f"metadata: {{name: {name}}}\n"
        f'spec: {{accountId: "{account}", region: us-east-1, callsPerSecond: {rate:g},\n'
        f"       roleArn: 'arn:aws:iam::{account}:role/deployer'}}\n"
    )


def _endpoint(name: str, target: str) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {target}\n"
        f"  executionRoleArn: arn:aws:iam::{ACCOUNTS[target]}:role/SageMakerExecution\n"
        "  variants:\n    - name: main\n"
        f"      model: {{image: '{IMAGE}'}}\n"
        "      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}\n"
    )


def _write(root: Path, endpoints: int, slow_endpoints: int, slow_rate: float) -> None:
    for path in root.glob("*.yaml"):
        path.unlink()
    (root / "targets.yaml").write_text(_target("fast", 1000) + "---\n" + _target("slow", slow_rate))
    for index in range(endpoints):
        (root / f"fast-{index}.yaml").write_text(_endpoint(f"ep-{index}", "fast"))
    for index in range(slow_endpoints):
        (root / f"slow-{index}.yaml").write_text(_endpoint(f"ep-{index}", "slow"))


def _shared_pool(fn: Callable[[str], T], keys: Sequence[str], concurrency: int) -> list[T]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(fn, keys))


@contextlib.contextmanager
def _one_pool() -> Iterator[None]:
    """Plan with one pool for every target (the design before per-target pools)."""
    saved = planning.map_by_location
    planning.map_by_location = _shared_pool  # type: ignore[assignment]
    try:
        yield
    finally:
        planning.map_by_location = saved


def _fast_done(root: Path, concurrency: int) -> dict[str, float]:
    """One plan pass: seconds until the fast target's last endpoint and the whole pass."""
    rec = Reconciler(
        Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions(concurrency=concurrency)
    )
    snapshot = rec.load(root)
    finished: dict[str, float] = {}
    plan_endpoint = rec.planner.plan_endpoint
    started = time.perf_counter()

    def timed(snap: Any, key: str, **kwargs: Any) -> Any:
        result = plan_endpoint(snap, key, **kwargs)
        finished[key] = time.perf_counter() - started
        return result

    rec.planner.plan_endpoint = timed  # type: ignore[method-assign]
    rec.plan(snapshot)
    total = time.perf_counter() - started
    fast = max(t for key, t in finished.items() if key.startswith("fast/"))
    return {"fast_done_s": round(fast, 3), "pass_s": round(total, 3)}


def run(quick: bool = False) -> dict[str, Any]:
    endpoints, concurrency = (8, 4) if quick else (16, 4)
    with world({"modelPackageGroups": []}, 0, "bench-targets-") as (_, root):
        _write(root, endpoints, endpoints, 1000)
        converge_all(root, concurrency)
        _fast_done(root, concurrency)  # warm: sessions, imports
        _write(root, endpoints, 0, SLOW_RATE)
        alone = _fast_done(root, concurrency)
        _write(root, endpoints, endpoints, SLOW_RATE)
        isolated = _fast_done(root, concurrency)
        with _one_pool():
            shared = _fast_done(root, concurrency)
    rows = [
        ("fast target alone", alone["fast_done_s"], alone["pass_s"]),
        ("beside a slow target, pool per target", isolated["fast_done_s"], isolated["pass_s"]),
        ("beside a slow target, one shared pool", shared["fast_done_s"], shared["pass_s"]),
    ]
    print(
        f"{endpoints} endpoints per target, concurrency {concurrency}, slow target "
        f"{SLOW_RATE:g} calls/s"
    )
    print(table(["plan pass", "fast target done (s)", "whole pass (s)"], rows))
    ratio = isolated["fast_done_s"] / alone["fast_done_s"]
    print(f"fast target, beside slow / alone: {ratio:.2f}x")
    return {
        "endpoints_per_target": endpoints,
        "alone": alone,
        "pool_per_target": isolated,
        "shared_pool": shared,
        "isolated_over_alone": round(ratio, 2),
        "shared_over_alone": round(shared["fast_done_s"] / alone["fast_done_s"], 2),
    }


def converge_all(root: Path, concurrency: int) -> None:
    """Create every endpoint once (no waiting), so the measured passes are no-op plans."""
    rec = Reconciler(
        Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions(concurrency=concurrency)
    )
    snapshot = rec.load(root)
    converging.converge(rec, snapshot, snapshot.keys(), wait=False, timeout=60, poll=0.1)
