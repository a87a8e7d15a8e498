"""The status page: read-only, server-rendered HTML of what /status knows, for people.

No JavaScript and no build step: the page is a table and a GET form, it reloads itself with a
meta refresh (the URL keeps the filter), and every value is HTML-escaped because endpoint names,
manifest paths and error messages come from manifests and from AWS. A strict
Content-Security-Policy (httpserver) backs that up: even an escaping bug could not run a script.

    /                            every endpoint; ?q=text filters server-side (name, project,
                                 target, region, sync, health, revision, manifest, model);
                                 ?project=NAME shows one project's endpoints (with projects)
    /endpoints/<location>/<name> one endpoint: conditions, variants, rollout and the last plan

With `run --promote`, the index starts with each pipeline: one table per pipeline and group,
its stages as columns (first to last), rows for the version each pins, its verdict, the
analysis in progress, why the next promotion waits, and the last thing written.

Everything per endpoint (links, row ids, `data-key`) comes from its key, `location/name`, where
the location is its target's name or its region: the same name in two targets or regions is two
rows, two anchors and two detail pages, never one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote

REFRESH_SECONDS = 10
_SEARCHED = (
    "name",
    "project",
    "target",
    "region",
    "sync",
    "health",
    "revision",
    "manifest",
    "last_error",
)
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.35em .5em;
text-align:left;vertical-align:top}th{background:#f6f8fa}code,pre{font:12px/1.35 monospace}
tr.mine td{font-weight:600}
pre{background:#f6f8fa;padding:1em;overflow:auto}.s{font-weight:600}
.Synced,.Healthy,.True{color:#1a7f37}.OutOfSync,.Progressing{color:#9a6700}
.Failed,.Degraded,.Missing{color:#cf222e}.Suspended,.Unknown{color:#57606a}
.err{color:#cf222e;max-width:28em;overflow-wrap:anywhere}header p{margin:.2em 0}
ul.variants{margin:0;padding-left:1em}td:nth-child(2),td:nth-child(3){white-space:nowrap}
form{margin:.8em 0}
table.pipeline{width:auto;margin-bottom:1em}table.pipeline th[scope=row]{background:none}
.Verified{color:#1a7f37}.Inconclusive,.Verifying{color:#9a6700}
"""


def short(revision: str | None) -> str:
    return (revision or "")[:7]


def matches(endpoint: Mapping[str, Any], query: str) -> bool:
    """Case-insensitive substring match of every word of `query` against the shown fields."""
    haystack = " ".join(
        [str(endpoint.get(f) or "") for f in _SEARCHED]
        + [str(v.get("model", "")) for v in (endpoint.get("variants") or {}).values()]
    ).lower()
    return all(word in haystack for word in query.lower().split())


def detail_path(endpoint: Mapping[str, Any]) -> str:
    location, _, name = str(endpoint.get("key", "")).partition("/")
    return f"/endpoints/{quote(location, safe='')}/{quote(name, safe='')}"


def row_id(endpoint: Mapping[str, Any]) -> str:
    """The row's anchor, `endpoint_<location>_<name>`: locations and endpoint names are letters,
    digits and '-', so '_' keeps it one-to-one with the key, and it needs no CSS escaping."""
    return "endpoint_" + str(endpoint.get("key", "")).replace("/", "_")


def render_index(status: Mapping[str, Any], query: str = "", project: str = "") -> str:
    every = list(status.get("endpoints", []))
    projects = sorted({str(e["project"]) for e in every if e.get("project")})
    endpoints = [
        e for e in every if matches(e, query) and (not project or e.get("project") == project)
    ]
    columns = 11 if projects else 10
    rows = "".join(_row(e, bool(projects)) for e in endpoints) or (
        f'<tr><td colspan="{columns}" id="empty">No endpoint matches.</td></tr>'
    )
    filtered = bool(query or project)
    shown = f"{len(endpoints)} of {len(every)} endpoints" if filtered else f"{len(every)} endpoints"
    project_head = "<th>Project</th>" if projects else ""
    body = f"""
<header>{_summary(status)}</header>{_pipelines(status.get("promotion"))}
<form method="get" action="/" role="search">
<label for="q">Filter</label>
<input id="q" name="q" type="search" value="{escape(query)}"
 placeholder="name, target, region, sync...">{_project_select(projects, project)}
<button type="submit">Filter</button> <span id="shown">{escape(shown)}</span>
</form>
<table id="endpoints"><thead><tr><th>Endpoint</th>{project_head}<th>Target</th><th>Region</th>
<th>Sync</th><th>Health</th><th>Revision</th><th>Variants</th><th>Rollout</th><th>Last error</th>
<th>Manifest</th></tr></thead>
<tbody>{rows}</tbody></table>"""
    return _page("sagemaker-gitops status", body)


