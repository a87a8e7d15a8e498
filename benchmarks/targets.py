"""A slow target must not delay another: when the quiet target's endpoints are planned.

Two targets in two sandbox accounts with N endpoints each. The "busy" target is limited to
`SLOW_RATE` calls per second (its `callsPerSecond`), standing in for an account that AWS
throttles (botocore's retries then hold that target's workers the same way); the "quiet" target
is not limited. One no-op `plan` pass (library calls, so each endpoint's finish time can be
recorded) measures when the quiet target's last endpoint is planned, compared with:

- the quiet target alone (no busy target defined), and
- the same two targets with one worker pool shared by all of them (how passes ran before
  targets had pools of their own); keys are taken in sorted order, busy ones first.

Then `apply --no-wait`'s converge loop creates, and version-bumps, the quiet target's endpoints,
alone and beside APPLY_BUSY of the busy target's: when the quiet target's last endpoint is
reconciled (its create or rollout issued), as a ratio to alone in the same run.

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
APPLY_BUSY = 4  # the busy target's endpoints in the apply cases (each costs it ~6 s at 2 calls/s)
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


def _endpoint(name: str, target: str, level: str = "info") -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {target}\n"
        f"  executionRoleArn: arn:aws:iam::{ACCOUNTS[target]}:role/SageMakerExecution\n"
        "  variants:\n    - name: main\n"
        f"      model: {{image: '{IMAGE}', environment: {{LOG_LEVEL: {level}}}}}\n"
        "      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}\n"
    )


def _write(
    root: Path,
    endpoints: int,
    busy: int | None,
    busy_rate: float,
    prefix: str = "ep",
    level: str = "info",
) -> None:
    """`endpoints` in "quiet"; `busy` in "busy" (None: no "busy" target at all)."""
    for path in root.glob("*.yaml"):
        path.unlink()
    targets = _target("quiet", 1000)
    if busy is not None:
        targets += "---\n" + _target("busy", busy_rate)
    (root / "targets.yaml").write_text(targets)
    for index in range(endpoints):
        (root / f"quiet-{index}.yaml").write_text(_endpoint(f"{prefix}-{index}", "quiet", level))
    for index in range(busy or 0):
        (root / f"busy-{index}.yaml").write_text(_endpoint(f"{prefix}-{index}", "busy", level))


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


def _quiet_applied(root: Path, concurrency: int) -> float:
    """`apply --no-wait` (its converge loop): seconds until the quiet target's last endpoint
    is reconciled (its create or rollout issued); returns once every target's is."""
    rec = Reconciler(
        Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions(concurrency=concurrency)
    )
    snapshot = rec.load(root)
    finished: dict[str, float] = {}
    reconcile = rec.reconcile
    started = time.perf_counter()

    def timed(snap: Any, key: str, **kwargs: Any) -> Any:
        result = reconcile(snap, key, **kwargs)
        finished[key] = time.perf_counter() - started
        return result

    with mock.patch.object(rec, "reconcile", timed):
        converging.converge(
            rec,
            snapshot,
            snapshot.keys(),
            wait=False,
            deadline=Deadline(600.0),
            poll=0.1,
            concurrency=concurrency,
            first=converging.changed_first(rec, snapshot, [], concurrency),
        )
    return round(max(t for key, t in finished.items() if key.startswith("quiet/")), 3)


def apply_cases(root: Path, endpoints: int, busy: int, concurrency: int) -> dict[str, float]:
    """Creation and version bump, the quiet target alone and beside the busy one (its own
    endpoints each: every run creates, then bumps, what it names)."""
    times: dict[str, float] = {}
    for case, busy_count in (("alone", None), ("beside", busy)):
        prefix = f"apply-{case}"
        _write(root, endpoints, busy_count, SLOW_RATE, prefix)
        times[f"creation_{case}_s"] = _quiet_applied(root, concurrency)
        _write(root, endpoints, busy_count, SLOW_RATE, prefix, level="debug")
        times[f"bump_{case}_s"] = _quiet_applied(root, concurrency)
    return times


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
        applied = apply_cases(root, endpoints, APPLY_BUSY, concurrency)
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
    creation = applied["creation_beside_s"] / applied["creation_alone_s"]
    bump = applied["bump_beside_s"] / applied["bump_alone_s"]
    print(
        table(
            ["apply --no-wait", "quiet target alone (s)", "beside the busy target (s)"],
            [
                ("creation", applied["creation_alone_s"], applied["creation_beside_s"]),
                ("version bump", applied["bump_alone_s"], applied["bump_beside_s"]),
            ],
        )
    )
    print(
        f"quiet target's last endpoint, beside busy / alone: creation {creation:.2f}x, "
        f"version bump {bump:.2f}x"
    )
    return {
        "apply": applied,
        "apply_creation_beside_over_alone": round(creation, 2),
        "apply_bump_beside_over_alone": round(bump, 2),
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
