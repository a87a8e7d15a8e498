"""`demo`: plan, apply, change a version, plan and apply again, then inference components, then
a version walking staging -> prod behind a metrics gate, all against a local sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from controller.commands import argtypes


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="run the GitOps loop against a local sandbox")
    parser.add_argument("-m", "--manifests", type=Path, default=Path("manifests/endpoints"))
    parser.add_argument("--seed", type=Path, default=Path("manifests/seed.yaml"))
    parser.add_argument(
        "--components",
        type=Path,
        default=Path("manifests/examples/llm-shared-gpu.yaml"),
        help="inference-component manifest the demo applies after the endpoints",
    )
    parser.add_argument(
        "--stages",
        type=Path,
        default=Path("manifests/examples/stages"),
        help="pipeline example the demo walks a version through (staging, then prod)",
    )
    parser.add_argument(
        "--transition-seconds",
        type=argtypes.non_negative_seconds,
        default=2.0,
        help="how long sandbox endpoints take to change state",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.cli import main
    from controller.commands.demo.flow import run_demo

    return run_demo(
        args.manifests,
        args.seed,
        args.components,
        args.stages,
        transition_seconds=args.transition_seconds,
        cli=lambda argv: main(["--log-level", args.log_level, *argv]),
    )