def _project_select(projects: list[str], chosen: str) -> str:
    """A project filter, only when the repository config declares projects."""
    if not projects:
        return ""
    options = ['<option value="">every project</option>'] + [
        f'<option value="{escape(p)}"{" selected" if p == chosen else ""}>{escape(p)}</option>'
        for p in projects
    ]
    return (
        ' <label for="project">Project</label> '
        f'<select id="project" name="project">{"".join(options)}</select>'
    )


def render_detail(endpoint: Mapping[str, Any], plan_text: str | None) -> str:
    name = str(endpoint.get("name", ""))
    facts = [
        ("Project", endpoint.get("project")),
        ("Target", endpoint.get("target")),
        ("Region", endpoint.get("region")),
        ("Sync", endpoint.get("sync")),
        ("Health", endpoint.get("health")),
        ("Revision", endpoint.get("revision")),
        ("Manifest", endpoint.get("manifest")),
        ("Reason", endpoint.get("reason")),
        ("Message", endpoint.get("message")),
        ("Held", endpoint.get("held")),
        ("Last error", endpoint.get("last_error")),
        ("Last reconcile", endpoint.get("last_reconcile")),
    ]
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v or ''))}</td></tr>" for k, v in facts
    )
    plan = escape(plan_text) if plan_text else "No plan yet: the endpoint was not reconciled."
    body = f"""
<p><a href="/">&larr; all endpoints</a></p>
<h1 id="name">{escape(name)}</h1>
<table id="facts">{rows}</table>
<h2>Conditions</h2>{_conditions(endpoint.get("conditions") or [])}
<h2>Variants</h2>{_variants(endpoint.get("variants") or {})}
<h2>Rollout in flight</h2><p id="rollout">{_rollout(endpoint.get("rollout"))}</p>
<h2>Last plan</h2><pre id="plan">{plan}</pre>"""
    return _page(f"{name} - sagemaker-gitops", body)


