"""Wording and helpers shared by the text and markdown renderers.

Both read the JSON document (`jsonplan.PlanDoc`); keeping the summary wording, the symbols and the
value formatting here means a terminal and a pull request describe a plan in the same words.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from controller.core.plan.masking import what_happened
from controller.rendering.jsonplan import (
    ChangeDoc,
    ComponentDoc,
    DiagnosticDoc,
    EndpointDoc,
    JsonValue,
    PlanDoc,
)

# Terraform's symbols: per endpoint status, and per action op.
STATUS_SYMBOL = {"create": "+", "update": "~", "delete": "-", "error": "!", "unchanged": " "}
OP_SYMBOL = {"create": "+", "update": "~", "delete": "-", "tag": "~"}
# The callout over a plan whose pull request edits the repository config.
CONFIG_CHANGE_TITLE = (
    "the repository config (.sagemaker-gitops.yaml) changes: it decides what every team may "
    "deploy, where; have the platform team review it"
)
# Summary wording, in the order of the JSON summary.
_SUMMARY_WORDS = (
    ("create", "to create"),
    ("update", "to update"),
    ("delete", "to delete"),
    ("unchanged", "unchanged"),
)
# Bidirectional-text controls can make a terminal or a browser show text in another order than
# it is stored ("Trojan Source"); user strings never need them.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def summary_counts(
    summary: dict[str, int], manifest_errors: int, held_back: int = 0, held: Sequence[str] = ()
) -> str:
    """``1 to create, 1 to update, 0 to delete, 3 unchanged, 0 errors`` (no final period).

    Manifest errors are not endpoints, so the JSON summary does not count them; they are added
    as their own count when present so that "0 errors" never hides a broken manifest. Deletes a
    prune guard holds back are pending changes, so they get their own count and the guards'
    reasons (`held`): a plan that holds seven deletes back must not read as "nothing to do".
    """
    parts = [f"{summary.get(key, 0)} {words}" for key, words in _SUMMARY_WORDS]
    parts.append(plural(summary.get("error", 0), "error"))
    if manifest_errors:
        parts.append(plural(manifest_errors, "manifest error"))
    if held_back:
        why = f" ({'; '.join(held)})" if held else ""
        parts.append(f"{plural(held_back, 'delete')} held back{why}")
    return ", ".join(parts)


def held_reasons(doc: PlanDoc) -> list[str]:
    """The distinct reasons prune guards give for the deletes they hold back, sorted."""
    return sorted({e["held"] for e in doc["endpoints"] if e["manifest"] is None and e["held"]})


def is_pending(doc: PlanDoc) -> bool:
    """Whether the account differs from the manifests: an action, or a held-back delete."""
    return any(e["actions"] for e in doc["endpoints"]) or bool(doc.get("held_back"))


def plural(count: int, noun: str) -> str:
    """``1 error``, ``0 errors``, ``2 errors``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def is_quiet(endpoint: EndpointDoc) -> bool:
    """Nothing to tell about this endpoint beyond "unchanged": it can be a line or a count."""
    return (
        endpoint["status"] == "unchanged"
        and not endpoint["actions"]
        and not endpoint["warnings"]
        and not endpoint["errors"]
        and endpoint["held"] is None
    )


def display_value(value: JsonValue) -> str:
    """A change's before/after value for people: ``7``, ``1.0``, ``ml.m5.xlarge``, ``(none)``."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def sensitive_summary(change: ChangeDoc) -> str:
    """``(sensitive value changed)``: what text and Markdown show for a masked change."""
    return f"(sensitive value {what_happened(change['before'], change['after'])})"


def location(diagnostic: DiagnosticDoc) -> str:
    """``prod/bad.yaml:4`` (or just the file when the line is unknown)."""
    line = diagnostic["line"]
    return f"{diagnostic['file']}:{line}" if line else diagnostic["file"]


def copies_text(component: ComponentDoc) -> str:
    """``2/3 copies`` (current/desired live), the manifest's count when it differs, and
    ``autoscaled`` when a scalable target owns the count."""
    copies = component["copies"]
    live = copies["desired"] if copies["desired"] is not None else copies["manifest"]
    current = "-" if copies["current"] is None else str(copies["current"])
    text = f"{current}/{display_value(live)} copies"
    if copies["manifest"] is not None and copies["manifest"] != live:
        text += f" (manifest {copies['manifest']})"
    return f"{text}, autoscaled" if component["autoscaled"] else text


def cost_text(endpoint: EndpointDoc) -> str | None:
    """`at most 1.23 -> 2.46 USD/h (+1.23)` when the plan carries a cost and it changes or the
    endpoint changes; None otherwise."""
    cost = endpoint.get("hourly_cost")
    if cost is None:
        return None
    before, after, currency = cost["before"], cost["after"], cost["currency"]
    if before is None:
        return f"at most {after:,.2f} {currency}/h (live cost not known)"
    if abs(after - before) < 0.005:
        return f"at most {after:,.2f} {currency}/h (unchanged)"
    return f"at most {before:,.2f} -> {after:,.2f} {currency}/h ({after - before:+,.2f})"
