"""10,000 endpoints in 10 targets (issue 24): first apply, cold plan, no-op resync, an edit in
`run`, with calls per target and peak RSS, each against the same fleet at a tenth of its size.

The fleet: N single-variant endpoints spread round-robin over T targets, each target its own
sandbox account reached by AssumeRole (as docs/multi-account.md deploys); endpoint i in target
i mod T on model package group i mod G (G = N/100, so every target uses G/T groups), all groups
in one registry account shared with every target (the multi-account MLOps layout). Every phase
runs twice in one invocation: on the fleet and on its BASELINE, the same layout at N/10 (same
T, same endpoints per group), each in a fresh sandbox process, so the ratio per endpoint says
whether the cost grows linearly (1.0x) in the number of endpoints.

Phases, each in a fresh child process (`benchmarks/child_rusage.py`: wall time and that
process's own peak RSS from `os.wait4`):

1. first apply: `sagemaker-gitops apply` (waits until every endpoint is InService);
2. cold no-op `plan` (listings and stamps, as every pull request's);
3. a no-op resync of `run`: the Reconciler driven pass by pass in `benchmarks/resync_pass.py`
   (the pass `benchmarks/fleet.py` measures; the second pass is the resync);
4. `sagemaker-gitops run`: time until /readyz (its initial sync), then EDITS manifests edited
   one at a time (version 1 -> 2), each timed from the write to the sandbox serving its
   UpdateEndpoint and to the endpoint being InService on the new config; the service's peak
   RSS (VmHWM) after the edits.

The baseline's apply and plan run once more with its N/10 endpoints all in ONE target: peak
RSS at T targets against one says what the targets (a session and clients each) cost.

Calls per target come from the sandbox's per-account counts (`/_sandbox/calls/by-account`);
the "listing floor" of a pass is what a reader of a target that checks ownership must spend
to see its state: ceil(endpoints / 100) ListEndpoints pages, ceil(3 x endpoints / 100)
GetResources pages (the endpoint, its config and its model carry the ownership tags) and one
ListModelPackages per group it deploys.

Then, at 20 ms per call (the sandbox's injected latency), the cold `plan` of the whole fleet
against `benchmarks/lean_baseline.py` (the lean sequential boto3 script) on ONE target's share
of it, N/T endpoints: the script does a T-th of the work and is still measured, not scaled.

`python -m benchmarks.fleet_targets [--endpoints N] [--targets T] [--quick]` runs it alone
(`--quick`: N=200, T=2); `python -m benchmarks.run --only fleet_targets` runs the defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.child_rusage import run_child
from benchmarks.fleet_targets_report import LATENCY_MS, report, rows
from benchmarks.harness import (
    FAST,
    IMAGE,
    SandboxProcess,
    get_json,
    set_version,
    world,
)
from benchmarks.resync_pass import account_delta

NAME = "fleet_targets"
REGISTRY = "111111111111"
EDITS = 5
EDIT_TIMEOUT = 120.0  # seconds an edit may take to converge before the run is reported failed
READY_TIMEOUT = 1800.0
ONE_TARGET = {"apply", "plan"}  # the phases repeated with the baseline's endpoints in one target
PER_PAGE = 100  # ListEndpoints' MaxResults maximum in the botocore model


@dataclass(frozen=True)
class Size:
    """One fleet: `endpoints` over `targets` targets on `groups` model package groups."""

    endpoints: int
    targets: int
    groups: int

    @classmethod
    def of(cls, endpoints: int, targets: int) -> Size:
        return cls(endpoints, targets, max(targets, endpoints // 100))

    def per_target(self, t: int) -> int:
        return len(range(t, self.endpoints, self.targets))

    def listing_floor(self, t: int) -> int:
        """ListEndpoints pages, ownership index pages (GetResources: the endpoint, its config
        and its model are tagged, 3 resources each) and one ListModelPackages per group."""
        endpoints = self.per_target(t)
        groups = len({i % self.groups for i in range(t, self.endpoints, self.targets)})
        return math.ceil(endpoints / PER_PAGE) + math.ceil(3 * endpoints / PER_PAGE) + groups


# -- the fleet ---------------------------------------------------------------------------------


def account(t: int) -> str:
    return str(210_000_000_000 + t)


def target_name(t: int) -> str:
    return f"team-{t:02d}"


def registry(size: Size, versions: int = 2) -> dict[str, Any]:
    """G groups in the registry account, each shared with every target's account."""
    return {
        "modelPackageGroups": [
            {
                "name": f"grp-{g}",
                "account": REGISTRY,
                "shareWith": [account(t) for t in range(size.targets)],
                "versions": [
                    {
                        "image": IMAGE,
                        "modelDataUrl": f"s3://models/grp-{g}/{v}/model.tar.gz",
                        "approval": "Approved",
                    }
                    for v in range(1, versions + 1)
                ],
            }
            for g in range(size.groups)
        ]
    }


def _target(t: int) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
        f"metadata: {{name: {target_name(t)}}}\n"
        f'spec: {{accountId: "{account(t)}", region: us-east-1,\n'
        f"       roleArn: 'arn:aws:iam::{account(t)}:role/deployer'}}\n"
    )


