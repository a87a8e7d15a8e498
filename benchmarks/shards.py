"""What one `run` replica does in a no-op resync, alone and as one of three shards.

Six targets in six sandbox accounts with 200 serverless endpoints each (5 with `--quick`), deployed
by one `apply`.
Then, each in its own processes (the real `python -m controller run`, as Kubernetes runs it):

- one replica without a lease (today's default);
- three replicas with `--lease-table --shard-by location`.

Once every replica is ready and the calls have gone quiet, each replica's own API calls are read
from its `/metrics` (`sagemaker_gitops_aws_api_calls_total`, by service) over exactly one resync
interval, so each replica did one resync in the window; RSS from /proc. The figures are ratios in
the same run: the busiest sharded replica's AWS calls and RSS against the single replica's, and
the three replicas' calls summed against the single one (what sharding costs in total).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from benchmarks.harness import (
    IMAGE,
    cli,
    free_port,
    get_json,
    mib,
    proc_memory_kb,
    stop_process,
    table,
    world,
)

NAME = "shards"
TARGETS = {f"team-{i}": f"20000000000{i}" for i in range(6)}
READY_TIMEOUT = 180.0
QUIET = 1.5  # seconds with unchanged sandbox call counts (the lease table's excepted)
LEASE_CALLS = {"Scan", "PutItem", "UpdateItem", "DeleteItem", "GetItem", "DescribeTable"}


def _target(name: str) -> str:
    account = TARGETS[name]
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
        f"metadata: {{name: {name}}}\n"
        f'spec: {{accountId: "{account}", region: us-east-1,\n'
        f"       roleArn: 'arn:aws:iam::{account}:role/deployer'}}\n"
    )


def _endpoint(name: str, target: str) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {target}\n"
        f"  executionRoleArn: arn:aws:iam::{TARGETS[target]}:role/SageMakerExecution\n"
        "  variants:\n    - name: main\n"
        f'      model: {{image: "{IMAGE}"}}\n'
        "      serverless: {memorySizeInMB: 2048, maxConcurrency: 5}\n"
    )


def write_fleet(root: Path, per_target: int) -> None:
    for target in TARGETS:
        (root / "targets").mkdir(parents=True, exist_ok=True)
        (root / "targets" / f"{target}.yaml").write_text(_target(target))
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_target):
            name = f"{target}-{i:03d}"
            (folder / f"{name}.yaml").write_text(_endpoint(name, target))


class Replica:
    """One `run` process and its HTTP port."""

    def __init__(self, root: Path, resync: float, extra: Sequence[str]) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "controller", "--log-level", "warning", "run"]
        argv += ["-m", str(root), "--http-port", str(self.port), "--requeue-interval", "1"]
        argv += ["--resync-interval", f"{resync:g}", *extra]
        self.proc = subprocess.Popen(
            argv, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = get_json(self.url("/status"), timeout=5)
        return found

    def calls(self) -> dict[str, int]:
        """This replica's API calls so far, by service."""
        import urllib.request

        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as reply:
            text = reply.read().decode()
        found: dict[str, int] = {}
        for family in text_string_to_metric_families(text):
            if family.name != "sagemaker_gitops_aws_api_calls":
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    service = sample.labels.get("service", "")
                    found[service] = found.get(service, 0) + int(sample.value)
        return found

    def rss_mib(self) -> float:
        return mib(proc_memory_kb(self.proc.pid)["VmRSS"])


@contextmanager
def replicas(root: Path, count: int, resync: float, sharded: bool) -> Iterator[list[Replica]]:
    extra: list[str] = []
    if sharded:
        extra = ["--lease-table", "sagemaker-gitops-bench", "--lease-duration", "3"]
        extra += ["--shard-by", "location"]
    with ExitStack() as stack:
        started = []
        for _ in range(count):
            replica = Replica(root, resync, extra)
            stack.callback(stop_process, replica.proc)
            started.append(replica)
        yield started


