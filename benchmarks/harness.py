"""Shared pieces of the benchmarks: a sandbox in its own process, fleets of manifests, the CLI.

The sandbox runs as a subprocess (`python -m controller.sandbox --port 0`) so its CPU and memory
never mix with the controller's being measured; call counts come from its `/_sandbox/calls`
route. The CLI runs in-process (`controller.cli.main`) with the sandbox's endpoint and dummy
credentials in the environment, exactly as a user would set them.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import yaml

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"
START_TIMEOUT = 30.0  # seconds a subprocess gets to print its first line
FAST = "1000"  # --calls-per-second that takes the client-side limit out of a measurement
CAPPED_RATE = 10.0  # the former default --calls-per-second (now: no fixed cap)
RATE_BURST = 5  # the token bucket's burst (controller.aws.clients.Clients)


# -- fleets of manifests ---------------------------------------------------------------------------


def seed(groups: int, versions: int = 2) -> dict[str, Any]:
    """A registry seed: `groups` groups `grp-<g>` with `versions` Approved versions each."""
    return {
        "modelPackageGroups": [
            {
                "name": f"grp-{g}",
                "versions": [
                    {
                        "image": IMAGE,
                        "modelDataUrl": f"s3://models/grp-{g}/{v}/model.tar.gz",
                        "approval": "Approved",
                    }
                    for v in range(1, versions + 1)
                ],
            }
            for g in range(groups)
        ]
    }


def endpoint_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:04d}"


def manifest(name: str, group: str, version: int) -> str:
    """One single-variant registry endpoint: one Model, one EndpointConfig, one Endpoint."""
    return (
        "apiVersion: sagemaker-gitops/v1\n"
        "kind: Endpoint\n"
        "metadata:\n"
        f"  name: {name}\n"
        "  labels: {env: bench}\n"
        "spec:\n"
        f"  executionRoleArn: {ROLE}\n"
        "  variants:\n"
        "    - name: primary\n"
        f"      model: {{packageGroup: {group}, version: {version}}}\n"
        "      instanceType: ml.m5.xlarge\n"
        "      initialInstanceCount: 1\n"
    )


def write_fleet(root: Path, count: int, groups: int, prefix: str = "ep") -> list[Path]:
    """`count` manifests in `root`, endpoint i using group i % groups at version 1."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        name = endpoint_name(prefix, i)
        path = root / f"{name}.yaml"
        path.write_text(manifest(name, f"grp-{i % groups}", 1))
        paths.append(path)
    return paths


def set_version(path: Path, version: int) -> None:
    """Rewrite one fleet manifest to another registry version (the edit a user would make)."""
    text = path.read_text()
    start = text.index("version: ") + len("version: ")
    end = text.index("}", start)
    path.write_text(text[:start] + str(version) + text[end:])


# -- the sandbox in its own process ----------------------------------------------------------------


def _first_line(stream: IO[str], timeout: float) -> str:
    """The first line a child prints, or TimeoutError: never block forever on a stuck child."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"no output within {timeout:.0f}s") from None


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class SandboxProcess:
    """`python -m controller.sandbox --port 0` with a seed; stopped (and reaped) on exit."""

    def __init__(self, registry: Mapping[str, Any], latency_ms: int = 0) -> None:
        self._registry = registry
        self._latency_ms = latency_ms
        self._proc: subprocess.Popen[str] | None = None
        self._seed_dir: tempfile.TemporaryDirectory[str] | None = None
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        self._seed_dir = tempfile.TemporaryDirectory(prefix="bench-seed-")
        seed_file = Path(self._seed_dir.name) / "seed.yaml"
        seed_file.write_text(yaml.safe_dump(dict(self._registry)))
        argv = [sys.executable, "-m", "controller.sandbox", "--port", "0"]
        argv += ["--seed", str(seed_file), "--latency-ms", str(self._latency_ms)]
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert self._proc.stdout is not None
            line = _first_line(self._proc.stdout, START_TIMEOUT)
            if "listening on" not in line:
                raise RuntimeError(f"sandbox did not start: {line.strip()!r}")
            self.url = line.split()[-1]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._seed_dir is not None:
            self._seed_dir.cleanup()
            self._seed_dir = None

    def calls(self) -> dict[str, int]:
        counts: dict[str, int] = get_json(f"{self.url}/_sandbox/calls")["calls"]
        return counts

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def owned_resources(self, controller_id: str = "default") -> int:
        """How many resources carry the controller's managed-by tag (for the tagging budget)."""
        import boto3

        tagging = boto3.client(
            "resourcegroupstaggingapi",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pages = tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "sagemaker-gitops/managed-by", "Values": [controller_id]}],
            ResourcesPerPage=100,
        )
        return sum(len(page["ResourceTagMappingList"]) for page in pages)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a child process to bind (a benchmark's `run`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int | None:
    """SIGTERM, wait (bounded), then SIGKILL: one child, by its own handle."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


@contextlib.contextmanager
def aws_env(env: Mapping[str, str]) -> Iterator[None]:
    """Point this process's AWS configuration chain at the sandbox; restore it afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(saved)


@contextlib.contextmanager
def world(
    registry: Mapping[str, Any], latency_ms: int = 0, prefix: str = "bench-"
) -> Iterator[tuple[SandboxProcess, Path]]:
    """A fresh sandbox, the environment pointing at it, and an empty manifest directory."""
    with (
        SandboxProcess(registry, latency_ms) as sandbox,
        aws_env(sandbox.env()),
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
    ):
        yield sandbox, Path(tmp)


# -- the CLI, in-process ---------------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str, float]:
    """Run `sagemaker-gitops ARGV` in-process: (exit code, stdout, wall seconds)."""
    from controller.cli import main

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    elapsed = time.perf_counter() - started
    if code not in (0, 2):
        raise RuntimeError(f"sagemaker-gitops {' '.join(argv)} exited {code}: {err.getvalue()}")
    return code, out.getvalue(), elapsed


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Operations served between two snapshots of `/_sandbox/calls`."""
    return {op: n - before.get(op, 0) for op, n in sorted(after.items()) if n - before.get(op, 0)}


def mutating(counts: Mapping[str, int], ops: Sequence[str]) -> int:
    """How many of `ops` the sandbox served, all together."""
    return sum(counts.get(op, 0) for op in ops)


def pages(items: int, per_page: int = 100) -> int:
    return max(1, math.ceil(items / per_page))


# -- memory ----------------------------------------------------------------------------------------


def proc_memory_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) from /proc, in KiB; empty where /proc is missing."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def mib(kb: float) -> float:
    return kb / 1024.0


# -- reporting -------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table; the first column is left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [row[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-" if value is None else str(value)


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def service_unavailable() -> str | None:
    """Why the `run` service cannot be benchmarked yet, or None when it imports cleanly."""
    try:
        from controller.commands import run as run_command
        from controller.service import runner
    except Exception as e:  # another engineer may be mid-change: report, never crash the run
        return f"controller.service.runner / controller.commands.run do not import: {e!r}"
    missing = [
        what
        for what, ok in (
            ("Runner.start", hasattr(getattr(runner, "Runner", None), "start")),
            ("Runner.stop", hasattr(getattr(runner, "Runner", None), "stop")),
            ("RunnerConfig", hasattr(runner, "RunnerConfig")),
            ("build_runner", hasattr(run_command, "build_runner")),
        )
        if not ok
    ]
    return f"the service lacks {', '.join(missing)}" if missing else None