def _endpoint(name: str, t: int, group: int) -> str:
    group_arn = f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package-group/grp-{group}"
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata:\n  name: {name}\n  labels: {{env: bench}}\n"
        f"spec:\n  target: {target_name(t)}\n"
        f"  executionRoleArn: arn:aws:iam::{account(t)}:role/SageMakerExecution\n"
        "  variants:\n    - name: primary\n"
        f"      model: {{packageGroup: '{group_arn}', version: 1}}\n"
        "      instanceType: ml.m5.xlarge\n      initialInstanceCount: 1\n"
    )


def write_fleet(root: Path, size: Size) -> list[Path]:
    """targets.yaml plus one folder of manifests per target; returns the endpoint files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "targets.yaml").write_text("---\n".join(_target(t) for t in range(size.targets)))
    paths = []
    for i in range(size.endpoints):
        t = i % size.targets
        folder = root / target_name(t)
        folder.mkdir(exist_ok=True)
        path = folder / f"ep-{i:05d}.yaml"
        path.write_text(_endpoint(f"ep-{i:05d}", t, i % size.groups))
        paths.append(path)
    return paths


# -- counting ----------------------------------------------------------------------------------


def by_account(sandbox: SandboxProcess) -> dict[str, dict[str, int]]:
    accounts: dict[str, dict[str, int]] = get_json(f"{sandbox.url}/_sandbox/calls/by-account")[
        "accounts"
    ]
    return accounts


def per_target(size: Size, served: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Calls per target (its account), the busiest target's against its listing floor, and the
    calls made with the ambient credentials (AssumeRole, the plan header's identity)."""
    calls = [sum(served.get(account(t), {}).values()) for t in range(size.targets)]
    busiest = max(range(size.targets), key=lambda t: calls[t])
    ambient = sum(
        n for acct, ops in served.items() if acct not in _accounts(size) for n in ops.values()
    )
    return {
        "per_target": calls,
        "max": calls[busiest],
        "min": min(calls),
        "total": sum(calls) + ambient,
        "ambient": ambient,
        "busiest_ops": dict(served.get(account(busiest), {})),
        "floor": size.listing_floor(busiest),
    }


def _accounts(size: Size) -> set[str]:
    return {account(t) for t in range(size.targets)}


@contextmanager
def counted(sandbox: SandboxProcess, size: Size, into: dict[str, Any]) -> Iterator[None]:
    before = by_account(sandbox)
    yield
    into["calls"] = per_target(size, account_delta(before, by_account(sandbox)))


# -- phases ------------------------------------------------------------------------------------


def cli_phase(sandbox: SandboxProcess, size: Size, *argv: str) -> dict[str, Any]:
    """`python -m controller ARGV` in a fresh process: exit 0 required."""
    result: dict[str, Any] = {}
    with counted(sandbox, size, result):
        child = run_child(["-m", "controller", *argv], sandbox.env())
    if child.code != 0:
        raise RuntimeError(f"{' '.join(argv[:1])} exited {child.code}: {child.stderr[-2000:]}")
    result.update(seconds=child.seconds, peak_rss_kib=child.peak_rss_kib)
    return result


def resync_phase(sandbox: SandboxProcess, size: Size, root: Path) -> dict[str, Any]:
    child = run_child(["-m", "benchmarks.resync_pass", str(root)], sandbox.env())
    if child.code != 0:
        raise RuntimeError(f"resync_pass exited {child.code}: {child.stderr[-2000:]}")
    found = json.loads(child.stdout.strip().splitlines()[-1])
    if set(found["outcomes"]) != {"Converged"}:
        raise RuntimeError(f"the resync was not a no-op: {found['outcomes']}")
    return {
        "seconds": found["seconds"],
        "warm_seconds": found["warm_s"],
        "process_seconds": child.seconds,
        "peak_rss_kib": child.peak_rss_kib,
        "calls": per_target(size, found["calls"]),
    }


