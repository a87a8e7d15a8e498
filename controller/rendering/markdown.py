"""The plan as a pull-request comment (``plan --format markdown``), like Atlantis's plan comments.

Layout, from most to least important: a marker comment (so a bot finds and updates one sticky
comment), the summary line, a table of the endpoints that change or fail (quiet unchanged ones are
a count), manifest errors with file:line, then one collapsible ``<details>`` block per listed
endpoint with its actions, field changes, models, warnings and errors. Listed endpoints are grouped
by deployment target (endpoints without one first), riskiest first within a group, then by name.

Every user-controlled string (names, paths, values, notes, messages) goes through `_md` or
`_html`, so a manifest cannot break the table, start a block or inject HTML. The output is a pure
function of the plan (no timestamps), so re-running a plan leaves an unchanged comment unchanged.
GitHub rejects comments over 65,536 characters: `render_markdown` drops details blocks from the
end, then cuts the table and the manifest errors, and says what it left out; the result never
exceeds `max_chars`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection
from dataclasses import dataclass

from controller.core.plan.plans import Plan
from controller.core.plan.risk import Risk
from controller.rendering.common import (
    BIDI_CONTROLS,
    CONFIG_CHANGE_TITLE,
    copies_text,
    cost_text,
    display_value,
    held_reasons,
    is_pending,
    is_quiet,
    location,
    plural,
    sensitive_summary,
    summary_counts,
)
from controller.rendering.jsonplan import (
    ActionDoc,
    ChangeDoc,
    DiagnosticDoc,
    EndpointDoc,
    JsonValue,
    PlanDoc,
    to_json_dict,
)

MARKER = "<!-- sagemaker-gitops plan -->"
# GitHub's limit is 65,536 characters; keep a little room for whoever wraps the comment.
DEFAULT_MAX_CHARS = 65_000
# A single value longer than this is cut in the comment (the full value is in the JSON plan).
MAX_VALUE_CHARS = 500

STATUS_ICON = {
    "create": "\N{HEAVY PLUS SIGN}",
    "update": "🔄",
    "delete": "🗑️",
    "error": "❌",
    "unchanged": "✔️",
}
OP_ICON = {"create": "\N{HEAVY PLUS SIGN}", "update": "🔄", "delete": "🗑️", "tag": "🏷️"}
RISK_ICON = {"high": "🔴", "medium": "🟠", "low": "🟢", "none": "⚪"}

# Markdown inline syntax a user string could trigger, backslash-escaped; HTML specials as
# entities; line breaks become spaces (a newline would end a table row or a list item).
_MD_ESCAPES = {
    **{ord(c): "\\" + c for c in "\\`*_[]|~$"},
    **{ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"},
}
_DROP_CONTROLS = {
    **{c: " " for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): None for c in BIDI_CONTROLS},
}


def _clean(text: str) -> str:
    return text.translate(_DROP_CONTROLS)


def _md(text: str) -> str:
    """Escape a user string for Markdown inline context (paragraphs, lists, table cells)."""
    return _clean(text).translate(_MD_ESCAPES)


def _html(text: str) -> str:
    """Escape a user string for a raw HTML block (the ``<summary>`` line), where Markdown is off."""
    return html.escape(_clean(text), quote=True)


def _code(text: str) -> str:
    # <code> rather than backticks: a backtick span would need its own escaping rules and breaks
    # on `|` inside tables; escaped text in <code> is safe in every inline context.
    return f"<code>{_md(text)}</code>"


@dataclass(frozen=True)
class _Parts:
    """The comment's pieces, kept apart so the size limit can drop the least important first."""

    head: list[str]  # marker, title, summary line: always kept
    table_header: str
    rows: list[str]
    unchanged: str  # "N endpoints unchanged." or ""
    errors: list[str]  # manifest error items
    details: list[str]  # one <details> block per listed endpoint

    def assemble(self, rows: int, errors: int, details: int) -> str:
        """The comment with the first `rows`, `errors` and `details` items of each list."""
        blocks = list(self.head)
        if self.rows:
            blocks.append("\n".join([self.table_header, *self.rows[:rows]]))
        if self.unchanged:
            blocks.append(self.unchanged)
        if self.errors:
            blocks.append("\n".join(["#### ❌ Manifest errors", "", *self.errors[:errors]]))
        blocks += self.details[:details]
        note = _omitted_note(
            len(self.rows) - rows, len(self.errors) - errors, len(self.details) - details
        )
        if note:
            blocks.append(note)
        return "\n\n".join(blocks) + "\n"


