"""`plan`: a read-only dry run (Describe/List/Get only, enforced by a botocore hook)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from controller.commands import argtypes
from controller.commands.common import (
    add_manifest_arguments,
    add_prune_arguments,
    load,
    print_prune_notes,
    reconciler,
)

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def register(sub: Any) -> None:
    parser = sub.add_parser("plan", help="show what apply would change (read-only)")
    add_manifest_arguments(parser)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes (held-back deletes included), 0 when none, 1 on errors",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="plan deletion of owned endpoints whose manifests are gone",
    )
    parser.add_argument(
        "--policy", default=None, metavar="FILE", help="policy file; violations are errors (exit 1)"
    )
    parser.add_argument(
        "--changed-since",
        default=None,
        metavar="REV",
        help="git revision the pull request is compared with (default: HEAD's first parent, "
        "the base of a CI merge commit); a change of .sagemaker-gitops.yaml since it is called "
        "out at the top of the plan as high risk",
    )
    parser.add_argument(
        "--full-describe",
        action="store_true",
        help="describe every endpoint; by default an endpoint whose listing shows the time it "
        "was last seen in sync (its sagemaker-gitops/observed tag) is not described",
    )
    parser.add_argument(
        "--max-chars",
        type=argtypes.max_chars,
        default=65000,
        help="markdown size limit (GitHub comments hold 65,536 characters)",
    )
    add_prune_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.commands.changed_files import config_changes
    from controller.rendering import render
    from controller.rendering.text import should_color

    # Before any AWS call: a --changed-since git does not know is a usage error.
    changes = config_changes(args.manifests, args.changed_since)
    rec = reconciler(args, read_only=True, prune=args.prune, trust_stamps=not args.full_describe)
    snapshot = load(rec, args)
    plan = rec.plan(snapshot)
    if changes:
        from dataclasses import replace

        plan = replace(plan, config_changes=tuple(changes))
    if args.prune:  # on stderr: stdout stays the plan (JSON or a PR comment)
        print_prune_notes(rec, snapshot)
    if args.policy:
        from pathlib import Path

        from controller.core.plan.policy import apply_policy, load_policy

        manifests = [e.manifest for e in snapshot.entries.values()]
        plan = apply_policy(plan, load_policy(Path(args.policy)), manifests)
    visible = snapshot.config.plan.non_sensitive_environment_keys
    if args.format == "markdown":
        from controller.rendering.markdown import render_markdown

        text = render_markdown(plan, max_chars=args.max_chars, visible_environment=visible)
    else:
        text = render(
            plan, args.format, color=should_color(sys.stdout), visible_environment=visible
        )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if plan.has_errors:
        return EXIT_ERROR
    if args.detailed_exitcode and plan.is_pending:  # held-back deletes are pending changes
        return EXIT_CHANGES
    return EXIT_NO_CHANGES