def _settled(reps: list[Replica], shards: int | None) -> bool:
    try:
        statuses = [r.status() for r in reps]
    except OSError:
        return False
    if not all(s.get("ready") for s in statuses):
        return False
    if shards is None:
        return True
    return sum(len(s["shards"]["held"]) for s in statuses) == shards


def _wait(sandbox: Any, reps: list[Replica], shards: int | None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not _settled(reps, shards):
        if time.monotonic() > deadline:
            raise TimeoutError("replicas did not settle")
        time.sleep(0.2)
    last, since = _sagemaker_calls(sandbox), time.monotonic()
    while time.monotonic() - since < QUIET and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _sagemaker_calls(sandbox)
        if now != last:
            last, since = now, time.monotonic()


def _sagemaker_calls(sandbox: Any) -> dict[str, int]:
    """The sandbox's call counts without the lease table's (renewed every pass, never quiet)."""
    return {op: n for op, n in sandbox.calls().items() if op not in LEASE_CALLS}


def _window(reps: list[Replica], resync: float) -> list[dict[str, Any]]:
    """Each replica's calls over one resync interval, and its RSS at the end."""
    before = [r.calls() for r in reps]
    time.sleep(resync)
    rows = []
    for replica, old in zip(reps, before, strict=True):
        new = replica.calls()
        diff = {k: v - old.get(k, 0) for k, v in new.items() if v != old.get(k, 0)}
        held = replica.status().get("shards", {}).get("held")
        rows.append({"calls": diff, "rss_mib": round(replica.rss_mib(), 1), "held": held})
    return rows


def _aws(calls: dict[str, int]) -> int:
    return sum(n for service, n in calls.items() if service != "dynamodb")


def run(quick: bool) -> dict[str, Any]:
    per_target = 5 if quick else 200
    resync = 8.0 if quick else 20.0
    shards = len(TARGETS) + 1  # the default region is a shard too
    with world({"modelPackageGroups": []}, prefix="bench-shards-") as (sandbox, root):
        write_fleet(root, per_target)
        code, out, seconds = cli("apply", "-m", str(root), "--poll-interval", "0.05")
        if code != 0:
            raise RuntimeError(f"apply failed: {out[-500:]}")
        print(f"deployed {per_target * len(TARGETS)} endpoints in {seconds:.1f} s")
        with replicas(root, 1, resync, sharded=False) as single:
            _wait(sandbox, single, None)
            alone = _window(single, resync)[0]
        with replicas(root, 3, resync, sharded=True) as three:
            _wait(sandbox, three, shards)
            shared = _window(three, resync)
    busiest = max(shared, key=lambda r: _aws(r["calls"]))
    summed = sum(_aws(r["calls"]) for r in shared)
    rows = [["1 replica, no lease", "all", _aws(alone["calls"]), 0, alone["rss_mib"]]]
    rows += [
        [
            f"3 sharded, replica {i + 1}",
            ", ".join(r["held"] or []) or "-",
            _aws(r["calls"]),
            r["calls"].get("dynamodb", 0),
            r["rss_mib"],
        ]
        for i, r in enumerate(shared)
    ]
    print(table(["replica", "shards", "AWS calls / resync", "DynamoDB", "RSS MiB"], rows))
    result = {
        "endpoints": per_target * len(TARGETS),
        "resync_interval_s": resync,
        "single": alone,
        "sharded": shared,
        "busiest_calls_ratio": round(_aws(busiest["calls"]) / max(1, _aws(alone["calls"])), 3),
        "total_calls_ratio": round(summed / max(1, _aws(alone["calls"])), 3),
        "busiest_rss_ratio": round(
            max(r["rss_mib"] for r in shared) / max(0.1, alone["rss_mib"]), 3
        ),
    }
    print(
        f"busiest sharded replica: {result['busiest_calls_ratio']}x the single replica's calls, "
        f"{result['busiest_rss_ratio']}x its RSS; all three together: "
        f"{result['total_calls_ratio']}x"
    )
    return result
