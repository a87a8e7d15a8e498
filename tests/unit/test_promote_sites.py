"""Where `promote` edits a templated endpoint's version, and its selectors (pure: no AWS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.edits import sites
from controller.edits.selection import Selectors, label
from controller.errors import ControllerError
from controller.manifests.loading import LoadedManifest, load_manifests

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "templated"


def loaded() -> list[LoadedManifest]:
    result = load_manifests([EXAMPLE], root=EXAMPLE)
    assert result.diagnostics == []
    return result.manifests


def test_a_version_is_edited_where_it_is_written() -> None:
    found = {
        (s.source, s.line, s.template): s.endpoints for s in sites.locate(loaded(), "churn-xgb")
    }
    assert found == {
        ("churn.template.yaml", 16, "churn"): ["churn in prod-us-west-2", "churn in staging"],
        ("prod-us-east-1.yaml", 13, None): ["churn in prod-us-east-1"],
    }


def test_selectors_match_name_target_and_every_label() -> None:
    everyone = loaded()
    by_target = Selectors(targets=("staging", "prod-us-west-2")).select(everyone)
    assert sorted(e.manifest.spec.target for e in by_target) == ["prod-us-west-2", "staging"]
    prod = Selectors(labels=(("env", "prod"), ("team", "retention"))).select(everyone)
    assert sorted(e.manifest.spec.target for e in prod) == ["prod-us-east-1", "prod-us-west-2"]
    assert len(Selectors(endpoints=("churn",)).select(everyone)) == 3
    with pytest.raises(ControllerError, match="no endpoint matches --label env=dev"):
        Selectors(labels=(("env", "dev"),)).select(everyone)


def test_a_template_line_spills_onto_endpoints_left_out() -> None:
    everyone = loaded()
    staging = Selectors(targets=("staging",)).select(everyone)
    spilled = sites.spill(sites.locate(staging, "churn-xgb"), sites.locate(everyone, "churn-xgb"))
    assert list(spilled.values()) == [["churn in prod-us-west-2"]]
    both = Selectors(targets=("staging", "prod-us-west-2")).select(everyone)
    assert sites.spill(sites.locate(both, "churn-xgb"), sites.locate(everyone, "churn-xgb")) == {}


def test_label_arguments() -> None:
    assert label("env=prod") == ("env", "prod")
    assert label("empty=") == ("empty", "")
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        label("env")
