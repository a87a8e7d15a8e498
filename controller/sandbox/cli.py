"""`sagemaker-gitops sandbox` (and `python -m controller.sandbox`): run the sandbox until stopped.

The lead's CLI calls `add_arguments` to declare the flags and `run` to serve; `run` prints the
URL line that scripts and tests wait for, then blocks until SIGINT or SIGTERM and exits 0. Bad
input (seed file, fault values, busy port) is one line on stderr and exit code 1, no traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from controller.sandbox.errors import SandboxError
from controller.sandbox.faults import Faults


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
        "--latency-ms", type=int, default=0, metavar="N", help="added latency per request"
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests throttled (0..1)",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests answered 5xx (0..1)",
    )
    parser.add_argument(
        "--region", default="us-east-1", help="default region (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 1 when the sandbox cannot start."""
    from controller.sandbox.server import Sandbox

    try:
        faults = Faults(
            latency_ms=args.latency_ms, throttle_rate=args.throttle_rate, error_rate=args.error_rate
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
    except (SandboxError, ValueError, OSError, OverflowError) as error:
        print(f"sandbox: error: {error}", file=sys.stderr)
        return 1
    try:
        print(f"sandbox listening on {sandbox.url}", flush=True)
        stop.wait()
    finally:
        sandbox.stop()
    return 0


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT/SIGTERM, so the main thread can shut the server down cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return stop
