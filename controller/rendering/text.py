"""The plan for a terminal, in Terraform's style (``plan`` and ``apply`` print it).

Endpoints that change, fail or carry warnings get a header and one line per action and field
change; quiet unchanged endpoints get one line each, or a count when there are many. Colour is
ANSI and only on request: the caller decides with `should_color`, so output piped to a file or a
CI log stays plain. User-controlled strings are stripped of control characters, so a manifest
cannot move the cursor, clear the screen or split one change over several lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from typing import IO, Any

from controller.core.plan.plans import Plan
from controller.rendering.common import (
    BIDI_CONTROLS,
    CONFIG_CHANGE_TITLE,
    OP_SYMBOL,
    STATUS_SYMBOL,
    copies_text,
    cost_text,
    display_value,
    held_reasons,
    is_pending,
    is_quiet,
    location,
    sensitive_summary,
    summary_counts,
)
from controller.rendering.jsonplan import (
    ActionDoc,
    ComponentDoc,
    DiagnosticDoc,
    EndpointDoc,
    PlanDoc,
    to_json_dict,
)

# Above this many quiet endpoints, one count line replaces the list.
MAX_LISTED_UNCHANGED = 20
INDENT = "    "

_RESET = "\x1b[0m"
# ANSI styles by meaning, not by colour, so the palette is chosen in one place.
_STYLES = {
    "create": "\x1b[32m",  # green
    "update": "\x1b[33m",  # yellow
    "tag": "\x1b[33m",
    "delete": "\x1b[31m",  # red
    "error": "\x1b[1;31m",  # bold red
    "warning": "\x1b[33m",
    "held": "\x1b[36m",  # cyan
    "unchanged": "\x1b[2m",  # dim
    "risk-high": "\x1b[1;31m",
    "risk-medium": "\x1b[33m",
    "bold": "\x1b[1m",
}
# C0/C1 controls (ESC, newline, tab, DEL...) shown as escapes; bidi controls likewise.
_CONTROLS = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): f"\\u{ord(c):04x}" for c in BIDI_CONTROLS},
}

Paint = Callable[[str, str], str]


def should_color(stream: IO[Any], env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour output written to `stream`.

    NO_COLOR (set and non-empty, no-color.org) always wins; FORCE_COLOR (set, non-empty) turns
    colour on for CI logs that render ANSI; TERM=dumb turns it off; otherwise only a TTY gets it.
    """
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def render_text(
    plan: Plan, *, color: bool = False, visible_environment: Collection[str] = ()
) -> str:
    """The plan as terminal text, ending with a newline."""
    return render_text_doc(to_json_dict(plan, visible_environment=visible_environment), color=color)


def render_text_doc(doc: PlanDoc, *, color: bool = False) -> str:
    """Render an already-built JSON document (what `render_text` does after `to_json_dict`)."""
    paint = _painter(color)
    lines: list[str] = []
    if doc.get("config_changes"):
        lines.append(paint("error", "!") + " " + paint("bold", CONFIG_CHANGE_TITLE))
        lines += [f"{INDENT}{_clean(line)}" for line in doc.get("config_changes", [])]
        lines.append("")
    loud = [e for e in doc["endpoints"] if not is_quiet(e)]
    quiet = [e for e in doc["endpoints"] if is_quiet(e)]
    group: str | None = None
    for endpoint in loud:  # in the document's order: by project, then target
        project = endpoint.get("project")
        if project is not None and project != group:
            lines += [paint("bold", f"project {_clean(project)}"), ""]
            group = project
        lines += [*_endpoint_lines(endpoint, paint), ""]
    if quiet:
        lines += [*_quiet_lines(quiet, paint), ""]
    if doc["errors"]:
        lines += [paint("error", "error:") + " " + _diagnostic(d) for d in doc["errors"]]
        lines.append("")
    lines += _footer(doc, paint)
    return "\n".join(lines) + "\n"


def _painter(color: bool) -> Paint:
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"{_STYLES[style]}{text}{_RESET}" if text.strip() else text


def _clean(text: str) -> str:
    return text.translate(_CONTROLS)


