"""The repository config's change as a reviewer reads it (manifests/projects/configchanges)."""

from __future__ import annotations

from controller.manifests.projects.configchanges import summarize

FRAUD = {"name": "fraud", "paths": ["teams/fraud/**"], "targets": ["staging"]}


def test_projects_are_compared_by_name() -> None:
    old = {"projects": [FRAUD, {"name": "churn", "paths": ["teams/churn/**"]}]}
    new = {"projects": [{**FRAUD, "targets": ["staging", "prod"], "prune": False}]}
    assert summarize(old, new) == [
        "project churn: removed",
        "project fraud: prune, targets changed",
    ]


def test_other_keys_say_what_moved() -> None:
    old = {"targets": {"paths": ["platform/**"]}, "plan": {"x": 1}}
    new = {"targets": {"paths": ["**"]}, "prune": {"regions": ["eu-west-1"]}}
    assert summarize(old, new) == ["plan: removed", "prune: added", "targets: paths"]


def test_adding_or_removing_the_file_or_every_project() -> None:
    assert summarize(None, {"projects": [FRAUD]}) == [
        "the repository config is added",
        "project fraud: added",
    ]
    assert summarize({"projects": [FRAUD]}, None) == [
        "the repository config is removed: every restriction it held is lifted"
    ]
    assert summarize({"projects": [FRAUD]}, {}) == [
        "projects: removed (every manifest may now deploy anything, anywhere)"
    ]
    assert summarize({"projects": [FRAUD]}, {"projects": [FRAUD]}) == []
