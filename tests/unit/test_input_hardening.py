"""Hostile and broken manifest trees: every case is a diagnostic (or a warning), never a hang,
a crash or an unbounded expansion.

Bounds are asserted on sizes and outcomes, never on time; pytest-timeout ends a hang.
"""

from __future__ import annotations

import errno
import os
import socket
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.core.snapshots import Snapshot
from controller.errors import Diagnostic
from controller.manifests import files, yamlpos
from controller.manifests.loading import MAX_PROBLEMS_PER_FILE, load_manifests
from tests.unit.yaml_loaders import yaml_loader  # noqa: F401 (fixture)

# Every test here runs with libyaml composing nodes and with the pure loader alone.
pytestmark = pytest.mark.usefixtures("yaml_loader")

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


def manifest(name: str = "churn", region: str | None = None, extra: str = "") -> str:
    lines = [
        "apiVersion: sagemaker-gitops/v1",
        "kind: Endpoint",
        "metadata:",
        f"  name: {name}",
        "spec:",
        *([f"  region: {region}"] if region else []),
        f"  executionRoleArn: {ROLE}",
        "  variants:",
        "    - name: primary",
        "      model: {packageGroup: churn-xgb, version: 1}",
        "      instanceType: ml.m5.xlarge",
    ]
    return "\n".join(lines) + "\n" + extra


def messages(root: Path) -> list[str]:
    return [str(d) for d in load_manifests([root]).diagnostics]


# -- symlinks ------------------------------------------------------------------------------------


def test_symlink_leaving_the_root_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "shadow.yaml"
    secret.parent.mkdir()
    secret.write_text("root: $6$hash-that-must-not-be-printed\n")
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "ok.yaml").write_text(manifest())
    (root / "evil.yaml").symlink_to(secret)

    result = load_manifests([root])

    [problem] = result.diagnostics
    assert problem.file.endswith("evil.yaml")
    assert "outside the manifest root; refusing to read it" in problem.message
    assert "hash-that-must-not-be-printed" not in str(problem)
    assert not result.ok and [m.source for m in result.manifests] == ["ok.yaml"]


def test_symlink_to_a_system_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "passwd.yaml").symlink_to("/etc/passwd")
    [problem] = load_manifests([tmp_path]).diagnostics
    assert "outside the manifest root" in problem.message


def test_symlinks_inside_the_root_are_read(tmp_path: Path) -> None:
    # Kubernetes ConfigMap volumes look like this: files are links into a hidden data directory.
    data = tmp_path / "..data"
    data.mkdir()
    (data / "churn.yaml").write_text(manifest())
    (tmp_path / "churn.yaml").symlink_to(data / "churn.yaml")
    result = load_manifests([tmp_path])
    assert result.ok and [m.source for m in result.manifests] == ["churn.yaml"]


def test_symlink_loops_are_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "up").symlink_to(tmp_path)  # a directory loop: never followed

    result = load_manifests([tmp_path])

    assert sorted(d.file.rsplit("/", 1)[-1] for d in result.diagnostics) == [
        "a.yaml",
        "b.yaml",
        "loop.yaml",
    ]
    assert all("cannot read file" in d.message for d in result.diagnostics)
    assert [w.file.rsplit("/", 1)[-1] for w in result.warnings] == ["up"]


# -- file types ----------------------------------------------------------------------------------


def test_fifo_in_a_directory_is_skipped_with_a_warning(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.yaml")  # nobody ever writes: opening it blocking would hang
    (tmp_path / "ok.yaml").write_text(manifest())

    result = load_manifests([tmp_path])

    assert result.ok and len(result.manifests) == 1
    [warning] = result.warnings
    assert warning.file.endswith("x.yaml")
    assert warning.message == "not a regular file (a FIFO); skipped"


def test_fifo_named_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.yaml")
    [problem] = load_manifests([tmp_path / "x.yaml"]).diagnostics
    assert problem.message == "not a regular file (a FIFO)"


def test_socket_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        result = load_manifests([tmp_path])
    assert result.ok
    assert [w.message for w in result.warnings] == ["not a regular file (a socket); skipped"]


def test_fifo_swapped_in_after_the_walk_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "late.yaml")
    problem = files.read_text(tmp_path / "late.yaml", "late.yaml")
    assert isinstance(problem, Diagnostic)
    assert problem.message == "not a regular file (a FIFO)"


def test_directory_named_like_a_manifest_is_walked(tmp_path: Path) -> None:
    folder = tmp_path / "team.yaml"
    folder.mkdir()
    (folder / "churn.yaml").write_text(manifest())
    for paths in ([tmp_path], [folder]):
        result = load_manifests(paths)
        assert result.ok and [m.manifest.metadata.name for m in result.manifests] == ["churn"]


