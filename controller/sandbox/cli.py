"""`sagemaker-gitops sandbox` (and `python -m controller.sandbox`): run the sandbox until stopped.

The lead's CLI calls `add_arguments` to declare the flags and `run` to serve; `run` prints the
URL line that scripts and tests wait for and an `export ...` line with the environment a client
needs (both flushed at once, so a pipe or a log sees them), then blocks until SIGINT or SIGTERM
and exits 0. Bad
input (seed file, fault values, busy port) is one line on stderr and exit code 1, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from controller.sandbox.errors import SandboxError
from controller.sandbox.instrument.faults import Faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the sandbox flags on a (sub)parser."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=5005, help="port, 0 = any free (default: %(default)s)"
    )
    parser.add_argument("--seed", type=Path, metavar="FILE", help="Model Registry seed (YAML)")
    parser.add_argument(
        "--transition-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="time endpoints spend Creating/Updating/Deleting (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-time-scale",
        type=float,
        default=1.0,
        metavar="K",
        help="synthesised CloudWatch traffic runs K times faster than the clock, so a short "
        "analysis sees minutes of invocations (default: %(default)s)",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        metavar="N",
        help="added latency per request (default: %(default)s)",
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests throttled, 0..1 (default: %(default)s)",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests answered 5xx, 0..1 (default: %(default)s)",
    )
    parser.add_argument(
        "--after-commit-error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of successful writes answered 5xx although they took effect, 0..1 "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--after-commit-drop-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of successful writes whose connection is dropped after they took "
        "effect, 0..1 (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="R",
        help="calls per second per account before AWS-style throttling, 0 = none "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the fault draws (default: %(default)s)",
    )
    parser.add_argument(
        "--region", default="us-east-1", help="default region (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, then end the process with 0; 1 when it cannot start."""
    from controller.sandbox.server import Sandbox

    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            throttle_rate=args.throttle_rate,
            error_rate=args.error_rate,
            after_commit_error_rate=args.after_commit_error_rate,
            after_commit_drop_rate=args.after_commit_drop_rate,
            rate_limit=args.rate_limit,
            seed=args.fault_seed,
        )
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            seed=args.seed,
            faults=faults,
            transition_seconds=args.transition_seconds,
            region=args.region,
        )
        stop = _stop_on_signals()
        sandbox.start()
        sandbox.set_traffic({"timeScale": args.metrics_time_scale})
    except (SandboxError, ValueError, OSError, OverflowError) as error:
        print(f"sandbox: error: {error}", file=sys.stderr)
        return 1
    try:
        print(f"sandbox listening on {sandbox.url}", flush=True)
        print(export_line(sandbox.env()), flush=True)
        stop.wait()
    finally:
        sandbox.stop()
    _exit_now()


def _exit_now() -> NoReturn:
    """End the process at once, exit code 0, once the server is closed and output flushed.

    Stopping the server takes milliseconds, but the interpreter's normal teardown of moto's
    large module graph took 0.5 to 2 s more after SIGTERM. The sandbox keeps nothing that needs
    finalising (all state is in memory and goes away anyway), so there is nothing to lose.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def export_line(env: dict[str, str]) -> str:
    """`export K=V ...` for a shell, so a newcomer can paste it (values quoted for sh)."""
    return "export " + " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT/SIGTERM, so the main thread can shut the server down cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return stop
