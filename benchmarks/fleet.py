"""The scale targets of one fleet in one run: N endpoints x 2 variants, G = N/5 groups.

Reproduces the table of docs/benchmarks.md ("Fleet"): call counts of a no-op resync in `run`
(the Reconciler driven pass by pass, as the service's resync does) and of a cold no-op `plan`;
calls before the first mutating call when one manifest changed (`apply`, with the changed file
sorting first, in the middle and last; `run`, edits with and without a resync in progress); the
wall time of a no-op `plan` at 20 ms API latency against THE BASELINE (benchmarks/baseline.py,
a sequential boto3 reconciler, on the same manifests); `run`'s edit -> first mutating call p95;
a version bump rolled out to 100 endpoints with 5 s transitions; `validate` and `--help` start
times in fresh subprocesses; `run`'s peak RSS; `apply` of 50 endpoints under 30% throttling + 5%
5xx against the same without faults (bounded by `apply --timeout 60`: "inf" when it did not
converge by then); `run` with 200 endpoints at 20% throttling, edit -> applied.
Everything uses the CLI's default flags unless the row says otherwise.

Sizes: N=1000 (`--quick`: N=100). The baseline wall row uses a fleet of its own of W=100
endpoints (quick 50), so the baseline's minutes at 20 ms stay inside `make bench`'s budget.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    FAST,
    SandboxProcess,
    cli,
    quantile,
    seed,
    table,
    world,
)

NAME = "fleet"
MUTATING = ("Create", "Update", "Delete", "Add", "Put", "Register", "Deregister")
EDITS = 20
TRANSITION = 5.0
FAULTY_TIMEOUT = 60.0  # apply's --timeout under faults: keeps `make bench` within its budget


# -- the fleet ---------------------------------------------------------------------------------


def manifest(name: str, group: str, version: int) -> str:
    """Two instance variants of one registry version (the issue's fleet: 2 variants each)."""
    variants = "".join(
        f"    - name: {v}\n"
        f"      model: {{packageGroup: {group}, version: {version}}}\n"
        "      instanceType: ml.m5.xlarge\n"
        "      initialInstanceCount: 1\n"
        for v in ("blue", "green")
    )
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata:\n  name: {name}\n  labels: {{env: bench}}\n"
        "spec:\n  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution\n"
        f"  variants:\n{variants}"
    )


