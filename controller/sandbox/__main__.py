"""`python -m controller.sandbox`: the sandbox on its own, with the same flags as the CLI."""

from __future__ import annotations

import argparse
import sys

from controller.sandbox.cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m controller.sandbox", description="Local SageMaker for demos and tests."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
