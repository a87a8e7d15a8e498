"""`sagemaker-gitops validate PATH...`: schema and cross-manifest checks, no AWS calls.

Meant for pre-commit hooks and CI: it prints every problem in every file in one run (as
``error: file:line: path: message``) and exits 0 when all manifests are valid, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `validate` subcommand to the CLI parser (called by `controller.cli`)."""
    parser = sub.add_parser(
        "validate",
        help="check manifests offline (schema and semantic checks, no AWS calls)",
        description=(
            "Load every *.yaml/*.yml manifest under PATH (files or directories) and report "
            "every problem with file, line and field path. Exit 0 if valid, 1 if not."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="manifest file or directory")
    parser.add_argument(
        "--require-projects",
        action="store_true",
        help="fail when .sagemaker-gitops.yaml declares no projects (docs/projects.md)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Report every problem and return the exit code; load_manifests never raises for input."""
    from controller.manifests.loading import load_manifests  # pydantic: not for `--help`
    from controller.manifests.projects import policy

    result = load_manifests(args.paths)
    for diagnostic in result.diagnostics:
        print(f"error: {diagnostic}", file=sys.stderr)
    if not result.ok:
        files = len({d.file for d in result.diagnostics})
        print(f"{len(result.diagnostics)} error(s) in {files} file(s)", file=sys.stderr)
        return 1
    if not result.files:
        # Not an error: an empty manifest directory legitimately means "no endpoints".
        print(
            f"warning: no manifest files (*.yaml, *.yml) found in {' '.join(args.paths)}",
            file=sys.stderr,
        )
    if result.repo_config.config.projects is None:  # once, after every real problem
        if args.require_projects:
            print(f"error: {policy.NO_PROJECTS}", file=sys.stderr)
            return 1
        print(f"warning: {policy.NO_PROJECTS}", file=sys.stderr)
    print(f"{len(result.manifests)} manifest(s) valid")
    return 0
