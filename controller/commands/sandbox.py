"""`sandbox`: a local SageMaker on loopback for demos and tests (needs the [sandbox] extra)."""

from __future__ import annotations

import argparse
from typing import Any

from controller.errors import ControllerError
from controller.sandbox import cli as sandbox_cli


def register(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="serve a local SageMaker API (moto) on 127.0.0.1")
    sandbox_cli.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import moto  # noqa: F401  (only to give a clear message when the extra is missing)
    except ImportError as e:
        raise ControllerError(
            "the sandbox needs its extra: pip install 'sagemaker-gitops[sandbox]'"
        ) from e
    return sandbox_cli.run(args)
