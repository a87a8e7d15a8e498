"""`sandbox`: a local SageMaker on loopback for demos and tests (needs the [sandbox] extra)."""

from __future__ import annotations

import argparse
from typing import Any

from controller.sandbox import cli as sandbox_cli


def register(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="serve a local SageMaker API (moto) on 127.0.0.1")
    sandbox_cli.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return sandbox_cli.run(args)
