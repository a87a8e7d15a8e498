"""A slow target must not delay another: when the quiet target's endpoints are planned.

Two targets in two sandbox accounts with N endpoints each. The "busy" target is limited to
`SLOW_RATE` calls per second (its `callsPerSecond`), standing in for an account that AWS
throttles (botocore's retries then hold that target's workers the same way); the "quiet" target
is not limited. One no-op `plan` pass (library calls, so each endpoint's finish time can be
recorded) measures when the quiet target's last endpoint is planned, compared with:

- the quiet target alone (no busy target defined), and
- the same two targets with one worker pool shared by all of them (how passes ran before
  targets had pools of their own); keys are taken in sorted order, busy ones first.

The sandbox's injected throttling (`--throttle-rate`) applies to every account alike, so it
cannot single one account out; the per-target rate limit is the stand-in. Numbers are ratios
from one run on one machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from benchmarks.harness import IMAGE, table, world
from controller.aws.clients import AwsOptions, Clients
from controller.deadlines import Deadline
from controller.reconcile import converging, planning
from controller.reconcile.reconciling import ReconcileOptions, Reconciler

NAME = "targets"
SLOW_RATE = 2.0
# "busy" (the slow one) sorts before "quiet": one shared pool takes keys in that order.
ACCOUNTS = {"quiet": "222222222222", "busy": "333333333333"}
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


def _write(root: Path, endpoints: int, busy: int | None, busy_rate: float) -> None:
    """`endpoints` in "quiet"; `busy` in "busy" (None: no "busy" target at all)."""
    for path in root.glob("*.yaml"):
        path.unlink()
    targets = _target("quiet", 1000)
    if busy is not None:
        targets += "---\n" + _target("busy", busy_rate)
    (root / "targets.yaml").write_text(targets)
    for index in range(endpoints):
        (root / f"quiet-{index}.yaml").write_text(_endpoint(f"ep-{index}", "quiet"))
    for index in range(busy or 0):
        (root / f"busy-{index}.yaml").write_text(_endpoint(f"ep-{index}", "busy"))


def _shared_pool(fn: Callable[[str], T], keys: Sequence[str], concurrency: int) -> list[T]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(fn, keys))


def _quiet_done(root: Path, concurrency: int) -> dict[str, float]:
    """One plan pass: seconds until the quiet target's last endpoint, and the whole pass."""
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

    with mock.patch.object(rec.planner, "plan_endpoint", timed):
        rec.plan(snapshot)
    total = time.perf_counter() - started
    quiet = max(t for key, t in finished.items() if key.startswith("quiet/"))
    return {"quiet_done_s": round(quiet, 3), "pass_s": round(total, 3)}


def run(quick: bool = False) -> dict[str, Any]:
    endpoints, concurrency = (8, 4) if quick else (16, 4)
    with world({"modelPackageGroups": []}, 0, "bench-targets-") as (_, root):
        _write(root, endpoints, endpoints, 1000)
        converge_all(root, concurrency)
        _quiet_done(root, concurrency)  # warm: sessions, imports
        _write(root, endpoints, None, SLOW_RATE)
        alone = _quiet_done(root, concurrency)
        _write(root, endpoints, endpoints, SLOW_RATE)
        isolated = _quiet_done(root, concurrency)
        # One pool for every target: the design before per-target pools.
        with mock.patch.object(planning, "map_by_location", _shared_pool):
            shared = _quiet_done(root, concurrency)
    rows = [
        ("quiet target alone", alone["quiet_done_s"], alone["pass_s"]),
        ("beside the busy target, pool per target", isolated["quiet_done_s"], isolated["pass_s"]),
        ("beside the busy target, one shared pool", shared["quiet_done_s"], shared["pass_s"]),
    ]
    print(
        f"{endpoints} endpoints per target, concurrency {concurrency}, busy target limited to "
        f"{SLOW_RATE:g} calls/s"
    )
    print(table(["plan pass", "quiet target done (s)", "whole pass (s)"], rows))
    isolated_ratio = isolated["quiet_done_s"] / alone["quiet_done_s"]
    shared_ratio = shared["quiet_done_s"] / alone["quiet_done_s"]
    print(
        f"quiet target done, beside busy / alone: {isolated_ratio:.2f}x per-target pools, "
        f"{shared_ratio:.2f}x one shared pool"
    )
    return {
        "endpoints_per_target": endpoints,
        "alone": alone,
        "pool_per_target": isolated,
        "shared_pool": shared,
        "pool_per_target_over_alone": round(isolated_ratio, 2),
        "shared_pool_over_alone": round(shared_ratio, 2),
    }


def converge_all(root: Path, concurrency: int) -> None:
    """Create every endpoint once (no waiting), so the measured passes are no-op plans."""
    rec = Reconciler(
        Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions(concurrency=concurrency)
    )
    snapshot = rec.load(root)
    converging.converge(
        rec, snapshot, snapshot.keys(), wait=False, deadline=Deadline(120.0), poll=0.1
    )