def render_markdown(
    plan: Plan, *, max_chars: int = DEFAULT_MAX_CHARS, visible_environment: Collection[str] = ()
) -> str:
    """The plan as a PR comment of at most `max_chars` characters."""
    doc = to_json_dict(plan, visible_environment=visible_environment)
    return render_markdown_doc(doc, max_chars=max_chars)


def render_markdown_doc(doc: PlanDoc, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Render an already-built JSON document (what `render_markdown` does after `to_json_dict`)."""
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0, not {max_chars}")
    parts = _parts(doc)
    rows, errors, details = len(parts.rows), len(parts.errors), len(parts.details)
    full = parts.assemble(rows, errors, details)
    if len(full) <= max_chars:
        return full

    def fits_details(k: int) -> bool:
        return len(parts.assemble(rows, errors, k)) <= max_chars

    kept = _largest(details - 1, fits_details)
    if kept is not None:
        return parts.assemble(rows, errors, kept)

    # Cap the table and the manifest errors at the same length, so a short list (3 manifest
    # errors beside 2,000 endpoints) survives while the long one is cut.
    def fits_cap(k: int) -> bool:
        return len(parts.assemble(min(rows, k), min(errors, k), 0)) <= max_chars

    cap = _largest(max(rows, errors), fits_cap)
    if cap is not None:
        return parts.assemble(min(rows, cap), min(errors, cap), 0)
    # Not even the header fits: a hard cut is all that is left, and the limit still holds.
    return parts.assemble(0, 0, 0)[:max_chars]


def _largest(high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest k in [0, high] with fits(k), for fits monotonic (true up to some k)."""
    if high < 0 or not fits(0):
        return None
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _omitted_note(rows: int, errors: int, details: int) -> str:
    left_out: list[str] = []
    if rows:
        left_out.append(f"{plural(rows, 'endpoint')} left out of the table")
    if errors:
        left_out.append(f"{plural(errors, 'manifest error')} left out")
    if details:
        left_out.append(f"details for {plural(details, 'endpoint')} omitted")
    if not left_out:
        return ""
    text = "; ".join(left_out)
    return (
        f"_{text[0].upper()}{text[1:]} (comment size limit); "
        "run `sagemaker-gitops plan` locally for the full plan._"
    )


def _parts(doc: PlanDoc) -> _Parts:
    # Riskiest first (then by name): a reviewer reads from the top, and the size limit cuts
    # from the bottom, so deletes and errors are the last thing to be left out.
    listed = sorted(
        (e for e in doc["endpoints"] if not is_quiet(e)),
        key=lambda e: (e.get("project", ""), e.get("target", ""), -Risk(e["risk"]).rank),
    )
    quiet = len(doc["endpoints"]) - len(listed)
    account = doc.get("account")
    # With `projects:`, a first column groups the rows by project (they are sorted by it).
    projects = any("project" in e for e in listed)
    header = "| Endpoint | Account/Region | Change | Risk |\n| --- | --- | --- | --- |"
    if projects:
        header = "| Project " + header.replace("\n", "\n| --- ", 1)
    return _Parts(
        head=_head(doc),
        table_header=header,
        rows=[(_project_cell(e) if projects else "") + _row(e, account) for e in listed],
        unchanged=f"{plural(quiet, 'endpoint')} unchanged." if quiet else "",
        errors=[_diagnostic(d) for d in doc["errors"]],
        details=[_details(e) for e in listed],
    )


def _head(doc: PlanDoc) -> list[str]:
    summary = summary_counts(
        doc["summary"], len(doc["errors"]), doc.get("held_back", 0), held_reasons(doc)
    )
    head = [f"{MARKER}\n### sagemaker-gitops plan", f"**Plan:** {summary}"]
    if doc.get("config_changes"):
        items = "\n".join(f"- {_md(line)}" for line in doc.get("config_changes", []))
        head.append(f"⚠️ **High risk: {CONFIG_CHANGE_TITLE}**\n\n{items}")
    if not is_pending(doc) and not _has_errors(doc):
        head.append("✅ No changes: the account matches the manifests.")
    return head


def _has_errors(doc: PlanDoc) -> bool:
    return bool(doc["errors"]) or any(e["status"] == "error" for e in doc["endpoints"])


def _row(endpoint: EndpointDoc, account: str | None) -> str:
    if "target" in endpoint:  # the target's own account, not the one the plan ran with
        account = endpoint.get("account") or account
    where = (
        _md(endpoint["region"]) if not account else f"{_md(account)} / {_md(endpoint['region'])}"
    )
    if "target" in endpoint:
        where = f"{_code(endpoint['target'])}: {where}"
    change = f"{STATUS_ICON[endpoint['status']]} {endpoint['status']}"
    if endpoint["held"] is not None:
        change += " (⏸️ held)"
    risk = endpoint["risk"]
    return f"| {_md(endpoint['name'])} | {where} | {change} | {RISK_ICON[risk]} {risk} |"


def _project_cell(endpoint: EndpointDoc) -> str:
    return f"| {_code(endpoint['project'])} " if "project" in endpoint else "| "


def _diagnostic(diagnostic: DiagnosticDoc) -> str:
    path = f" {_code(diagnostic['path'])}" if diagnostic["path"] else ""
    return f"- {_code(location(diagnostic))}{path}: {_md(diagnostic['message'])}"


def _details(endpoint: EndpointDoc) -> str:
    status, risk = endpoint["status"], endpoint["risk"]
    summary = (
        f"<details><summary>{STATUS_ICON[status]} <b>{_html(endpoint['name'])}</b>: "
        f"{status}, {RISK_ICON[risk]} risk {risk}</summary>"
    )
    sections = [summary, _facts(endpoint)]
    if endpoint["held"] is not None:
        sections.append(f"⏸️ **Held:** {_md(endpoint['held'])}")
    if endpoint["actions"]:
        sections.append("\n".join(["**Actions**", "", *_actions(endpoint["actions"])]))
    if endpoint.get("deferred"):  # apply makes these in a later pass of the same run
        later = _actions(endpoint.get("deferred", []))
        sections.append("\n".join(["**Then, once InService**", "", *later]))
    if endpoint.get("components"):
        sections.append("\n".join(["**Inference components**", "", *_components(endpoint)]))
    if endpoint["models"]:
        models = [f"- {_code(v)}: {_md(m)}" for v, m in endpoint["models"].items()]
        sections.append("\n".join(["**Models served**", "", *models]))
    if endpoint["warnings"]:
        warnings = [f"- ⚠️ {_md(w)}" for w in endpoint["warnings"]]
        sections.append("\n".join(["**Warnings**", "", *warnings]))
    if endpoint["errors"]:
        errors = [f"- ❌ {_md(e)}" for e in endpoint["errors"]]
        sections.append("\n".join(["**Errors**", "", *errors]))
    sections.append("</details>")
    return "\n\n".join(sections)


def _facts(endpoint: EndpointDoc) -> str:
    manifest = endpoint["manifest"]
    source = f"Manifest {_code(manifest)}" if manifest is not None else "_Manifest removed_"
    if "project" in endpoint:
        source = f"{source} · project {_code(endpoint['project'])}"
    region = _code(endpoint["region"])
    if "target" in endpoint:
        target = f"target {_code(endpoint['target'])} · account {_md(endpoint.get('account', ''))}"
        source = f"{source} · {target}"
    facts = f"{source} · region {region} · health {_md(endpoint['health'])}"
    cost = cost_text(endpoint)
    return facts if cost is None else f"{facts} · cost {_md(cost)}"


def _components(endpoint: EndpointDoc) -> list[str]:
    """One table row per inference component: what the plan does, and how it is now."""
    lines = [
        "| Component | Variant | Plan | Status | Copies | Model | Note |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in endpoint.get("components", []):
        cells = [
            _code(c["name"]),
            _code(c["variant"]),
            c["plan"],
            _md(c["status"]),
            _md(copies_text(c)),
            _md(c["model"]),
            _md(c["message"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")  # every cell is escaped above
    return lines


def _actions(actions: list[ActionDoc]) -> list[str]:
    lines: list[str] = []
    for action in actions:
        op = action["op"]
        lines.append(
            f"- {OP_ICON[op]} {op} **{action['type']}** {_code(action['name'])}"
            f" ({action['reason']})"
        )
        lines += [f"  - {_change(c)}" for c in action["changes"]]
        # Tag edits are listed only when the planner did not already describe them as changes.
        if not action["changes"]:
            tags_set = action.get("tags_set", {})
            lines += [f"  - tag {_code(k)} = {_code(v)}" for k, v in tags_set.items()]
            lines += [f"  - tag {_code(k)} removed" for k in action.get("tags_removed", [])]
    return lines


def _change(change: ChangeDoc) -> str:
    if change.get("sensitive"):
        text = f"{_code(change['path'])}: _{sensitive_summary(change)}_"
    else:
        text = f"{_code(change['path'])}: {_value(change['before'])} → {_value(change['after'])}"
    return f"{text} — {_md(change['note'])}" if "note" in change else text


def _value(value: JsonValue) -> str:
    shown = display_value(value)
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[: MAX_VALUE_CHARS - 1] + "…"
    return _code(shown)
