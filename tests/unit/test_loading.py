"""Manifest loading: every problem becomes a diagnostic at the right file, line and field path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.errors import Diagnostic, ManifestError
from controller.manifests import yamlpos
from controller.manifests.loading import MAX_BYTES, LoadedManifest, load_manifests
from tests.unit.yaml_loaders import yaml_loader  # noqa: F401 (fixture)

# Every test here runs with libyaml composing nodes and with the pure loader alone.
pytestmark = pytest.mark.usefixtures("yaml_loader")

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"
REPO = Path(__file__).resolve().parents[2]

VALID = """\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: {name}
spec:
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: primary
      model: {{packageGroup: churn-xgb, version: 1}}
      instanceType: ml.m5.xlarge
"""


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the fixture tree so diagnostics show short, stable relative paths."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


# Each case: a fixture file and the exact diagnostics, as printed, in order.
CASES = {
    "missing-field": ["5: spec.executionRoleArn: required field is missing"],
    "extra-field-nested": [
        "12: spec.variants[0].model.versoin: unknown field, did you mean version? "
        "(allowed: packageGroup, version, environment, inferenceSpecificationName)"
    ],
    "wrong-type": [
        "9: spec.variants[0].model.version: Input should be a valid integer (got 'latest')",
        "12: spec.tags.cost-center: expected a string, got 42 (quote it in YAML)",
    ],
    "bad-pattern": [
        "4: metadata.name: 'churn_prod' does not match the pattern "
        "^(?:[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
    ],
    "bad-enum": [
        "10: spec.variants[0].instanceType: unknown instance type 'ml.m5.huge' "
        "(e.g. ml.m5.xlarge, ml.g5.2xlarge)",
        "14: spec.deployment.blueGreenUpdatePolicy.trafficRoutingConfiguration.type: "
        "must be 'ALL_AT_ONCE', 'CANARY' or 'LINEAR' (got 'GRADUAL')",
    ],
    "duplicate-key": [
        "11: spec.variants[0].instanceType: duplicate key 'instanceType' (first at line 10); "
        "YAML would silently keep only the last"
    ],
    "syntax-error": ["5: invalid YAML: mapping values are not allowed here"],
    "multi-doc": [
        "18: spec.variants[0].initialInstanceCount: Input should be greater than or equal to 1 "
        "(got 0)"
    ],
    "non-mapping": [
        "2: a manifest document must be a mapping with apiVersion, kind, metadata and spec, "
        "not a list"
    ],
    "wrong-api-version": [
        "1: apiVersion: unsupported apiVersion 'apps/v1' (expected sagemaker-gitops/v1)"
    ],
    "wrong-kind": [
        "2: kind: unknown kind 'Endpiont' (expected one of Endpoint, EndpointSet, "
        "EndpointTemplate, Pipeline, Target)"
    ],
    "capacity-conflict": ["8: spec.variants[0]: set exactly one of instanceType or serverless"],
    "env-key": [
        "11: spec.variants[0].model.environment[\"bad key\"]: key 'bad key' does not match the "
        "pattern ^(?:[a-zA-Z_][a-zA-Z0-9_]*)$"
    ],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_locations(in_fixtures: Path, case: str) -> None:
    result = load_manifests([f"invalid/{case}.yaml"])
    file = f"invalid/{case}.yaml"
    assert [str(d) for d in result.diagnostics] == [f"{file}:{line}" for line in CASES[case]]
    assert not result.ok
    assert result.files == [f"{case}.yaml"]


def test_multi_doc_keeps_the_valid_document(in_fixtures: Path) -> None:
    result = load_manifests(["invalid/multi-doc.yaml"])
    assert [(m.manifest.metadata.name, m.line, m.document) for m in result.manifests] == [
        ("first", 1, 0)
    ]


def test_collects_every_problem_in_every_file(in_fixtures: Path) -> None:
    result = load_manifests(["invalid"])
    expected_count = sum(len(lines) for lines in CASES.values())
    assert len(result.diagnostics) == expected_count
    files = [d.file for d in result.diagnostics]
    assert files == sorted(files), "diagnostics are ordered by file"
    assert len(result.files) == len(CASES)


def test_valid_tree(in_fixtures: Path) -> None:
    result = load_manifests(["valid"])
    assert result.ok, result.diagnostics
    # Hidden directories and non-YAML files are skipped; empty documents count for the index.
    assert result.files == ["multi.yaml", "prod/churn.yaml", "staging/serverless.yml"]
    assert [(m.source, m.line, m.document) for m in result.manifests] == [
        ("multi.yaml", 2, 0),
        ("multi.yaml", 12, 2),
        ("prod/churn.yaml", 1, 0),
        ("staging/serverless.yml", 1, 0),
    ]
    churn = result.manifests[2]
    assert isinstance(churn, LoadedManifest)
    assert churn.manifest.spec.variants[0].instance_count == 2
    result.raise_for_errors()


def test_duplicate_endpoint_names_across_files(in_fixtures: Path) -> None:
    result = load_manifests(["duplicates"])
    assert [str(d) for d in result.diagnostics] == [
        "duplicates/a.yaml:4: metadata.name: endpoint 'churn-prod' in the default region is "
        "also defined at duplicates/b.yaml:5",
        "duplicates/b.yaml:5: metadata.name: endpoint 'Churn-Prod' in the default region is "
        "also defined at duplicates/a.yaml:4",
    ]
    # Neither duplicate is handed on; the same name in another region is another endpoint.
    assert [m.source for m in result.manifests] == ["c.yaml"]


def test_source_is_relative_to_root_and_file_to_cwd(in_fixtures: Path) -> None:
    result = load_manifests([FIXTURES / "duplicates" / "a.yaml"], root=FIXTURES)
    assert result.manifests[0].source == "duplicates/a.yaml"
    result = load_manifests([FIXTURES / "invalid" / "missing-field.yaml"])
    assert result.files == ["missing-field.yaml"]
    assert result.diagnostics[0].file == "invalid/missing-field.yaml"
    assert result.source_of(result.diagnostics[0]) == "missing-field.yaml"


def test_file_named_twice_is_loaded_once(in_fixtures: Path) -> None:
    result = load_manifests(["valid", "valid/prod/churn.yaml"])
    assert result.ok
    assert [m.source for m in result.manifests].count("prod/churn.yaml") == 1


def test_missing_path(in_fixtures: Path) -> None:
    result = load_manifests(["nowhere.yaml"])
    assert result.diagnostics == [Diagnostic("nowhere.yaml", None, "", "no such file or directory")]
    with pytest.raises(ManifestError) as raised:
        result.raise_for_errors()
    assert raised.value.diagnostics == result.diagnostics


def test_oversized_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(VALID.format(name="big") + "#" * MAX_BYTES)
    result = load_manifests([big])
    assert [(d.line, d.path) for d in result.diagnostics] == [(1, "")]
    assert "larger than 1 MiB" in result.diagnostics[0].message
    assert result.files == ["big.yaml"]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n# caf\xe9\n")
    [diagnostic] = load_manifests([path]).diagnostics
    assert (diagnostic.line, diagnostic.path) == (3, "")
    assert "not UTF-8" in diagnostic.message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("apiVersion: !!python/object/apply:os.system ['true']\n")
    [diagnostic] = load_manifests([path]).diagnostics
    assert diagnostic.line == 1
    assert "unknown YAML tag !!python/object/apply:os.system" in diagnostic.message


def test_error_after_anchor_merge_points_at_the_merged_key(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "defaults: &d {instanceType: ml.m5.nope}\n"  # line 1: an unknown top-level key too
        + VALID.format(name="m").replace("      instanceType: ml.m5.xlarge\n", "      <<: *d\n")
    )
    lines = {d.path: d.line for d in load_manifests([path]).diagnostics}
    assert lines == {"defaults": 1, "spec.variants[0].instanceType": 1}


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 1), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\r\nb\r\n", 2), ("a\rb\u2028c", 3)],
)
def test_line_count_follows_yaml(text: str, count: int) -> None:
    assert yamlpos.line_count(text) == count


def _assert_well_formed(path: Path, text: str) -> None:
    result = load_manifests([path])
    lines = yamlpos.line_count(text)
    for diagnostic in result.diagnostics:
        assert diagnostic.file
        assert diagnostic.line is not None
        assert 1 <= diagnostic.line <= lines, (diagnostic, text)
        str(diagnostic)


_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(text=st.text())
def test_arbitrary_text_never_raises(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _assert_well_formed(path, text)


_KEYS = st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "name", "variants", "model", "version",
     "instanceType", "serverless", "tags", "region", "x"]
)  # fmt: skip
_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_DATA = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@_SETTINGS
@given(documents=st.lists(_DATA, min_size=1, max_size=3))
def test_arbitrary_yaml_data_never_raises(tmp_path: Path, documents: list[object]) -> None:
    text = yaml.safe_dump_all(documents, allow_unicode=True)
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    _assert_well_formed(path, text)


def test_example_manifests_validate() -> None:
    result = load_manifests([REPO / "manifests" / "endpoints"])
    assert result.ok, [str(d) for d in result.diagnostics]
    names = {m.manifest.metadata.name for m in result.manifests}
    assert names == {"churn-prod", "fraud-detector", "kmeans-segments"}


def test_parse_cache_reparses_only_changed_files(tmp_path: Path) -> None:
    from controller.manifests.loading import ParseCache

    source = FIXTURES / "valid"
    for file in [source / "multi.yaml", *sorted((source / "prod").glob("*.yaml"))]:
        (tmp_path / file.name).write_text(file.read_text())
    cache = ParseCache()
    first = load_manifests([tmp_path], cache=cache)
    edited = tmp_path / "multi.yaml"
    edited.write_text(edited.read_text() + "\n# a comment\n")

    second = load_manifests([tmp_path], cache=cache)

    assert first.ok and second.ok and len(first.manifests) == len(second.manifests) >= 2
    reused = [a is b for a, b in zip(first.manifests, second.manifests, strict=True)]
    sources = [m.source for m in second.manifests]
    assert {s for s, same in zip(sources, reused, strict=True) if not same} == {"multi.yaml"}
    assert any(reused)


# -- the service's incremental reload --------------------------------------------------------------


def _tree(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"team{i % 2}"
        folder.mkdir(exist_ok=True)
        (folder / f"e{i}.yaml").write_text(VALID.format(name=f"e{i}"))


def test_an_edit_of_one_file_among_many_reads_exactly_that_file(tmp_path: Path) -> None:
    from controller.manifests.loading import ParseCache

    _tree(tmp_path, 40)
    cache = ParseCache()
    assert len(load_manifests([tmp_path], root=tmp_path, cache=cache).manifests) == 40
    assert (cache.walks, cache.reads) == (1, 40)
    (tmp_path / "team1" / "e7.yaml").write_text(VALID.format(name="renamed"))
    result = load_manifests([tmp_path], root=tmp_path, cache=cache, changed={"team1/e7.yaml"})
    assert (cache.walks, cache.reads) == (1, 41), "no walk, one read"
    assert result.ok and "renamed" in {m.manifest.metadata.name for m in result.manifests}
    # A new file and a deleted one, named by the watcher.
    (tmp_path / "team0" / "new.yaml").write_text(VALID.format(name="new"))
    (tmp_path / "team0" / "e0.yaml").unlink()
    result = load_manifests(
        [tmp_path], root=tmp_path, cache=cache, changed={"team0/new.yaml", "team0/e0.yaml"}
    )
    assert (cache.walks, cache.reads) == (1, 42)
    names = {m.manifest.metadata.name for m in result.manifests}
    assert "new" in names and "e0" not in names and len(names) == 40


def test_a_removed_directory_named_by_the_watcher_walks_the_tree(tmp_path: Path) -> None:
    import shutil

    from controller.manifests.loading import ParseCache

    _tree(tmp_path, 6)
    cache = ParseCache()
    load_manifests([tmp_path], root=tmp_path, cache=cache)
    shutil.rmtree(tmp_path / "team1")
    result = load_manifests([tmp_path], root=tmp_path, cache=cache, changed={"team1/e1.yaml"})
    assert cache.walks == 2
    assert sorted(m.manifest.metadata.name for m in result.manifests) == ["e0", "e2", "e4"]
    # A symlink, a hidden or non-YAML name: discovery's rules apply, so a walk decides too.
    (tmp_path / "team0" / "link.yaml").symlink_to(tmp_path / "team0" / "e0.yaml")
    load_manifests([tmp_path], root=tmp_path, cache=cache, changed={"team0/link.yaml"})
    assert cache.walks == 3


def test_a_file_broken_by_an_edit_keeps_the_load_incomplete(tmp_path: Path) -> None:
    from controller.manifests.loading import ParseCache

    _tree(tmp_path, 4)
    cache = ParseCache()
    load_manifests([tmp_path], root=tmp_path, cache=cache)
    (tmp_path / "team0" / "e2.yaml").write_text(VALID.format(name="e2") + "  adopt: [\n")
    result = load_manifests([tmp_path], root=tmp_path, cache=cache, changed={"team0/e2.yaml"})
    # Not ok: the service never reads the endpoint missing from a broken load as removed.
    assert not result.ok and result.diagnostics[0].file.endswith("e2.yaml")
    assert "team0/e2.yaml" in result.files
