"""`apply`: converge the account to the manifests once (optionally waiting for InService)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from controller.commands import argtypes, changed_files
from controller.commands.common import (
    add_manifest_arguments,
    add_prune_arguments,
    load,
    print_prune_notes,
    reconciler,
)
from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.reconcile.converging import (
    FIRST_POLL,
    changed_first,
    converge,
    display_name,
    keys_to_reconcile,
)

# 2 stays argparse's usage error; 3 matches `status`'s "not settled".
EXIT_OK, EXIT_ERROR, EXIT_HELD_BACK = 0, 1, 3

if TYPE_CHECKING:  # the reconciler pulls in boto3 and the manifest models: not for `--help`
    from controller.reconcile.reconciling import Reconciler


def register(sub: Any) -> None:
    parser = sub.add_parser("apply", help="create/update/delete SageMaker resources to match")
    add_manifest_arguments(parser, timeout=3600.0)
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete owned endpoints whose manifests are gone (never when any "
        "manifest fails to load); exit 3 when a guard holds deletes back",
    )
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait until every endpoint is InService on its new config "
        "(default) or return after issuing the calls",
    )
    parser.add_argument(
        "--poll-interval",
        type=argtypes.positive_seconds,
        default=15.0,
        metavar="SECONDS",
        help=f"longest wait between status checks while waiting: the first check comes "
        f"after {FIRST_POLL:g}s and the wait doubles up to this",
    )
    parser.add_argument(
        "--concurrency",
        type=argtypes.concurrency,
        default=8,
        help="endpoints reconciled at once",
    )
    parser.add_argument(
        "--recreate-failed",
        action="store_true",
        help="delete and recreate endpoints in the Failed state",
    )
    parser.add_argument(
        "--changed-since",
        default=None,
        metavar="REV",
        help="git revision last deployed (e.g. GitHub's github.event.before): the endpoints "
        "of manifests changed since it are reconciled first (default: those HEAD changed "
        "against its first parent, plus uncommitted ones); an ordering hint, every endpoint "
        "is still reconciled",
    )
    add_prune_arguments(parser)
    parser.add_argument(
        "--keep-history",
        type=argtypes.integer(at_least=0, at_most=4),
        default=2,
        metavar="K",
        help=(
            "earlier live configs kept per endpoint (and Models per inference component) for "
            "rollback, 0-4 (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--gc-min-age",
        type=argtypes.non_negative_seconds,
        default=60.0,
        metavar="SECONDS",
        help="never garbage-collect a config or model younger than this: another apply may be "
        "about to deploy it (default: %(default)g)",
    )
    parser.add_argument(
        "--lease-table",
        default=None,
        metavar="TABLE",
        help="DynamoDB table for a lock per scope: a second apply of the same scope fails "
        "at once instead of running alongside",
    )
    parser.add_argument(
        "--lock-duration",
        type=argtypes.positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long the lock outlives a process that died holding it (default: %(default)g)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.aws.retrying import MAX_ATTEMPTS  # botocore: not for `--help`

    # Before any AWS call: a --changed-since git does not know is a usage error.
    changed = changed_files.changed_paths(args.manifests, args.changed_since)
    rec = reconciler(
        args,
        read_only=False,
        prune=args.prune,
        recreate_failed=args.recreate_failed,
        change_attempts=MAX_ATTEMPTS,
        requeue_seconds=args.poll_interval,
        keep_history=args.keep_history,
        gc_min_age=args.gc_min_age,
        # --no-wait ends before a change settles: no observed stamp is left pending for the
        # next apply to write (it would be a write in an apply with nothing to change).
        stamp_observed=args.wait,
    )
    if not args.lease_table:
        return _apply(rec, args, changed)
    from controller.commands.locking import scope_lock

    dynamodb = rec.clients.client("dynamodb")
    with scope_lock(dynamodb, args.lease_table, str(rec.options.scope), args.lock_duration):
        return _apply(rec, args, changed)


def _apply(rec: Reconciler, args: argparse.Namespace, changed: frozenset[str]) -> int:
    snapshot = load(rec, args)
    for diagnostic in snapshot.diagnostics:
        print(f"error: {diagnostic}", file=sys.stderr)
    if snapshot.diagnostics and args.prune:
        print(
            "note: --prune skipped: some manifests failed to load, so nothing is deleted",
            file=sys.stderr,
        )
    if args.prune:
        print_prune_notes(rec, snapshot)
    keys = keys_to_reconcile(rec, snapshot, args.prune)
    tty = sys.stderr.isatty()
    result = converge(
        rec,
        snapshot,
        keys,
        wait=args.wait,
        deadline=rec.clients.deadline,
        poll=args.poll_interval,
        progress=_progress if tty else None,
        concurrency=args.concurrency,
        # Per location: the endpoints of changed files first (git knows them without a call),
        # then those the index sweep shows changed, page by page; then the rest.
        first=changed_first(
            rec, snapshot, changed_files.hinted_keys(snapshot, changed), args.concurrency
        ),
    )
    if tty:
        print(file=sys.stderr)
    for key in keys:
        _report(
            display_name(key, snapshot.targets), result.outcomes[key], result.changes.get(key, [])
        )
    if result.timed_out:
        changing = ", ".join(result.still_changing) or "none"
        print(
            f"error: timed out after {args.timeout:g}s (--timeout); still changing: {changing}",
            file=sys.stderr,
        )
    failed = [o for o in result.outcomes.values() if _is_failure(o, args.wait)]
    if failed or snapshot.diagnostics or result.timed_out:
        return EXIT_ERROR
    held = [o for o in result.outcomes.values() if o.reason == "HeldBack"]
    if held:  # the account still differs from git: CI must not go green on it
        print(
            f"error: {len(held)} delete(s) held back by a prune guard: the account "
            f"does not match the manifests (exit {EXIT_HELD_BACK})",
            file=sys.stderr,
        )
        return EXIT_HELD_BACK
    return EXIT_OK


def _is_failure(outcome: Outcome, wait: bool) -> bool:
    if outcome.kind is OutcomeKind.TERMINAL:
        return True
    return wait and outcome.kind is not OutcomeKind.CONVERGED


def _report(name: str, outcome: Outcome, changes: list[tuple[str, str, str]]) -> None:
    plan = outcome.plan
    if outcome.kind is OutcomeKind.TERMINAL:
        print(f"{name}: error: {outcome.message}", file=sys.stderr)
        return
    if outcome.kind is OutcomeKind.TRANSIENT:
        print(f"{name}: not converged: {outcome.message}", file=sys.stderr)
        return
    state = "converged" if outcome.kind is OutcomeKind.CONVERGED else "in progress"
    if plan is not None and plan.held and outcome.reason == "Suspended":
        state = f"skipped ({plan.held})"
    if plan is not None and plan.held and outcome.reason == "HeldBack":
        state = f"delete held back ({plan.held})"
    done = "; ".join(f"{result} {kind} {resource}" for kind, resource, result in changes)
    print(f"{name}: {state}" + (f" ({done})" if done else ""))


def _progress(outcomes: dict[str, Outcome], elapsed: float) -> None:
    waiting = sum(1 for o in outcomes.values() if o.kind is OutcomeKind.REQUEUE)
    done = sum(1 for o in outcomes.values() if o.kind is OutcomeKind.CONVERGED)
    line = f"\r[{elapsed:5.0f}s] {done}/{len(outcomes)} converged, {waiting} in progress"
    sys.stderr.write(line)
    sys.stderr.flush()
