"""`status`: per endpoint, is it in sync, how healthy, at which revision, and the last error.

The exit code makes it a CI or monitoring check: 0 every endpoint is in sync and healthy (or
suspended on purpose), 1 an error (a manifest that does not load, an endpoint that cannot be
planned or applied: unknown version, failed rollout, Failed endpoint, unreadable state), 3 no
error but not settled (out of sync, orphaned, progressing, degraded, missing). 2 stays argparse's
usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from controller.commands.common import (
    add_manifest_arguments,
    add_prune_arguments,
    load,
    reconciler,
)
from controller.core.plan.plans import EndpointPlan, Health, Plan, Status
from controller.rendering.common import copies_text
from controller.rendering.jsonplan import ComponentDoc, component_doc
from controller.service.status.conditions import conditions

if TYPE_CHECKING:  # loaded when the command runs: `--help` should not import botocore
    from controller.promotion.stageview import StagePin

EXIT_OK, EXIT_ERROR, EXIT_UNSETTLED = 0, 1, 3
SETTLED_SYNC = ("Synced", "Suspended")


def register(sub: Any) -> None:
    parser = sub.add_parser("status", help="per endpoint: synced?, health, revision, last error")
    add_manifest_arguments(parser)
    parser.add_argument(
        "--output",
        "--format",
        dest="format",
        choices=("table", "json"),
        default="table",
        help="json includes kstatus conditions (Ready/Reconciling/Stalled) per endpoint",
    )
    add_prune_arguments(parser)  # the guards decide which removed endpoints show as HeldBack
    parser.set_defaults(func=run)


def rows(plan: Plan) -> list[dict[str, Any]]:
    return [_row(e, plan.account) for e in plan.endpoints]


def _row(e: EndpointPlan, ambient: str | None) -> dict[str, Any]:
    """One endpoint's row; `ambient` is the ambient credentials' account, where endpoints
    without a target live (a target's endpoints carry their target's accountId)."""
    if e.status is Status.ERROR:
        sync = "Error"
    elif e.manifest is None and e.held:
        sync = "HeldBack"  # a prune guard keeps this removed endpoint; `error` says why
    elif e.manifest is None:
        sync = "Orphaned"
    elif e.held and "suspend" in e.held:
        sync = "Suspended"
    else:
        sync = "Synced" if not e.actions and not e.deferred else "OutOfSync"
    error = e.errors[0] if e.errors else (e.held or "" if e.manifest is None else "")
    reason = e.error_reason or sync  # Orphaned and HeldBack rows carry their sync as reason
    row: dict[str, Any] = {
        "endpoint": e.name,
        "target": e.target or "",
        "account": (e.account if e.target else ambient) or "",
        "region": e.region,
        "sync": sync,
        "health": e.health.value,
        "revision": (e.revision or "")[:12],
        "manifest": e.manifest or "",
        "error": error,
        "conditions": conditions(sync, e.health.value, reason, error or e.held or "", e.revision),
    }
    if e.project is not None:  # only with `projects:` in .sagemaker-gitops.yaml
        row["project"] = e.project
    if e.components:
        row["components"] = [component_doc(c) for c in e.components]
    return row


def _component_line(c: ComponentDoc) -> str:
    line = f"  component {c['name']}: {c['plan']}, {c['status']}, {copies_text(c)}"
    return line + (f" ({c['message']})" if c["message"] else "")


def exit_code(table: list[dict[str, Any]], load_errors: int) -> int:
    """EXIT_ERROR over EXIT_UNSETTLED over EXIT_OK; see the module docstring."""
    if load_errors or any(r["sync"] == "Error" for r in table):
        return EXIT_ERROR
    unsettled = [
        r for r in table if r["sync"] not in SETTLED_SYNC or r["health"] != Health.HEALTHY.value
    ]
    return EXIT_UNSETTLED if unsettled else EXIT_OK


def run(args: argparse.Namespace) -> int:
    # prune=True only to learn which removed endpoints a guard would hold back: read-only.
    rec = reconciler(args, read_only=True, prune=True)
    snapshot = load(rec, args)
    plan = rec.plan(snapshot)
    table = rows(plan)
    pins = _pipelines(rec, snapshot)
    if args.format == "json":
        document: dict[str, Any] = {"endpoints": table}
        if pins:
            document["pipelines"] = [pin.as_json() for pin in pins]
        print(json.dumps(document, indent=2))
        return exit_code(table, len(plan.errors))
    headers = ["endpoint", "region", "sync", "health", "revision", "error"]
    if any(r["target"] for r in table):  # grouped by target: the same name may be in two
        headers.insert(1, "target")
        table.sort(key=lambda r: (r["target"], r["endpoint"]))
    widths = {h: max([len(h)] + [len(str(r[h])) for r in table]) for h in headers[:-1]}
    print("  ".join(h.upper().ljust(widths.get(h, 0)) for h in headers).rstrip())
    for r in table:
        print("  ".join(str(r[h]).ljust(widths.get(h, 0)) for h in headers).rstrip())
        for component in r.get("components", []):
            print(_component_line(component))
    if pins:
        _print_pipelines(pins)
    for diagnostic in plan.errors:
        print(f"error: {diagnostic}", file=sys.stderr)
    return exit_code(table, len(plan.errors))


def _pipelines(rec: Any, snapshot: Any) -> list[StagePin]:
    """Each pipeline stage's pinned version and its recorded verdict (no pipelines: none)."""
    from controller.core.locations import location_of
    from controller.promotion import stageview

    if not snapshot.pipelines:
        return []
    region = rec.clients.default_region
    pins = stageview.stage_pins(
        snapshot.pipelines,
        list(snapshot.entries.values()),
        lambda e: location_of(e.manifest, lambda: region),
    )
    return stageview.with_verdicts(pins, rec.clients.sagemaker)


def _print_pipelines(pins: list[StagePin]) -> None:
    headers = ["pipeline", "stage", "group", "version", "verdict"]
    cells = [
        [p.pipeline, p.stage, p.group, "/".join(f"v{v}" for v in p.versions), p.verdict]
        for p in pins
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers[:-1])]
    print()
    print(
        "  ".join(h.upper().ljust(w) for h, w in zip(headers, [*widths, 0], strict=True)).rstrip()
    )
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, [*widths, 0], strict=True)).rstrip())