def test_unreadable_file_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root (CI runs as root), so the permission error is injected at
    # the one place files are opened; the real-permission case follows for non-root runs.
    (tmp_path / "locked.yaml").write_text(manifest())
    real_open = os.open

    def refusing(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("locked.yaml"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    [problem] = load_manifests([tmp_path]).diagnostics
    assert problem.file.endswith("locked.yaml")
    assert problem.message == "cannot read file: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_by_mode(tmp_path: Path) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(manifest())
    path.chmod(0)
    [problem] = load_manifests([tmp_path]).diagnostics
    assert problem.message == "cannot read file: Permission denied"


# -- encodings and sizes -------------------------------------------------------------------------


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + manifest().encode())
    result = load_manifests([tmp_path])
    assert result.ok and len(result.manifests) == 1


def test_invalid_utf8_is_a_clean_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(manifest().encode() + b"# caf\xe9\n")
    [problem] = load_manifests([tmp_path]).diagnostics
    assert problem.line == manifest().count("\n") + 1
    assert problem.message == "file is not UTF-8 text (byte 0xe9 cannot be decoded)"


def test_utf16_is_named(tmp_path: Path) -> None:
    (tmp_path / "wide.yaml").write_bytes(manifest().encode("utf-16"))
    [problem] = load_manifests([tmp_path]).diagnostics
    assert problem.message == "file is UTF-16 text; save it as UTF-8"


def test_huge_file_is_refused_after_reading_one_byte_past_the_limit(tmp_path: Path) -> None:
    (tmp_path / "huge.yaml").write_bytes(b"# padding\n" * (files.MAX_BYTES // 10 + 1))
    [problem] = load_manifests([tmp_path]).diagnostics
    assert "larger than 1 MiB" in problem.message


def test_problems_per_file_are_capped(tmp_path: Path) -> None:
    (tmp_path / "many.yaml").write_text("---\n- not a manifest\n" * 500)
    problems = load_manifests([tmp_path]).diagnostics
    assert len(problems) == MAX_PROBLEMS_PER_FILE + 1
    assert problems[-1].message == "... and 400 more problem(s) in this file not shown"


# -- YAML bombs and tags -------------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def merge_bomb(levels: int, fan_out: int = 10) -> str:
    lines = ["k0: &k0 {a: 1, b: 2, c: 3}"]
    for level in range(1, levels):
        merged = ", ".join([f"*k{level - 1}"] * fan_out)
        lines.append(f"k{level}: &k{level} {{<<: [{merged}], x{level}: 1}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [BILLION_LAUGHS, merge_bomb(7)], ids=["aliases", "merge-keys"])
def test_alias_bombs_are_refused_before_expansion(text: str) -> None:
    documents, problems = yamlpos.parse(text)
    assert documents == []
    [problem] = problems
    assert "holds more than 100,000 values once aliases" in problem.message


def test_recursive_alias_is_refused() -> None:
    _, problems = yamlpos.parse("a: &a [*a]\n")
    assert [p.message for p in problems] == ["recursive YAML alias (a value that contains itself)"]


@pytest.mark.parametrize(
    "text",
    [
        "[" * (yamlpos.MAX_DEPTH + 1) + "]" * (yamlpos.MAX_DEPTH + 1),
        "[" * 5_000 + "]" * 5_000,
        "{a: " * 300_000,
        "- " * 300_000 + "x",
        "".join(" " * i + f"k{i}:\n" for i in range(1_000)) + " " * 1_000 + "x\n",
    ],
    ids=["just-too-deep", "flow", "flow-mapping-1MiB", "block-sequence", "indentation"],
)
def test_deep_nesting_is_refused(text: str) -> None:
    _, problems = yamlpos.parse(text)
    [problem] = problems
    assert problem.message.startswith("YAML nesting is too deep")


def test_modest_nesting_and_aliases_are_fine() -> None:
    documents, problems = yamlpos.parse("a: &x {b: [1, 2]}\nc: *x\nd: " + "[" * 20 + "]" * 20)
    assert problems == [] and documents[0].data["c"] == {"b": [1, 2]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!bool maybe", "'maybe' is not a valid !!bool value"),
        ("!!int twelve", "'twelve' is not a valid !!int value"),
        ("!!float x", "'x' is not a valid !!float value"),
        ("!!timestamp soon", "'soon' is not a valid !!timestamp value"),
        ("!!python/object:os.system {}", "unknown YAML tag !!python/object:os.system"),
        ("!!python/name:os.system ''", "unknown YAML tag !!python/name:os.system"),
        ("!vault secret", "unknown YAML tag !vault"),
    ],
)
def test_tag_errors_have_line_and_path(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "tagged.yaml").write_text(manifest() + f"  adopt: {value}\n")
    [problem] = load_manifests([tmp_path]).diagnostics
    assert problem.line == manifest().count("\n") + 1
    assert problem.path == "spec.adopt"
    assert problem.message.startswith(message)


def test_every_tag_error_of_a_document_is_reported() -> None:
    _, problems = yamlpos.parse("a: !!bool maybe\nb: [!!int x, !nope 1]\n")
    assert [(p.line, p.loc) for p in problems] == [(1, ("a",)), (2, ("b", 0)), (2, ("b", 1))]


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(manifest() + "  adopt: true\n  adopt: false\n")
    [problem] = load_manifests([tmp_path]).diagnostics
    last = manifest().count("\n") + 2
    assert (problem.line, problem.path) == (last, "spec.adopt")
    assert f"(first at line {last - 1})" in problem.message


# -- one pass: every error of a file at once -----------------------------------------------------


def test_cross_field_errors_come_with_field_errors(tmp_path: Path) -> None:
    deployment = textwrap.indent(
        textwrap.dedent("""\
            deployment:
              blueGreenUpdatePolicy:
                trafficRoutingConfiguration: {type: CANARY, waitIntervalInSeconds: 60}
              rollingUpdatePolicy:
                maximumBatchSize: {type: INSTANCE_COUNT, value: 1}
                waitIntervalInSeconds: 60
              autoRollbackConfiguration: {alarms: []}
            """),
        "  ",
    )
    bad_variant = (
        '    - name: primary\n      model: {image: "bad image"}\n      initialWeight: -1\n'
    )
    (tmp_path / "many.yaml").write_text(manifest(extra=bad_variant + deployment))

    found = {(d.path, d.message) for d in load_manifests([tmp_path]).diagnostics}

    assert found >= {
        ("spec.deployment", "set at most one of blueGreenUpdatePolicy or rollingUpdatePolicy"),
        (
            "spec.deployment.blueGreenUpdatePolicy.trafficRoutingConfiguration",
            "canarySize is required for CANARY and only allowed there",
        ),
        (
            "spec.deployment.autoRollbackConfiguration.alarms",
            "name at least one alarm, or give fromPipeline",
        ),
        ("spec.variants[1]", "set exactly one of instanceType or serverless"),
        ("spec", "variant names must be unique; repeated: primary"),
    }
    paths = {path for path, _ in found}
    assert "spec.variants[1].initialWeight" in paths
    assert any(p.startswith("spec.variants[1].model") for p in paths)


def test_cross_field_rules_still_hold_alone(tmp_path: Path) -> None:
    serverless = (
        "    - name: extra\n      model: {packageGroup: g, version: 1}\n"
        "      serverless: {memorySizeInMB: 2048, maxConcurrency: 2, provisionedConcurrency: 5}\n"
        "      initialWeight: 0\n"
    )
    (tmp_path / "one.yaml").write_text(manifest(extra=serverless))
    assert [d.message for d in load_manifests([tmp_path]).diagnostics] == [
        "provisionedConcurrency must not exceed maxConcurrency"
    ]


# -- endpoints defined twice once the default region is known ------------------------------------


def test_same_endpoint_with_and_without_the_default_region(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(manifest(region="us-east-1"))
    (tmp_path / "b.yaml").write_text(manifest(name="Churn"))
    (tmp_path / "other.yaml").write_text(manifest(name="other"))
    result = load_manifests([tmp_path])
    assert result.ok  # offline, the default region is unknown

    snapshot = Snapshot.build(result, None, lambda: "us-east-1")

    assert not snapshot.ok
    assert snapshot.keys() == ["us-east-1/other"]
    by_file = {d.file.rsplit("/", 1)[-1]: d for d in snapshot.diagnostics}
    assert set(by_file) == {"a.yaml", "b.yaml"}
    assert by_file["a.yaml"].path == "metadata.name" and by_file["a.yaml"].line == 4
    assert "in region us-east-1 is also defined at" in by_file["a.yaml"].message
    assert by_file["a.yaml"].message.endswith("b.yaml:4")
    assert "in the default region us-east-1 is also defined at" in by_file["b.yaml"].message


def test_other_default_region_is_no_duplicate(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(manifest(region="eu-west-1"))
    (tmp_path / "b.yaml").write_text(manifest())
    snapshot = Snapshot.build(load_manifests([tmp_path]), None, lambda: "us-east-1")
    assert snapshot.ok and snapshot.keys() == ["eu-west-1/churn", "us-east-1/churn"]


# -- scale ---------------------------------------------------------------------------------------


def test_ten_thousand_files(tmp_path: Path) -> None:
    # Discovery, the checks on each path and reading scale with the number of files; most files
    # hold only a comment so that the (pure-Python) YAML parse of real manifests, measured
    # elsewhere, does not dominate. Every 1000th is a real manifest.
    for index in range(10_000):
        folder = tmp_path / f"d{index // 500}"
        folder.mkdir(exist_ok=True)
        text = manifest(f"e{index}") if index % 1000 == 0 else f"# endpoint {index}\n"
        (folder / f"e{index}.yaml").write_text(text)
    result = load_manifests([tmp_path])
    assert len(result.files) == 10_000
    assert result.ok and len(result.manifests) == 10


# -- anything at all -----------------------------------------------------------------------------

_scalars = st.one_of(
    st.sampled_from(["!!bool maybe", "!!int x", "!x y", "&a 1", "*a", "*zz", "<<: *a", "~", "''"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(["", "- ", "k: ", "? ", "[", "{", "---"]), _scalars
        ),
        max_size=12,
    ),
    st.binary(max_size=8),
)
def test_any_text_is_diagnostics_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[tuple[int, str, str]],
    tail: bytes,
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    text = "\n".join(" " * indent + lead + value for indent, lead, value in lines)
    (root / "fuzz.yaml").write_bytes(manifest().encode() + text.encode() + tail)
    result = load_manifests([root])
    for diagnostic in result.diagnostics:
        assert diagnostic.file.endswith("fuzz.yaml")
        assert diagnostic.message and "Traceback" not in diagnostic.message
        assert diagnostic.line is None or diagnostic.line >= 1


def test_documents_per_file_are_bounded() -> None:
    documents, problems = yamlpos.parse("---\na: 1\n" * (yamlpos.MAX_DOCUMENTS + 100))
    assert len(documents) == yamlpos.MAX_DOCUMENTS
    assert [p.message for p in problems] == [
        f"more than {yamlpos.MAX_DOCUMENTS} YAML documents in one file; the rest is not read"
    ]


def test_a_document_of_unknown_keys_reports_a_bounded_number(tmp_path: Path) -> None:
    keys = "".join(f"k{i}: v\n" for i in range(5_000))
    (tmp_path / "keys.yaml").write_text("apiVersion: sagemaker-gitops/v1\n" + keys)
    problems = load_manifests([tmp_path]).diagnostics
    assert len(problems) == MAX_PROBLEMS_PER_FILE + 1
    assert problems[-1].message.startswith("... and ")


# -- libyaml and the pure loader agree -----------------------------------------------------------


def _parsed(text: str) -> tuple[list[tuple[int, int, object]], list[yamlpos.Problem]]:
    documents, problems = yamlpos.parse(text)
    return [(d.index, d.line, d.data) for d in documents], problems


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(["", "- ", "k: ", "? ", "[", "{", "---"]), _scalars
        ),
        max_size=12,
    )
)
def test_libyaml_and_the_pure_loader_give_the_same_result(
    lines: list[tuple[int, str, str]],
) -> None:
    if yamlpos.FAST_LOADER is None:  # the module's pure-loader run, or PyYAML without libyaml
        pytest.skip("compares libyaml with the pure loader: runs in the libyaml run only")
    text = manifest() + "\n".join(" " * indent + lead + value for indent, lead, value in lines)
    fast = _parsed(text)
    pure_loader, yamlpos.FAST_LOADER = yamlpos.FAST_LOADER, None
    try:
        assert fast == _parsed(text)
    finally:
        yamlpos.FAST_LOADER = pure_loader


def test_clean_text_is_composed_by_libyaml_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    if yamlpos.FAST_LOADER is None:  # the module's pure-loader run, or PyYAML without libyaml
        pytest.skip("compares libyaml with the pure loader: runs in the libyaml run only")
    pure: list[str] = []

    class Counted(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            pure.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "SafeLoader", Counted)
    documents, problems = yamlpos.parse(manifest())
    assert problems == [] and documents[0].data["metadata"] == {"name": "churn"}
    assert pure == []
    # Any problem sends the text through the pure loader, whose messages and lines are pinned.
    broken = manifest() + "  adopt: [\n"
    _, problems = yamlpos.parse(broken)
    assert pure == [broken] and problems[0].message.startswith("invalid YAML")