def run_phase(sandbox: SandboxProcess, size: Size, paths: list[Path], edits: int) -> dict[str, Any]:
    """`run` in its own process: ready time and its calls, then `edits` edits one at a time."""
    from benchmarks.service_memory import ServiceProcess, wait_until

    result: dict[str, Any] = {}
    started = time.perf_counter()
    with counted(sandbox, size, result):
        service = ServiceProcess(paths[0].parent.parent, "default", sandbox.env(), resync=3600)
        try:
            if wait_until(service.ready, READY_TIMEOUT, step=0.05) is None:
                raise RuntimeError(f"run was not ready within {READY_TIMEOUT:.0f} s")
            result["ready_seconds"] = time.perf_counter() - started
        except BaseException:
            service.stop()
            raise
    try:
        spread = max(1, size.endpoints // edits)
        timings = [
            edit(sandbox, size, paths[(k * spread + 3) % size.endpoints]) for k in range(edits)
        ]
        result["peak_rss_kib"] = service.memory().get("VmHWM", 0)
    finally:
        service.stop()
    result["issued_seconds"] = [t[0] for t in timings]
    result["converged_seconds"] = [t[1] for t in timings]
    return result


def edit(sandbox: SandboxProcess, size: Size, path: Path) -> tuple[float, float]:
    """Version 1 -> 2 in one manifest: seconds until its UpdateEndpoint was served, and until the
    endpoint was InService on a new config (read in its target's account)."""
    t = int(path.stem.split("-")[1]) % size.targets
    sm = target_client(sandbox, account(t))
    old = sm.describe_endpoint(EndpointName=path.stem)["EndpointConfigName"]
    updates = sandbox.calls().get("UpdateEndpoint", 0)
    started = time.perf_counter()
    set_version(path, 2)
    issued: float | None = None
    deadline = started + EDIT_TIMEOUT
    while time.perf_counter() < deadline:
        if issued is None and sandbox.calls().get("UpdateEndpoint", 0) > updates:
            issued = time.perf_counter() - started
        if issued is not None:
            live = sm.describe_endpoint(EndpointName=path.stem)
            if live["EndpointStatus"] == "InService" and live["EndpointConfigName"] != old:
                return issued, time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"the edit of {path.name} did not converge within {EDIT_TIMEOUT:.0f} s")


def target_client(sandbox: SandboxProcess, acct: str) -> Any:
    """A SageMaker client acting in `acct`, as the controller's target session does."""
    import boto3

    env = sandbox.env()
    plain = {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": "us-east-1",
    }
    sts = boto3.client(
        "sts",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        **plain,
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{acct}:role/deployer", RoleSessionName="bench"
    )["Credentials"]
    return boto3.client(
        "sagemaker",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        **plain,
    )


def lean_phase(sandbox: SandboxProcess, size: Size, root: Path) -> dict[str, Any]:
    """At 20 ms per call: our cold plan of every target against the lean script on one."""
    from benchmarks import lean_baseline
    from benchmarks.fleet import set_faults

    set_faults(sandbox, latency_ms=LATENCY_MS)
    try:
        ours = cli_phase(sandbox, size, "plan", "-m", str(root))
        sm = target_client(sandbox, account(0))
        started = time.perf_counter()
        verdicts = lean_baseline.plan(sm, root / target_name(0))
        lean = time.perf_counter() - started
    finally:
        set_faults(sandbox, latency_ms=0)
    in_sync = sum(v == "in sync" for v in verdicts.values())
    if in_sync != size.per_target(0):
        raise RuntimeError(f"the lean script found {in_sync}/{size.per_target(0)} in sync")
    return {
        "plan_seconds": ours["seconds"],
        "lean_seconds": lean,
        "lean_endpoints": len(verdicts),
        "plan_calls": ours["calls"]["total"],
    }


def measure(size: Size, edits: int, phases: set[str] | None = None) -> dict[str, Any]:
    """Every phase (or those named) on one fleet of `size`, in a fresh sandbox."""
    with world(registry(size), prefix="bench-fleet-targets-") as (sandbox, root):
        paths = write_fleet(root, size)
        result: dict[str, Any] = {"size": size.__dict__}
        for phase, step in (
            (
                "apply",
                lambda: cli_phase(
                    sandbox, size, "apply", "-m", str(root), "--calls-per-second", FAST
                ),
            ),
            ("plan", lambda: cli_phase(sandbox, size, "plan", "-m", str(root))),
            ("resync", lambda: resync_phase(sandbox, size, root)),
            ("run", lambda: run_phase(sandbox, size, paths, edits)),
            ("lean", lambda: lean_phase(sandbox, size, root)),
        ):
            if phases is not None and phase not in phases:
                continue
            started = time.perf_counter()
            result[phase] = step()
            print(
                f"  N={size.endpoints} {phase}: {time.perf_counter() - started:.1f} s", flush=True
            )
    return result


def run(
    quick: bool = False,
    endpoints: int | None = None,
    targets: int | None = None,
    edits: int | None = None,
) -> dict[str, Any]:
    n = endpoints or (200 if quick else 10_000)
    t = targets or (2 if quick else 10)
    fleet_size, base_size = Size.of(n, t), Size.of(max(t, n // 10), t)
    count = edits or (2 if quick else EDITS)
    base = measure(base_size, count)
    # What the targets themselves cost: the baseline's endpoints, all in one target.
    base["one_target"] = measure(Size(base_size.endpoints, 1, base_size.groups), 0, ONE_TARGET)
    fleet = measure(fleet_size, count)
    found = rows(fleet, base)
    report(fleet, base, found)
    return {"fleet": fleet, "baseline": base, "rows": found}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fleet_targets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="N=200 in 2 targets")
    parser.add_argument("--endpoints", type=int, help="N (default 10000)")
    parser.add_argument("--targets", type=int, help="T (default 10)")
    parser.add_argument("--edits", type=int, help=f"edits timed in run (default {EDITS})")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the numbers here")
    args = parser.parse_args(argv)
    result = run(args.quick, args.endpoints, args.targets, args.edits)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
