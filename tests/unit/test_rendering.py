"""Plan renderers: golden files, the JSON contract, escaping, size limit, stability, properties.

Golden files live in tests/unit/golden/<scenario>.{txt,md,json}. After an intended change to the
output, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_rendering.py
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.core.plan.plans import (
    Action,
    ComponentPlan,
    ComponentRow,
    EndpointPlan,
    FieldChange,
    Health,
    Op,
    Plan,
    Reason,
    ResourceType,
    Status,
)
from controller.errors import Diagnostic
from controller.rendering import render, to_json_dict
from controller.rendering.jsonplan import json_safe, render_json
from controller.rendering.markdown import MARKER, render_markdown
from controller.rendering.text import MAX_LISTED_UNCHANGED, render_text, should_color

GOLDEN = Path(__file__).parent / "golden"
EXTENSIONS = {"text": "txt", "markdown": "md", "json": "json"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")

M, EC, EP = ResourceType.MODEL, ResourceType.ENDPOINT_CONFIG, ResourceType.ENDPOINT


def endpoint(name: str, status: Status, *actions: Action, **kw: Any) -> EndpointPlan:
    kw.setdefault("manifest", f"{name.rsplit('-', 1)[-1]}/{name}.yaml")
    kw.setdefault("region", "us-east-1")
    kw.setdefault("health", Health.HEALTHY if status is not Status.CREATE else Health.MISSING)
    return EndpointPlan(name=name, status=status, actions=actions, **kw)


def unchanged(name: str) -> EndpointPlan:
    return endpoint(name, Status.UNCHANGED, models={"primary": "churn-xgb v6"})


def rollout(name: str, reason: Reason, *changes: FieldChange) -> tuple[Action, ...]:
    """New Model + EndpointConfig + UpdateEndpoint, the shape of a version bump."""
    return (
        Action(Op.CREATE, M, f"{name}-primary-3f9a1c2b", reason, changes, call="create_model"),
        Action(Op.CREATE, EC, f"{name}-3f9a1c2b", reason, call="create_endpoint_config"),
        Action(Op.UPDATE, EP, name, reason, request={"EndpointName": name}, call="update_endpoint"),
    )


VERSION = FieldChange("variants[primary].model.version", 6, 7, note="Approved 2026-11-20 by alice")


def scenarios() -> dict[str, Plan]:
    """Hand-built plans, one per situation a reviewer meets; each has golden files."""
    create = endpoint(
        "fraud-dev",
        Status.CREATE,
        Action(Op.CREATE, M, "fraud-dev-primary-0c1d2e3f", Reason.NEW_ENDPOINT),
        Action(Op.CREATE, EC, "fraud-dev-0c1d2e3f", Reason.NEW_ENDPOINT),
        Action(Op.CREATE, EP, "fraud-dev", Reason.NEW_ENDPOINT),
        models={
            "primary": "fraud-xgb v3",
            "byom": "123456789012.dkr.ecr.us-east-1.amazonaws.com/km:1",
        },
    )
    bump = endpoint(
        "churn-prod",
        Status.UPDATE,
        *rollout("churn-prod", Reason.VERSION_CHANGED, VERSION),
        models={"primary": "churn-xgb v7"},
        labels={"env": "prod"},
        warnings=("no auto-rollback alarms: a failing version is not rolled back automatically",),
    )
    weights = endpoint(
        "churn-staging",
        Status.UPDATE,
        Action(
            Op.UPDATE,
            EP,
            "churn-staging",
            Reason.WEIGHTS_ONLY,
            (
                FieldChange("variants[primary].initialWeight", 1.0, 0.9),
                FieldChange("variants[canary].initialWeight", 0.0, 0.1),
                FieldChange("variants[primary].initialInstanceCount", 2, 3),
            ),
        ),
        models={"primary": "churn-xgb v6", "canary": "churn-xgb v7"},
    )
    tags = endpoint(
        "churn-dev",
        Status.UPDATE,
        Action(
            Op.TAG,
            EP,
            "churn-dev",
            Reason.TAGS_ONLY,
            tags_set={"cost-center": "42", "team": "ml-platform"},
            tags_removed=("owner",),
        ),
        models={"primary": "churn-xgb v6"},
    )
    prune = endpoint(
        "legacy-scoring",
        Status.DELETE,
        Action(Op.DELETE, EP, "legacy-scoring", Reason.MANIFEST_REMOVED),
        Action(Op.DELETE, EC, "legacy-scoring-77aa0b1c", Reason.MANIFEST_REMOVED),
        Action(Op.DELETE, M, "legacy-scoring-primary-77aa0b1c", Reason.MANIFEST_REMOVED),
        manifest=None,
    )
    error = endpoint(
        "ranker-prod",
        Status.ERROR,
        errors=(
            "variants[primary].model: churn-rank version 9 is PendingManualApproval, not Approved",
        ),
        models={"primary": "churn-rank v8"},
    )
    held = endpoint(
        "search-prod",
        Status.UPDATE,
        *rollout(
            "search-prod",
            Reason.CONFIG_IMMUTABLE,
            FieldChange("variants[primary].instanceType", "ml.m5.xlarge", "ml.m5.2xlarge"),
        ),
        held="suspended (spec.suspend: true): actions are planned but not applied",
        labels={"env": "prod"},
    )
    diagnostics = (
        Diagnostic("prod/bad.yaml", 12, "spec.variants[0].instanceType", "unknown instance type"),
        Diagnostic("prod/bad.yaml", 4, "metadata.name", "does not match the endpoint name pattern"),
        Diagnostic("dev/broken.yaml", None, "", "not valid YAML: mapping values are not allowed"),
    )
    quiet = tuple(unchanged(f"svc{i}-dev") for i in range(3))
    components = components_endpoint()
    breaker = "circuit breaker: 2 endpoint deletes exceed --max-deletes 1"
    held_back = tuple(
        endpoint(
            name,
            Status.UNCHANGED,
            manifest=None,
            held=breaker,
            warnings=(f"manifest removed; delete held back: {breaker}",),
        )
        for name in ("old-a", "old-b")
    )
    rid = "endpoint/scaled-dev/variant/primary"
    scaled = endpoint(
        "scaled-dev",
        Status.CREATE,
        Action(Op.CREATE, M, "scaled-dev-primary-5e6f7a8b", Reason.NEW_ENDPOINT),
        Action(Op.CREATE, EC, "scaled-dev-5e6f7a8b", Reason.NEW_ENDPOINT),
        Action(Op.CREATE, EP, "scaled-dev", Reason.NEW_ENDPOINT),
        deferred=(
            Action(
                Op.CREATE,
                ResourceType.SCALABLE_TARGET,
                rid,
                Reason.AUTOSCALING,
                (FieldChange("variants[primary].autoscaling.maxCapacity", None, 4),),
            ),
            Action(
                Op.CREATE,
                ResourceType.SCHEDULED_ACTION,
                f"{rid}/sagemaker-gitops-nightly",
                Reason.AUTOSCALING,
                (
                    FieldChange(
                        "variants[primary].autoscaling.scheduled[nightly].maxCapacity", None, 2
                    ),
                ),
            ),
        ),
    )
    return {
        "components": Plan((components,)),
        "create": Plan((create,)),
        "version_bump": Plan((bump, *quiet), account="123456789012"),
        "weights_only": Plan((weights,)),
        "tag_only": Plan((tags,)),
        "prune_delete": Plan((prune,)),
        "error_endpoint": Plan((error,)),
        "manifest_errors": Plan(quiet[:1], errors=diagnostics),
        "held": Plan((held,)),
        "unchanged": Plan(quiet),
        "held_back": Plan((*held_back, quiet[0])),
        "deferred": Plan((scaled,)),
        "mixed": Plan(
            (held, bump, create, weights, tags, prune, error, *quiet),
            errors=diagnostics[:1],
            account="123456789012",
        ),
    }


def components_endpoint() -> EndpointPlan:
    """An endpoint hosting inference components: one rolled out, one rescaled, one added, an
    unmanaged one and a failed one, each a row of its own."""
    ic = ResourceType.INFERENCE_COMPONENT
    chat_version = FieldChange("inferenceComponents[chat].model.version", 1, 2)
    copies = FieldChange("inferenceComponents[embed].copies", 1, 3)
    rows = (
        ComponentRow("chat", "gpu-pool", ComponentPlan.UPDATE, "InService", "llm-chat v2", 2, 2, 2),
        ComponentRow(
            "embed", "gpu-pool", ComponentPlan.COPIES, "InService", "llm-embed v1", 3, 1, 1
        ),
        ComponentRow("rerank", "gpu-pool", ComponentPlan.CREATE, "Missing", "rerank v1", 1),
        ComponentRow(
            "handmade",
            "gpu-pool",
            ComponentPlan.UNMANAGED,
            "InService",
            "handmade-m",
            None,
            1,
            1,
            message="inference component handmade is not managed by this controller; left alone",
        ),
        ComponentRow(
            "summarise",
            "gpu-pool",
            ComponentPlan.ERROR,
            "InService",
            "summarise v4",
            2,
            4,
            4,
            autoscaled=True,
            message="update failed and was rolled back: ping health check",
        ),
    )
    return endpoint(
        "llm-shared",
        Status.UPDATE,
        Action(Op.CREATE, M, "llm-shared-chat-0a1b2c3d", Reason.VERSION_CHANGED),
        Action(Op.UPDATE, ic, "chat", Reason.VERSION_CHANGED, (chat_version,)),
        Action(Op.UPDATE, ic, "embed", Reason.COPIES_ONLY, (copies,)),
        Action(Op.CREATE, ic, "rerank", Reason.NEW_COMPONENT),
        components=rows,
        warnings=(rows[3].message, rows[4].message),
    )


SCENARIOS = scenarios()


@pytest.mark.parametrize("fmt", EXTENSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, fmt: Any) -> None:
    out = render(SCENARIOS[scenario], fmt)
    path = GOLDEN / f"{scenario}.{EXTENSIONS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"regenerate with UPDATE_GOLDEN=1: {path}"


# --- JSON contract (docs/plan-json.md, format_version 1) -----------------------------------------

CONTRACT = {
    "plan": {"format_version", "summary", "endpoints", "errors"},
    "summary": {"create", "update", "delete", "unchanged", "error"},
    "endpoint": {"name", "manifest", "status", "actions", "warnings", "errors"},
    "action": {"op", "type", "name", "changes"},
    "change": {"path", "before", "after"},
    "error": {"file", "line", "path", "message"},
}


def check_contract(doc: dict[str, Any]) -> None:
    assert CONTRACT["plan"] <= doc.keys() and doc["format_version"] == 1
    assert set(doc["summary"]) == CONTRACT["summary"]
    for ep in doc["endpoints"]:
        assert CONTRACT["endpoint"] <= ep.keys(), ep.keys()
        assert ep["status"] in CONTRACT["summary"]
        assert all(isinstance(w, str) for w in ep["warnings"] + ep["errors"])
        for action in ep["actions"]:
            assert CONTRACT["action"] <= action.keys()
            assert not {"request", "call"} & action.keys()  # apply-only data stays out
            for change in action["changes"]:
                assert CONTRACT["change"] <= change.keys() <= CONTRACT["change"] | {"note"}
    for error in doc["errors"]:
        assert set(error) == CONTRACT["error"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_json_follows_the_contract(scenario: str) -> None:
    check_contract(json.loads(render_json(SCENARIOS[scenario])))


def test_json_example_from_design() -> None:
    doc = json.loads(render(SCENARIOS["version_bump"], "json"))
    assert list(doc)[:3] == ["format_version", "account", "summary"]
    assert doc["summary"] == {"create": 0, "update": 1, "delete": 0, "unchanged": 3, "error": 0}
    model = doc["endpoints"][0]["actions"][0]
    assert model["op"] == "create" and model["type"] == "Model"
    assert model["changes"] == [
        {
            "path": "variants[primary].model.version",
            "before": 6,
            "after": 7,
            "note": "Approved 2026-11-20 by alice",
        }
    ]


def test_json_values_are_json_safe() -> None:
    assert json_safe({"a": (1, 1.0, float("nan")), 3: Status.CREATE}) == {
        "a": [1, 1.0, "nan"],
        "3": "create",
    }
    assert json_safe(frozenset({2, 1})) == [1, 2]
    assert json_safe(Path("a/b")) == "a/b"  # anything else becomes its str()


# --- text ---------------------------------------------------------------------------------------


def test_text_colour_only_on_request() -> None:
    plan = SCENARIOS["mixed"]
    plain, coloured = render_text(plan), render_text(plan, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured and ANSI.sub("", coloured) == plain


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # no-color.org: only a non-empty value counts
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"TERM": "dumb"}, True, False),
    ],
)
def test_should_color(env: dict[str, str], tty: bool, expected: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert should_color(Stream(), env) is expected


def test_should_color_closed_stream() -> None:
    stream = io.StringIO()
    stream.close()
    assert should_color(stream, {}) is False


def test_text_collapses_many_unchanged() -> None:
    many = Plan(tuple(unchanged(f"svc{i:02}-dev") for i in range(MAX_LISTED_UNCHANGED + 1)))
    out = render_text(many)
    assert f"  {MAX_LISTED_UNCHANGED + 1} endpoints unchanged\n" in out
    assert "svc00-dev" not in out
    few = render_text(Plan(many.endpoints[:MAX_LISTED_UNCHANGED]))
    assert "  svc00-dev (dev/svc00-dev.yaml) unchanged\n" in few


# --- escaping -----------------------------------------------------------------------------------

EVIL = "evil|name<script>alert(1)</script>`x`*b*[l](http://e)\n\n# h\x1b[2J\u202e"


def evil_plan() -> Plan:
    change = FieldChange("tags.a|b", "<img src=x onerror=alert(1)>", "`|`", note="by <b>eve</b>|")
    ep = endpoint(
        EVIL,
        Status.UPDATE,
        Action(Op.TAG, EP, EVIL, Reason.TAGS_ONLY, (change,)),
        warnings=(EVIL,),
        models={EVIL: EVIL},
        manifest=EVIL,
        region="us|east",
    )
    return Plan((ep,), errors=(Diagnostic(EVIL, 3, EVIL, EVIL),), account="1|2")


def test_markdown_escapes_user_strings() -> None:
    out = render_markdown(evil_plan())
    assert "<script" not in out and "<img" not in out and "<b>eve" not in out
    assert "\u202e" not in out and "\x1b" not in out and "\n# h" not in out
    row = next(line for line in out.splitlines() if line.startswith("| evil"))
    unescaped_pipes = re.findall(r"(?<!\\)\|", row)
    assert len(unescaped_pipes) == 5, row  # 4 columns: the table cannot be broken
    # No link injection; the <summary> line is a raw HTML block where Markdown is not parsed.
    markdown_lines = [ln for ln in out.splitlines() if not ln.startswith("<details>")]
    assert not any("[l](http" in ln for ln in markdown_lines)
    assert "\\`x\\`" in out


def test_text_strips_terminal_controls() -> None:
    out = render_text(evil_plan())
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out
    assert "\n# h" not in out  # a newline in a user string cannot start a line


# --- markdown size limit ------------------------------------------------------------------------


def big_plan(n: int, errors: int = 0) -> Plan:
    eps = tuple(
        endpoint(
            f"svc{i:04}-prod",
            Status.UPDATE,
            *rollout(f"svc{i:04}-prod", Reason.VERSION_CHANGED, VERSION),
            models={"primary": "churn-xgb v7"},
            warnings=("no auto-rollback alarms",),
        )
        for i in range(n)
    )
    diags = tuple(Diagnostic(f"bad{i}.yaml", i + 1, "spec", "broken") for i in range(errors))
    return Plan(eps, errors=diags, account="123456789012")


def test_markdown_truncates_2000_endpoints() -> None:
    out = render_markdown(big_plan(2000, errors=3), max_chars=65_000)
    assert len(out) <= 65_000
    assert out.startswith(MARKER + "\n")
    assert "**Plan:** 0 to create, 2000 to update, 0 to delete, 0 unchanged, 0 errors" in out
    assert "| svc0000-prod | 123456789012 / us-east-1 |" in out
    assert "comment size limit" in out and "sagemaker-gitops plan` locally" in out
    assert "left out of the table" in out  # 2,000 rows alone exceed the limit
    assert all(f"bad{i}.yaml:{i + 1}" in out for i in range(3))  # the short list survives
    assert "<details>" not in out


def test_markdown_drops_details_before_table_rows() -> None:
    plan = big_plan(40)
    full = render_markdown(plan, max_chars=10**9)
    out = render_markdown(plan, max_chars=len(full) // 2)
    assert len(out) <= len(full) // 2
    assert all(f"| svc{i:04}-prod |" in out for i in range(40))
    omitted = 40 - out.count("<details>")
    assert 0 < omitted < 40
    assert f"_Details for {omitted} endpoints omitted (comment size limit)" in out
    assert out.count("<details>") == out.count("</details>")


@pytest.mark.parametrize("max_chars", [0, 1, 50, 200])
def test_markdown_tiny_limit_still_holds(max_chars: int) -> None:
    assert len(render_markdown(big_plan(3), max_chars=max_chars)) <= max_chars


# --- stability ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", EXTENSIONS)
def test_output_is_stable(fmt: Any) -> None:
    plan = SCENARIOS["mixed"]
    shuffled = Plan(tuple(reversed(plan.endpoints)), plan.errors, plan.account)
    assert render(plan, fmt) == render(plan, fmt) == render(shuffled, fmt)


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown plan format"):
        render(SCENARIOS["create"], "yaml")  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
changes = st.builds(
    FieldChange, st.text(max_size=30), json_values, json_values, st.text(max_size=20)
)
actions = st.builds(
    Action,
    st.sampled_from(Op),
    st.sampled_from(ResourceType),
    st.text(max_size=30),
    st.sampled_from(Reason),
    st.lists(changes, max_size=3).map(tuple),
    tags_set=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
    tags_removed=st.lists(st.text(max_size=8), max_size=2).map(tuple),
)
endpoint_plans = st.builds(
    EndpointPlan,
    name=st.text(max_size=40),
    manifest=st.none() | st.text(max_size=30),
    region=st.text(max_size=12),
    status=st.sampled_from(Status),
    health=st.sampled_from(Health),
    actions=st.lists(actions, max_size=3).map(tuple),
    warnings=st.lists(st.text(max_size=40), max_size=2).map(tuple),
    errors=st.lists(st.text(max_size=40), max_size=2).map(tuple),
    held=st.none() | st.text(max_size=20),
    models=st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=2),
    labels=st.dictionaries(st.sampled_from(["env", "team"]), st.sampled_from(["prod", "dev"])),
)
diagnostics = st.builds(
    Diagnostic,
    st.text(max_size=20),
    st.none() | st.integers(1, 9999),
    st.text(max_size=20),
    st.text(max_size=40),
)
plans = st.builds(
    Plan,
    st.lists(endpoint_plans, max_size=8).map(tuple),
    st.lists(diagnostics, max_size=3).map(tuple),
    st.none() | st.text(max_size=12),
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(plans)
def test_json_round_trips_and_counts(plan: Plan) -> None:
    doc = json.loads(render_json(plan))
    assert doc == to_json_dict(plan)
    check_contract(doc)
    statuses = Counter(e.status.value for e in plan.endpoints)
    assert doc["summary"] == {s.value: statuses[s.value] for s in Status}
    assert sum(doc["summary"].values()) == len(doc["endpoints"])


@FAST
@given(plans, st.integers(0, 4000))
def test_markdown_never_exceeds_max_chars(plan: Plan, max_chars: int) -> None:
    out = render_markdown(plan, max_chars=max_chars)
    assert len(out) <= max_chars
    full = render_markdown(plan, max_chars=10**9)
    if len(full) <= max_chars:
        assert out == full


@FAST
@given(plans)
def test_text_renders_any_plan(plan: Plan) -> None:
    out = render_text(plan, color=True)
    assert ANSI.sub("", out).endswith(".\n") and "Plan:" in out
    assert ANSI.sub("", out) == render_text(plan)