def _endpoint_lines(endpoint: EndpointDoc, paint: Paint) -> list[str]:
    status = endpoint["status"]
    header = f"{paint(status, STATUS_SYMBOL[status])} {paint('bold', _name(endpoint))}"
    header += f" ({_manifest(endpoint)}) {paint(status, status)}"
    if endpoint["actions"]:
        header += " " + _risk_tag(endpoint["risk"], paint)
    lines = [header]
    for action in endpoint["actions"]:
        lines += _action_lines(action, paint)
    if endpoint.get("deferred"):  # apply makes these in a later pass of the same run
        lines.append(f"{INDENT}then, once InService:")
        for action in endpoint.get("deferred", []):
            lines += [INDENT + line for line in _action_lines(action, paint)]
    if endpoint["actions"] and endpoint["models"]:
        served = ", ".join(f"{_clean(v)}: {_clean(m)}" for v, m in endpoint["models"].items())
        lines.append(f"{INDENT}models: {served}")
    cost = cost_text(endpoint)
    if cost is not None and endpoint["actions"]:
        lines.append(f"{INDENT}cost: {cost}")
    lines += [_component_line(c, paint) for c in endpoint.get("components", [])]
    if endpoint["held"] is not None:
        lines.append(f"{INDENT}{paint('held', 'held:')} {_clean(endpoint['held'])}")
    lines += [f"{INDENT}{paint('warning', 'warning:')} {_clean(w)}" for w in endpoint["warnings"]]
    lines += [f"{INDENT}{paint('error', 'error:')} {_clean(e)}" for e in endpoint["errors"]]
    return lines


def _action_lines(action: ActionDoc, paint: Paint) -> list[str]:
    op = action["op"]
    line = f"{INDENT}{paint(op, OP_SYMBOL[op])} {action['type']} {_clean(action['name'])}"
    lines = [f"{line} ({action['reason']})"]
    for change in action["changes"]:
        before, after = display_value(change["before"]), display_value(change["after"])
        shown = f"{_clean(before)} -> {_clean(after)}"
        if change.get("sensitive"):
            shown = sensitive_summary(change)
        text = f"{INDENT * 2}{_clean(change['path'])}: {shown}"
        if "note" in change:
            text += f"  # {_clean(change['note'])}"
        lines.append(text)
    # Tag edits are listed only when the planner did not already describe them as changes.
    if not action["changes"]:
        for key, value in action.get("tags_set", {}).items():
            lines.append(f"{INDENT * 2}tags.{_clean(key)} = {_clean(value)}")
        for key in action.get("tags_removed", []):
            lines.append(f"{INDENT * 2}tags.{_clean(key)} (removed)")
    return lines


def _component_line(component: ComponentDoc, paint: Paint) -> str:
    """``component chat (shared): update; InService, 2/2 copies, churn-xgb v2``."""
    plan = component["plan"]
    style = {"copies": "update", "kept": "warning", "unmanaged": "unchanged", "waiting": "held"}
    shown = paint(style.get(plan, plan), plan)
    facts = [component["status"], copies_text(component), component["model"]]
    text = f"{INDENT}component {_clean(component['name'])} ({_clean(component['variant'])}): "
    text += f"{shown}; " + ", ".join(_clean(f) for f in facts if f)
    if component["message"]:
        text += f" ({_clean(component['message'])})"
    return text


def _risk_tag(risk: str, paint: Paint) -> str:
    style = f"risk-{risk}" if risk in ("high", "medium") else "bold"
    return paint(style, f"[risk: {risk}]")


def _quiet_lines(quiet: list[EndpointDoc], paint: Paint) -> list[str]:
    if len(quiet) > MAX_LISTED_UNCHANGED:
        return [paint("unchanged", f"  {len(quiet)} endpoints unchanged")]
    return [paint("unchanged", f"  {_name(e)} ({_manifest(e)}) unchanged") for e in quiet]


def _footer(doc: PlanDoc, paint: Paint) -> list[str]:
    failing = doc["errors"] or doc["summary"].get("error", 0)
    lines: list[str] = []
    if not is_pending(doc) and not failing:
        lines.append("No changes: the account matches the manifests.")
    counts = summary_counts(
        doc["summary"], len(doc["errors"]), doc.get("held_back", 0), held_reasons(doc)
    )
    lines.append(f"{paint('bold', 'Plan:')} {counts}.")
    return lines


def _name(endpoint: EndpointDoc) -> str:
    """`name`, or `target/name` (the JSON plan sorts by target, so targets print as groups)."""
    target = endpoint.get("target")
    name = endpoint["name"]
    return _clean(f"{target}/{name}" if target else name)


def _manifest(endpoint: EndpointDoc) -> str:
    manifest = endpoint["manifest"]
    shown = _clean(manifest) if manifest is not None else "manifest removed"
    project = endpoint.get("project")
    return f"{shown}, project {_clean(project)}" if project else shown


def _diagnostic(diagnostic: DiagnosticDoc) -> str:
    path = f" {_clean(diagnostic['path'])}:" if diagnostic["path"] else ""
    return f"{_clean(location(diagnostic))}:{path} {_clean(diagnostic['message'])}"