def write_fleet(root: Path, count: int) -> list[Path]:
    groups = max(1, count // 5)
    paths = []
    for i in range(count):
        path = root / f"ep-{i:04d}.yaml"
        path.write_text(manifest(f"ep-{i:04d}", f"grp-{i % groups}", 1))
        paths.append(path)
    return paths


def bump(path: Path, version: int) -> None:
    """Pin both variants to `version` (the edit a user makes)."""
    text = path.read_text()
    for old in (1, 2, 3):
        text = text.replace(f"version: {old}}}", f"version: {version}}}")
    path.write_text(text)


def set_faults(sandbox: SandboxProcess, **settings: Any) -> None:
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/faults",
        data=json.dumps(settings).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def total(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(n - before.get(op, 0) for op, n in after.items() if op != "rejected")


@contextmanager
def fleet(count: int, versions: int = 3) -> Iterator[tuple[SandboxProcess, Path, list[Path]]]:
    """A sandbox holding `count` endpoints in sync with `count` manifests (created by apply)."""
    with world(seed(max(1, count // 5), versions), prefix="bench-fleet-") as (sandbox, root):
        paths = write_fleet(root, count)
        code, _, _ = cli("apply", "-m", str(root), "--no-wait", "--calls-per-second", FAST)
        if code != 0:
            raise RuntimeError("creating the fleet failed")
        yield sandbox, root, paths


# -- who called what, in order -----------------------------------------------------------------


class Recorder:
    """Every AWS operation the controller starts (a botocore before-call hook on `Clients`),
    with the time and the endpoint being reconciled (structlog's bound context), in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        import structlog

        from controller.aws.clients import Clients

        original = Clients._before_call

        def record(clients: Clients, target: Any, model: Any, **kwargs: Any) -> None:
            endpoint = str(structlog.contextvars.get_contextvars().get("endpoint", ""))
            with self._lock:
                self.calls.append((time.perf_counter(), model.name, endpoint))
            original(clients, target, model, **kwargs)

        Clients._before_call = record  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            Clients._before_call = original  # type: ignore[method-assign]

    def before_first_mutation(self, since: int = 0, endpoint: str | None = None) -> int | None:
        """Calls started before the first mutating one (all of them, or one endpoint's)."""
        seen = 0
        for _, op, who in self.calls[since:]:
            if endpoint is not None and who != endpoint:
                continue
            if op.startswith(MUTATING):
                return seen
            seen += 1
        return None

    def first_mutation_at(self, since: int, endpoint: str) -> float | None:
        return next(
            (t for t, op, who in self.calls[since:] if who == endpoint and op.startswith(MUTATING)),
            None,
        )


# -- rows --------------------------------------------------------------------------------------


def row(measure: str, value: Any, target: str, met: bool | None) -> dict[str, Any]:
    return {"measure": measure, "value": value, "target": target, "met": met}


def resync_calls(sandbox: SandboxProcess, root: Path, n: int) -> list[dict[str, Any]]:
    """A no-op resync's calls (the second pass: the first describes everything), then drift made
    by hand (weights) is still found and corrected by the next pass."""
    from controller.aws.clients import AwsOptions, Clients
    from controller.reconcile.reconciling import Reconciler

    rec = Reconciler(Clients(AwsOptions()))
    snapshot = rec.load(root)
    keys = snapshot.keys()

    def one_pass() -> int:
        before = sandbox.calls()
        rec.begin_pass()
        for key in keys:
            rec.reconcile(snapshot, key)
        return total(before, sandbox.calls())

    one_pass()
    calls = one_pass()
    groups, pages = max(1, n // 5), math.ceil(sandbox.owned_resources() / 100)
    budget = math.ceil(n / 100) + groups + pages + 5
    import boto3

    boto3.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName="ep-0001",
        DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 0.5}],
    )
    before = sandbox.calls()
    one_pass()
    caught = sandbox.calls().get("UpdateEndpointWeightsAndCapacities", 0) > before.get(
        "UpdateEndpointWeightsAndCapacities", 0
    )
    return [
        row(
            f"calls, no-op resync in run, N={n} (drift caught: {caught})",
            calls,
            f"<= N/100 + G + pages + 5 = {budget}",
            calls <= budget and caught,
        )
    ]


def cold_plan_calls(sandbox: SandboxProcess, root: Path, n: int) -> list[dict[str, Any]]:
    before = sandbox.calls()
    cli("plan", "-m", str(root))
    calls = total(before, sandbox.calls())
    budget = n + max(1, n // 5) + math.ceil(sandbox.owned_resources() / 100) + 5
    return [
        row(
            f"calls, no-op plan cold, N={n}",
            calls,
            f"<= N + G + pages + 5 = {budget}",
            calls <= budget,
        )
    ]


def apply_first_mutation(root: Path, paths: list[Path], n: int) -> list[dict[str, Any]]:
    rows = []
    for label, index in (("first", 0), ("middle", n // 2), ("last", n - 1)):
        bump(paths[index], 2)
        with Recorder().installed() as recorder:
            cli("apply", "-m", str(root), "--no-wait")
        calls = recorder.before_first_mutation()
        rows.append(
            row(
                f"calls before 1st mutation, apply, 1 of {n} changed (file sorts {label})",
                calls,
                "<= 10",
                calls is not None and calls <= 10,
            )
        )
    return rows


def plan_wall(width: int) -> list[dict[str, Any]]:
    """No-op plan at 20 ms latency, default flags, against the baseline: a fleet of its own, so
    both read the same account (in the big fleet `plan` would also report the endpoints whose
    manifests are not in the subset)."""
    import boto3

    from benchmarks import baseline

    with fleet(width) as (sandbox, root, _):
        set_faults(sandbox, latency_ms=20)
        _, _, ours = cli("plan", "-m", str(root))
        started = time.perf_counter()
        verdicts = baseline.plan(boto3.client("sagemaker"), root)
        theirs = time.perf_counter() - started
    ratio = theirs / ours
    return [
        row(
            f"wall, no-op plan, {width} endpoints at 20 ms: ours {ours:.1f} s, "
            f"BASELINE {theirs:.1f} s ({sum(v == 'in sync' for v in verdicts.values())} in sync)",
            f"{ratio:.1f}x",
            ">= 20x faster",
            ratio >= 20,
        )
    ]


def run_edits(
    sandbox: SandboxProcess, root: Path, paths: list[Path], n: int
) -> list[dict[str, Any]]:
    """`run` in-process; EDITS edits, every other one just after a resync was requested."""
    from controller.cli import build_parser
    from controller.commands.run import build_runner
    from controller.logs import configure_logging
    from controller.service.runner import RunnerConfig

    args = build_parser().parse_args(["run", "-m", str(root), "--http-port", "0"])
    configure_logging(level="error", fmt="json")
    runner = build_runner(args, RunnerConfig(manifests=root, http_port=0))
    recorder = Recorder()
    latencies: list[float] = []
    counts: list[int] = []
    with recorder.installed():
        runner.start()
        try:
            if not runner.wait_ready(300.0):
                raise RuntimeError("run was not ready within 300 s")
            for e in range(EDITS):
                path = paths[(7 + 37 * e) % n]
                if e % 2:
                    runner.resume()  # requests a resync: this edit lands while it runs
                    time.sleep(0.3)
                mark, started = len(recorder.calls), time.perf_counter()
                bump(path, 3 if "version: 2}" in path.read_text() else 2)
                name = path.stem
                deadline = started + 30.0
                while time.perf_counter() < deadline:
                    at = recorder.first_mutation_at(mark, name)
                    if at is not None:
                        latencies.append(at - started)
                        counts.append(recorder.before_first_mutation(mark, name) or 0)
                        break
                    time.sleep(0.01)
                time.sleep(0.5)
        finally:
            runner.stop(timeout=10.0)
    p95 = quantile(latencies, 0.95) if latencies else None
    worst = max(counts) if counts else None
    return [
        row(
            f"calls before 1st mutation, run, N={n}, {len(counts)}/{EDITS} edits "
            "(half during a resync), worst edit",
            worst,
            "<= 10",
            worst is not None and worst <= 10 and len(counts) == EDITS,
        ),
        row(
            f"run edit -> first mutating call p95, N={n}, {len(latencies)} edits",
            None if p95 is None else f"{p95:.2f} s (max {max(latencies):.2f} s)",
            "< 1 s",
            p95 is not None and p95 < 1.0 and len(latencies) == EDITS,
        ),
    ]


def start_times(root: Path) -> list[dict[str, Any]]:
    """Fresh interpreters, best of three (the machine's other load only ever adds)."""

    def best(*argv: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "controller", *argv],
                capture_output=True,
                timeout=120,
                check=False,
            )
            times.append(time.perf_counter() - started)
        return min(times)

    many = best("validate", str(root))
    helped = best("--help")
    one = best("validate", str(sorted(root.glob("*.yaml"))[0]))
    count = len(list(root.glob("*.yaml")))
    return [
        row(f"validate {count} manifests", f"{many:.2f} s", "< 1.5 s", many < 1.5),
        row("--help", f"{helped:.2f} s", "< 0.4 s", helped < 0.4),
        row("validate one file", f"{one:.2f} s", "< 0.6 s", one < 0.6),
    ]


def peak_rss(sandbox: SandboxProcess, root: Path, n: int) -> list[dict[str, Any]]:
    from benchmarks.service_memory import ServiceProcess, wait_until

    service = ServiceProcess(root, "default", sandbox.env(), resync=300.0)
    try:
        if wait_until(service.ready, 300.0) is None:
            raise RuntimeError("run was not ready within 300 s")
        time.sleep(1.0)
        peak = service.memory().get("VmHWM", 0) / 1024
    finally:
        service.stop()
    return [row(f"peak RSS of run, N={n}", f"{peak:.0f} MB", "< 150 MB", peak < 150)]


def rollout(count: int) -> list[dict[str, Any]]:
    with fleet(count) as (sandbox, root, paths):
        set_faults(sandbox, transition_seconds=TRANSITION)
        for path in paths:
            bump(path, 2)
        _, _, wall = cli("apply", "-m", str(root))
    ratio = wall / TRANSITION
    return [
        row(
            f"rollout of a version bump to {count} endpoints, {TRANSITION:g} s transition",
            f"{wall:.1f} s = {ratio:.1f} transitions",
            "< 3 transitions",
            ratio < 3,
        )
    ]


def faulty_apply(count: int) -> list[dict[str, Any]]:
    walls = {}
    for label, faults in (("clean", {}), ("faulty", {"throttle_rate": 0.3, "error_rate": 0.05})):
        with world(seed(max(1, count // 5), 2), prefix="bench-faults-") as (sandbox, root):
            write_fleet(root, count)
            set_faults(sandbox, **faults)
            started = time.perf_counter()
            try:
                cli("apply", "-m", str(root), "--timeout", f"{FAULTY_TIMEOUT:g}")
            except RuntimeError:  # exit 1: --timeout reached before every endpoint converged
                walls[label] = math.inf
            else:
                walls[label] = time.perf_counter() - started
    ratio = walls["faulty"] / walls["clean"]
    return [
        row(
            f"apply of {count} endpoints, 30% throttling + 5% 5xx vs none "
            f"({walls['faulty']:.1f} s vs {walls['clean']:.1f} s)",
            f"{ratio:.1f}x",
            "< 5x",
            ratio < 5,
        )
    ]


def throttled_edit(count: int) -> list[dict[str, Any]]:
    from benchmarks.service_latency import wait_for
    from controller.cli import build_parser
    from controller.commands.run import build_runner
    from controller.service.runner import RunnerConfig

    with fleet(count) as (sandbox, root, paths):
        args = build_parser().parse_args(["run", "-m", str(root), "--http-port", "0"])
        runner = build_runner(args, RunnerConfig(manifests=root, http_port=0))
        runner.start()
        try:
            if not runner.wait_ready(300.0):
                raise RuntimeError("run was not ready within 300 s")
            set_faults(sandbox, throttle_rate=0.2)
            before = sandbox.calls().get("UpdateEndpoint", 0)
            started = time.perf_counter()
            bump(paths[count // 2], 2)
            seen, _ = wait_for(sandbox, lambda c: c.get("UpdateEndpoint", 0) > before, 60.0)
        finally:
            runner.stop(timeout=10.0)
    took = None if seen is None else seen - started
    return [
        row(
            f"run, {count} endpoints, 20% throttling: edit -> applied (UpdateEndpoint)",
            "not within 60 s" if took is None else f"{took:.1f} s",
            "< 30 s",
            took is not None and took < 30,
        )
    ]


# -- the run -----------------------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    n, width = (100, 50) if quick else (1000, 100)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with fleet(n) as (sandbox, root, paths):
        print(f"fleet of {n} created in {time.perf_counter() - started:.1f} s", flush=True)
        for step in (
            lambda: resync_calls(sandbox, root, n),
            lambda: cold_plan_calls(sandbox, root, n),
            lambda: start_times(root),
            lambda: peak_rss(sandbox, root, n),
            lambda: apply_first_mutation(root, paths, n),
            lambda: run_edits(sandbox, root, paths, n),
        ):
            rows += _step(step)
    rows += _step(lambda: plan_wall(width))
    rows += _step(lambda: rollout(20 if quick else 100))
    rows += _step(lambda: faulty_apply(20 if quick else 50))
    rows += _step(lambda: throttled_edit(50 if quick else 200))
    report(rows, quick)
    return {"endpoints": n, "rows": rows}


def _step(step: Any) -> list[dict[str, Any]]:
    started = time.perf_counter()
    try:
        rows: list[dict[str, Any]] = step()
    except Exception as e:  # one broken row must not hide the others
        rows = [row(f"(failed: {type(e).__name__}: {e})", None, "-", False)]
    for r in rows:
        print(f"  {r['measure']}: {r['value']} [{time.perf_counter() - started:.1f} s]", flush=True)
    return rows


def report(rows: list[dict[str, Any]], quick: bool) -> None:
    verdict = {True: "met", False: "MISSED", None: "-"}
    print(f"\nfleet targets{' (quick sizes)' if quick else ''}:")
    print(
        table(
            ["measure", "value", "target", ""],
            [[r["measure"], r["value"], r["target"], verdict[r["met"]]] for r in rows],
        )
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
