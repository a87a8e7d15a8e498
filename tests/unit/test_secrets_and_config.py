"""Environment values masked in every plan format; the repo config file; promote and symlinks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.plan import masking
from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    FieldChange,
    Health,
    Op,
    Plan,
    Reason,
    ResourceType,
    Status,
)
from controller.edits import promoting
from controller.errors import ManifestError
from controller.manifests.loading import load_manifests
from controller.manifests.repoconfig import CONFIG_NAME, load_repo_config
from controller.rendering import FORMATS, Format, render, to_json_dict
from controller.rendering.markdown import render_markdown
from tests.unit.test_promote import MULTI, collect, write_tree

ENV = "variants[primary].model.environment."


def plan_with(*changes: FieldChange) -> Plan:
    action = Action(
        Op.CREATE,
        ResourceType.MODEL,
        "churn-model-1",
        Reason.CONFIG_IMMUTABLE,
        changes=changes,
        request={"Environment": {"DB_PASSWORD": "request-only-secret"}},
    )
    endpoint = EndpointPlan(
        name="churn",
        manifest="churn.yaml",
        region="us-east-1",
        status=Status.UPDATE,
        health=Health.HEALTHY,
        actions=(action,),
    )
    return Plan(endpoints=(endpoint,))


SECRET_PLAN = plan_with(
    FieldChange(ENV + "DB_PASSWORD", "old-hunter2", "new-hunter3"),
    FieldChange(ENV + "API_TOKEN", None, "tok-added-secret"),
    FieldChange(ENV + "OLD_KEY", "removed-secret", None),
    FieldChange(ENV + "LOG_LEVEL", "info", "debug"),
    FieldChange("variants[primary].model.version", 6, 7),
)
SECRETS = ("hunter2", "hunter3", "tok-added-secret", "removed-secret", "request-only-secret")


@pytest.mark.parametrize("fmt", FORMATS)
def test_environment_values_never_appear_in_any_format(fmt: Format) -> None:
    out = render(SECRET_PLAN, fmt)
    assert not [s for s in SECRETS if s in out]
    assert "info" not in out and "debug" not in out  # not listed: masked too
    # The key is not a secret: reviewers see what changed (Markdown escapes the underscore).
    assert "DB_PASSWORD" in out.replace("\\_", "_")


def test_text_and_markdown_say_what_happened() -> None:
    text = render(SECRET_PLAN, "text")
    assert f"{ENV}DB_PASSWORD: (sensitive value changed)" in text
    assert f"{ENV}API_TOKEN: (sensitive value added)" in text
    assert f"{ENV}OLD_KEY: (sensitive value removed)" in text
    assert "variants[primary].model.version: 6 -> 7" in text
    markdown = render_markdown(SECRET_PLAN).replace("\\", "")
    assert f"{ENV}DB_PASSWORD</code>: _(sensitive value changed)_" in markdown


def test_json_marks_masked_changes() -> None:
    doc = to_json_dict(SECRET_PLAN)
    changes = {c["path"]: c for c in doc["endpoints"][0]["actions"][0]["changes"]}
    assert changes[ENV + "DB_PASSWORD"] == {
        "path": ENV + "DB_PASSWORD",
        "before": "(sensitive)",
        "after": "(sensitive)",
        "sensitive": True,
    }
    assert changes[ENV + "API_TOKEN"]["before"] is None
    assert "sensitive" not in changes["variants[primary].model.version"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_keys_listed_as_non_sensitive_are_shown(fmt: Format) -> None:
    out = render(SECRET_PLAN, fmt, visible_environment=["LOG_LEVEL"])
    assert "info" in out and "debug" in out
    assert not [s for s in SECRETS if s in out]


def test_masking_never_changes_what_apply_sends() -> None:
    render(SECRET_PLAN, "json")
    [action] = SECRET_PLAN.endpoints[0].actions
    assert action.request == {"Environment": {"DB_PASSWORD": "request-only-secret"}}
    assert action.changes[0].after == "new-hunter3"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    key=st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True),
    before=st.one_of(st.none(), st.text(min_size=6, max_size=30)),
    after=st.one_of(st.none(), st.text(min_size=6, max_size=30)),
)
def test_no_environment_value_survives_rendering(
    key: str, before: str | None, after: str | None
) -> None:
    plan = plan_with(FieldChange(ENV + key, before, after))
    for fmt in FORMATS:
        out = render(plan, fmt)
        doc = json.loads(render(plan, "json"))
        [change] = doc["endpoints"][0]["actions"][0]["changes"]
        assert change["before"] in (None, masking.SHOWN_INSTEAD)
        assert change["after"] in (None, masking.SHOWN_INSTEAD)
        for value in (before, after):
            # A value that is also a substring of the fixed wording proves nothing.
            if value and value.strip() and value not in masking.SHOWN_INSTEAD + ENV + key:
                assert value not in out.replace(ENV + key, ""), (fmt, value)


def test_environment_key_parsing() -> None:
    assert masking.environment_key(ENV + "A") == "A"
    assert masking.environment_key("variants[a].model.version") is None
    assert masking.environment_key(".model.environment.A") is None


# -- the repo config file ------------------------------------------------------------------------


def test_repo_config_is_optional(tmp_path: Path) -> None:
    loaded = load_repo_config(tmp_path)
    assert loaded.path is None and loaded.problems == ()
    assert loaded.config.plan.non_sensitive_environment_keys == []


def test_repo_config_is_read_from_the_manifest_root(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        "apiVersion: sagemaker-gitops/v1\nplan:\n  nonSensitiveEnvironmentKeys: [LOG_LEVEL]\n"
    )
    result = load_manifests([tmp_path])
    assert result.ok and result.files == []  # hidden: never taken for a manifest
    assert result.config.plan.non_sensitive_environment_keys == ["LOG_LEVEL"]
    assert result.config.prune.regions == []


def test_repo_config_prune_regions(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("prune:\n  regions: [us-west-2, eu-central-1]\n")
    result = load_manifests([tmp_path])
    assert result.ok and result.config.prune.regions == ["us-west-2", "eu-central-1"]


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("plan:\n  nonSensitiveEnvKeys: [A]\n", 2, "plan.nonSensitiveEnvKeys", "did you mean"),
        ("plan:\n  nonSensitiveEnvironmentKeys: A\n", 2, "plan.nonSensitiveEnvironmentKeys", ""),
        ("plan:\n  nonSensitiveEnvironmentKeys: ['1 bad']\n", 2, "", "does not match"),
        ("projekts: []\n", 1, "projekts", "did you mean projects"),
        ("plan: !!bool maybe\n", 1, "plan", "'maybe' is not a valid !!bool value"),
        ("- a\n", 1, "", "must be a mapping"),
        ("prune:\n  regions: [us-east-1, Europe]\n", 2, "prune.regions[1]", "does not match"),
        ("prune:\n  region: [us-east-1]\n", 2, "prune.region", "did you mean regions"),
    ],
)
def test_repo_config_errors_have_file_line_and_path(
    tmp_path: Path, text: str, line: int, path: str, message: str
) -> None:
    (tmp_path / CONFIG_NAME).write_text(text)
    result = load_manifests([tmp_path])
    [problem] = result.diagnostics
    assert problem.file.endswith(CONFIG_NAME) and problem.line == line
    assert problem.path.startswith(path)
    assert message in problem.message


def test_repo_config_symlinked_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("plan: {}\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / CONFIG_NAME).symlink_to(outside)
    [problem] = load_manifests([root]).diagnostics
    assert "outside the manifest root" in problem.message


# -- promote never writes through a symlink out of -m --------------------------------------------


def test_promote_refuses_a_manifest_symlinked_out_of_the_root(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"churn.yaml": MULTI}) / "churn.yaml"
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "churn.yaml").symlink_to(outside)
    with pytest.raises(ManifestError, match="outside the manifest root"):
        collect(root)
    assert outside.read_text() == MULTI


def test_promote_checks_again_right_before_writing(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "manifests", {"churn.yaml": MULTI})
    files = collect(root)
    promotion = promoting.promote_files(files, "churn-xgb", 7)
    # Between reading and writing, the file is swapped for a symlink to a file outside -m.
    outside = write_tree(tmp_path / "outside", {"victim.yaml": "keep me\n"}) / "victim.yaml"
    (root / "churn.yaml").unlink()
    (root / "churn.yaml").symlink_to(outside)
    with pytest.raises(ManifestError, match="refusing to write it"):
        promoting.write(promotion)
    assert outside.read_text() == "keep me\n"