def render_not_found(what: str) -> str:
    return _page("not found", f'<p><a href="/">&larr; all endpoints</a></p><p>{escape(what)}</p>')


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>{body}
<footer><p>Read-only. Refreshes every {REFRESH_SECONDS} s. JSON: <a href="/status">/status</a>,
metrics: <a href="/metrics">/metrics</a>.</p></footer></body></html>
"""


def _summary(status: Mapping[str, Any]) -> str:
    facts = [
        ("Revision", short(status.get("revision")) or "-"),
        ("Leader", "yes" if status.get("leader") else "no (standby)"),
        ("Ready", "yes" if status.get("ready") else "no"),
        ("Applying", "suspended (POST /resume)" if status.get("suspended_all") else "yes"),
    ]
    shards = status.get("shards")
    if shards:  # `run --shard-by`: this replica leads the shards it holds, not the fleet
        facts[1] = ("Replica", f"{shards['replica']} ({len(shards['held'])} shards held)")
    line = " &middot; ".join(f"{escape(k)}: <b>{escape(v)}</b>" for k, v in facts)
    problems = [status.get("problem"), *status.get("diagnostics", [])]
    notes = "".join(f'<p class="err">{escape(str(p))}</p>' for p in problems if p)
    return f"<h1>sagemaker-gitops</h1><p>{line}</p>{notes}{_shards(shards)}"


def _shards(shards: Mapping[str, Any] | None) -> str:
    """Which replica holds which shard, as this replica last read the lease table."""
    if not shards:
        return ""
    me = str(shards["replica"])
    mine = ' class="mine"'
    rows = "".join(
        f"<tr{mine if holder == me else ''}><td>{escape(str(shard))}</td>"
        f"<td>{escape(str(holder))}</td></tr>"
        for shard, holder in shards.get("holders", {}).items()
    )
    members = ", ".join(str(m) for m in shards.get("members", []))
    return (
        f'<details id="shards"><summary>Shards: {len(shards.get("holders", {}))} held by '
        f"{len(shards.get('members', []))} replicas ({escape(members)})</summary>"
        f"<table><thead><tr><th>Shard</th><th>Replica</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details>"
    )


def _row(e: Mapping[str, Any], projects: bool = False) -> str:
    sync, health = str(e.get("sync", "")), str(e.get("health", ""))
    revision = str(e.get("revision") or "")
    project = [f'<span class="project">{escape(str(e.get("project") or ""))}</span>']
    cells = [
        f'<a class="endpoint" href="{escape(detail_path(e))}">{escape(str(e.get("name", "")))}</a>',
        *(project if projects else []),
        f'<span class="target">{escape(str(e.get("target", "")))}</span>',
        escape(str(e.get("region", ""))),
        f'<span class="s {escape(sync)}">{escape(sync)}</span>',
        f'<span class="s {escape(health)}">{escape(health)}</span>',
        f'<code class="rev" title="{escape(revision)}">{escape(short(revision))}</code>',
        _variants(e.get("variants") or {}),
        _rollout(e.get("rollout")),
        f'<span class="err">{escape(str(e.get("last_error") or ""))}</span>',
        f"<code>{escape(str(e.get('manifest') or ''))}</code>",
    ]
    key, anchor = escape(str(e.get("key", ""))), escape(row_id(e))
    cells_html = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr id="{anchor}" data-key="{key}">{cells_html}</tr>'


def _variants(variants: Mapping[str, Mapping[str, Any]]) -> str:
    items = []
    for name, v in variants.items():
        weight = v.get("weight")
        shown = "" if weight is None else f" &middot; weight {escape(f'{float(weight):g}')}"
        items.append(f"<li><b>{escape(name)}</b>: {escape(str(v.get('model', '')))}{shown}</li>")
    return f'<ul class="variants">{"".join(items)}</ul>' if items else ""


def _rollout(rollout: Mapping[str, Any] | None) -> str:
    if not rollout:
        return "none"
    kind = "drift repair" if rollout.get("drift_only") else "rollout"
    return escape(
        f"{kind} of {short(rollout.get('revision')) or '-'} since {rollout.get('started')}: "
        f"{rollout.get('summary', '')}"
    )


def _conditions(conditions: Iterable[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<tr><td>{escape(str(c.get("type")))}</td><td class="{escape(str(c.get("status")))}">'
        f"{escape(str(c.get('status')))}</td><td>{escape(str(c.get('reason')))}</td>"
        f"<td>{escape(str(c.get('message')))}</td></tr>"
        for c in conditions
    )
    head = "<tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th></tr>"
    return f'<table id="conditions">{head}{rows}</table>'


_PIPELINE_ROWS = (
    ("Version", "versions"),
    ("Verdict", "verdict"),
    ("Analysis", "analysis"),
    ("Shadow", "shadow"),
    ("Next promotion", "nextPromotion"),
    ("Last write", "lastWrite"),
)


def _pipelines(promotion: Mapping[str, Any] | None) -> str:
    """`run --promote`'s view: per pipeline and group, the stages side by side."""
    if not promotion:
        return ""
    parts = [
        '<section id="pipelines"><h2>Pipelines</h2>'
        f'<p class="promotion-state">{escape(str(promotion.get("state", "")))}</p>'
    ]
    for pipeline in promotion.get("pipelines", []):
        name = str(pipeline.get("name", ""))
        stages = pipeline.get("stages") or []
        if not stages:
            parts.append(f"<p><b>{escape(name)}</b>: {escape(str(pipeline.get('state', '')))}</p>")
            continue
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for stage in stages:
            groups.setdefault(str(stage.get("group", "")), []).append(stage)
        for group, columns in groups.items():
            head = "".join(
                f'<th scope="col">{escape(str(c.get("stage", "")))}</th>' for c in columns
            )
            rows = "".join(
                f'<tr><th scope="row">{label}</th>'
                + "".join(f"<td>{_pipeline_cell(key, c)}</td>" for c in columns)
                + "</tr>"
                for label, key in _PIPELINE_ROWS
            )
            caption = f"{escape(name)} &middot; {escape(group)}"
            parts.append(
                f'<table class="pipeline" data-pipeline="{escape(name)}" data-group="'
                f'{escape(group)}"><caption>{caption}</caption><thead><tr><th></th>{head}</tr>'
                f"</thead><tbody>{rows}</tbody></table>"
            )
    parts.append("</section>")
    return "".join(parts)


def _pipeline_cell(key: str, stage: Mapping[str, Any]) -> str:
    value = stage.get(key)
    if key == "versions":
        return escape("/".join(f"v{v}" for v in value or []) or "-")
    text = str(value or "")
    if key == "verdict":
        status = text.split(" ", 1)[0]
        return f'<span class="s {escape(status)}">{escape(text or "-")}</span>'
    return escape(text)
