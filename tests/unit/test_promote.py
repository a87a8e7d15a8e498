"""`promote`: only the version scalars change, the target is chosen right, git commits are exact.

Pure parts (finding references, rewriting, choosing the version) are tested directly; the
registry listing through a fake client at our own boundary (`promoting.list_group`'s argument);
the command end to end through `controller.cli.main` against the local sandbox.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from controller.cli import main
from controller.core.packages import PackageVersion
from controller.edits import promoting
from controller.errors import ManifestError, ResolutionError
from controller.manifests.loading import load_manifests

if TYPE_CHECKING:
    from controller.sandbox import Sandbox

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"

# Two endpoints use churn-xgb in one file, with comments, blank lines, odd indentation, flow and
# block mappings, quoting, and a variant of another group that must not change.
MULTI = f"""\
# Churn endpoints: reviewed by the ML platform team.
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: churn-prod    # the production endpoint
  labels: {{env: prod,  team: "ml"}}
spec:
  executionRoleArn: '{ROLE}'
  variants:
  - name: primary
    model: {{packageGroup: churn-xgb, version: 6}}   # pinned by promote


    instanceType:   ml.m5.xlarge
    initialInstanceCount: 2
  -   name: fraud
      model:
          version: 6          # same number, other group: untouched
          packageGroup: "fraud-detector"
      serverless: {{memorySizeInMB: 2048, maxConcurrency: 5}}
---
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: churn-dev}}
spec:
  executionRoleArn: "{ROLE}"
  variants:
    - {{name: a, model: {{version: 5, packageGroup: churn-xgb}}, instanceType: ml.m5.large}}
"""
# 1-based line -> (text before, text after) for the only lines that may change.
CHANGED_LINES = {11: ("version: 6}", "version: 7}"), 28: ("version: 5,", "version: 7,")}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def collect(root: Path, group: str = "churn-xgb") -> list[promoting.ManifestFile]:
    loaded = load_manifests([root], root=root)
    loaded.raise_for_errors()
    return promoting.collect(root, "m", loaded.manifests, group)


ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:model-package"


def version(number: int, approval: str = "Approved", group: str = "churn-xgb") -> PackageVersion:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{number}"
    return PackageVersion(group=group, version=number, arn=arn, approval=approval)


# Finding and rewriting.


def test_only_the_version_values_change(tmp_path: Path) -> None:
    files = collect(write_tree(tmp_path, {"prod/churn.yaml": MULTI}))
    assert [f.shown for f in files] == ["m/prod/churn.yaml"]
    refs = files[0].refs
    assert [(r.endpoint, r.variant, r.current, r.line) for r in refs] == [
        ("churn-prod", "primary", 6, 11),
        ("churn-dev", "a", 5, 28),
    ]
    promotion = promoting.promote_files(files, "churn-xgb", 7)
    after = promotion.edits[0].after
    before_lines, after_lines = MULTI.splitlines(), after.splitlines()
    assert len(before_lines) == len(after_lines)
    for number, (old, new) in enumerate(zip(before_lines, after_lines, strict=True), start=1):
        if number in CHANGED_LINES:
            fragment, replacement = CHANGED_LINES[number]
            assert fragment in old
            assert new == old.replace(fragment, replacement)
        else:
            assert new == old, f"line {number} changed"
    assert promotion.previous == [5, 6]


def test_diff_is_a_unified_diff_of_the_version_lines(tmp_path: Path) -> None:
    files = collect(write_tree(tmp_path, {"prod/churn.yaml": MULTI}))
    diff = promoting.promote_files(files, "churn-xgb", 7).diff()
    assert diff.startswith("--- a/m/prod/churn.yaml\n+++ b/m/prod/churn.yaml\n")
    changed = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ]
    assert changed == [
        "-    model: {packageGroup: churn-xgb, version: 6}   # pinned by promote",
        "+    model: {packageGroup: churn-xgb, version: 7}   # pinned by promote",
        "-    - {name: a, model: {version: 5, packageGroup: churn-xgb}, instanceType: ml.m5.large}",
        "+    - {name: a, model: {version: 7, packageGroup: churn-xgb}, instanceType: ml.m5.large}",
    ]


def test_crlf_line_endings_survive(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_bytes(MULTI.replace("\n", "\r\n").encode())
    promotion = promoting.promote_files(collect(tmp_path), "churn-xgb", 7)
    promoting.write(promotion)
    data = path.read_bytes()
    assert data.count(b"\r\n") == MULTI.count("\n") and b"version: 7}" in data


def test_references_at_the_target_are_left_alone(tmp_path: Path) -> None:
    files = collect(write_tree(tmp_path, {"churn.yaml": MULTI}))
    promotion = promoting.promote_files(files, "churn-xgb", 6)
    assert [r.endpoint for e in promotion.edits for r in e.changed] == ["churn-dev"]
    assert promotion.commit_message().startswith("chore(promote): churn-xgb 5 -> 6\n\n")


def test_nothing_to_promote_when_all_are_at_target(tmp_path: Path) -> None:
    text = MULTI.replace("version: 5", "version: 7").replace("version: 6}", "version: 7}")
    files = collect(write_tree(tmp_path, {"churn.yaml": text}))
    assert promoting.promote_files(files, "churn-xgb", 7).edits == ()


def test_other_groups_and_files_are_not_touched(tmp_path: Path) -> None:
    other = (
        MULTI.split("---\n")[1]
        .replace("churn-xgb", "fraud-detector")
        .replace("churn-dev", "fraud-dev")
    )
    files = collect(write_tree(tmp_path, {"churn.yaml": MULTI, "fraud.yaml": other}))
    assert [f.path.name for f in files] == ["churn.yaml"]
    fraud = collect(tmp_path, "fraud-detector")
    assert [(f.path.name, [r.endpoint for r in f.refs]) for f in fraud] == [
        ("churn.yaml", ["churn-prod"]),
        ("fraud.yaml", ["fraud-dev"]),
    ]


def test_version_shared_through_an_alias_is_refused(tmp_path: Path) -> None:
    text = f"""\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: churn-prod}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: a
      model: &churn {{packageGroup: churn-xgb, version: 6}}
      instanceType: ml.m5.large
    - name: b
      model: *churn
      instanceType: ml.m5.large
"""
    with pytest.raises(ManifestError) as caught:
        collect(write_tree(tmp_path, {"churn.yaml": text}))
    message = str(caught.value)
    assert "m/churn.yaml:" in message and "YAML anchor, alias or merge key" in message


def test_mixed_versions_in_one_endpoint_are_reported(tmp_path: Path) -> None:
    text = (
        MULTI.split("---\n")[0]
        .replace('"fraud-detector"', "churn-xgb")
        .replace("version: 6  ", "version: 5  ")
    )
    files = collect(write_tree(tmp_path, {"churn.yaml": text}))
    assert promoting.mixed_versions(files) == [
        "m/churn.yaml: churn-prod pins different versions (primary=6, fraud=5)"
    ]
    assert promoting.mixed_versions(collect(write_tree(tmp_path, {"churn.yaml": MULTI}))) == []


def test_commit_message_lists_files_and_endpoints(tmp_path: Path) -> None:
    files = collect(write_tree(tmp_path, {"prod/churn.yaml": MULTI}))
    message = promoting.promote_files(files, "churn-xgb", 7).commit_message()
    assert message == (
        "chore(promote): churn-xgb 5, 6 -> 7\n\n"
        "Set model package group churn-xgb to version 7 in:\n"
        "- m/prod/churn.yaml: churn-prod (primary); churn-dev (a)\n"
    )


# Choosing the version, with a fake client at our boundary.


class FakePaginator:
    def __init__(self, pages: list[list[dict[str, Any]]], calls: list[dict[str, Any]]) -> None:
        self.pages, self.calls = pages, calls

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        for page in self.pages:
            yield {"ModelPackageSummaryList": page}


class FakeSageMaker:
    """Just the ListModelPackages paginator, page by page, as botocore hands it out."""

    def __init__(self, pages: list[list[dict[str, Any]]], error: ClientError | None = None) -> None:
        self.pages, self.error = pages, error
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> FakePaginator:
        assert name == "list_model_packages"
        if self.error is not None:
            raise self.error
        return FakePaginator(self.pages, self.calls)


def summary(number: int, approval: str) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": "churn-xgb",
        "ModelPackageVersion": number,
        "ModelPackageArn": f"{ARN_PREFIX}/churn-xgb/{number}",
        "ModelApprovalStatus": approval,
    }


PAGES = [
    # Ascending on the first page, so its first element is the *oldest* version.
    [summary(1, "Approved"), summary(2, "Approved")],
    [summary(9, "PendingManualApproval"), summary(3, "Rejected")],
    [summary(8, "Approved"), summary(4, "Approved"), summary(10, "Rejected")],
]


def test_latest_approved_reads_every_page() -> None:
    client = FakeSageMaker(PAGES)
    versions = promoting.list_group(client, "churn-xgb")
    assert client.calls == [{"ModelPackageGroupName": "churn-xgb", "ModelPackageType": "Versioned"}]
    assert sorted(versions) == [1, 2, 3, 4, 8, 9, 10]
    assert promoting.latest_approved(versions) == 8
    listings = {"us-east-1": versions}
    assert promoting.choose_target(listings, "churn-xgb", promoting.LATEST_APPROVED) == 8


def test_latest_approved_is_independent_of_order() -> None:
    for pages in (PAGES, PAGES[::-1], [[s for page in PAGES for s in page][::-1]]):
        assert promoting.latest_approved(promoting.list_group(FakeSageMaker(pages), "g")) == 8


def test_no_approved_version_is_refused() -> None:
    versions = promoting.list_group(FakeSageMaker([[summary(1, "Rejected")]]), "churn-xgb")
    assert promoting.latest_approved(versions) is None
    with pytest.raises(ResolutionError, match="no Approved version in us-east-1"):
        promoting.choose_target({"us-east-1": versions}, "churn-xgb", promoting.LATEST_APPROVED)


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("9", "version 9 is PendingManualApproval, not Approved"),
        ("3", "is Rejected"),
        ("11", "has no version 11"),
    ],
)
def test_explicit_version_must_exist_and_be_approved(to: str, message: str) -> None:
    listings = {"us-east-1": promoting.list_group(FakeSageMaker(PAGES), "churn-xgb")}
    with pytest.raises(ResolutionError, match=message):
        promoting.choose_target(listings, "churn-xgb", to)
    assert promoting.choose_target(listings, "churn-xgb", "4") == 4


def test_several_regions_need_the_version_approved_in_each() -> None:
    east = {n: version(n) for n in (1, 2, 3)}
    west = {1: version(1), 2: version(2), 3: version(3, "PendingManualApproval")}
    listings = {"us-east-1": east, "eu-west-1": west}
    assert promoting.choose_target(listings, "churn-xgb", promoting.LATEST_APPROVED) == 2
    with pytest.raises(ResolutionError, match=r"^eu-west-1: churn-xgb version 3 is Pending"):
        promoting.choose_target(listings, "churn-xgb", "3")


def test_missing_group_is_a_resolution_error() -> None:
    error = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "group does not exist"}},
        "ListModelPackages",
    )
    with pytest.raises(ResolutionError, match="'nope': group does not exist"):
        promoting.list_group(FakeSageMaker([], error), "nope")


# The command, end to end against the sandbox (seed: churn-xgb 1, 2 Approved; 3 Pending).


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the manifests, everything committed."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "Test")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "commit.gpgsign", "false")
    other = (
        MULTI.split("---\n")[1]
        .replace("churn-xgb", "fraud-detector")
        .replace("churn-dev", "fraud-dev")
    )
    write_tree(
        tmp_path,
        {
            "manifests/prod/churn.yaml": MULTI.replace("version: 6}", "version: 1}").replace(
                "version: 5", "version: 1"
            ),
            "manifests/fraud.yaml": other,
            "README.md": "x\n",
        },
    )
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


@pytest.fixture
def aws(seeded_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name, value in seeded_sandbox.env().items():
        monkeypatch.setenv(name, value)
    seeded_sandbox.reset_calls()
    return seeded_sandbox


def test_cli_promotes_to_latest_approved_and_only_reads(
    aws: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    assert main(["promote", "--group", "churn-xgb", "-m", "manifests"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("--- a/manifests/prod/churn.yaml\n+++ b/manifests/prod/churn.yaml\n")
    assert "+    model: {packageGroup: churn-xgb, version: 2}   # pinned by promote" in out
    assert err == "promoted churn-xgb 1 -> 2 in 1 file(s)\n"
    assert git(repo, "diff", "--numstat") == "2\t2\tmanifests/prod/churn.yaml\n"
    assert set(aws.calls()) == {"ListModelPackages"}


def test_cli_dry_run_writes_nothing(
    aws: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    assert (
        main(["promote", "--group", "churn-xgb", "--to", "2", "-m", "manifests", "--dry-run"]) == 0
    )
    assert "+++ b/manifests/prod/churn.yaml" in capsys.readouterr().out
    assert git(repo, "status", "--porcelain") == ""


def test_cli_commit_commits_exactly_the_changed_files(
    aws: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo / "manifests")  # not the repository top
    (repo / "README.md").write_text("staged, not part of the promotion\n")
    git(repo, "add", "README.md")
    assert main(["promote", "--group", "churn-xgb", "--to", "2", "-m", ".", "--commit"]) == 0
    assert "commit " in capsys.readouterr().err
    assert git(repo, "log", "-1", "--format=%B") == (
        "chore(promote): churn-xgb 1 -> 2\n\n"
        "Set model package group churn-xgb to version 2 in:\n"
        "- manifests/prod/churn.yaml: churn-prod (primary); churn-dev (a)\n\n"
    )
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "manifests/prod/churn.yaml\n"
    assert git(repo, "status", "--porcelain") == "M  README.md\n"


def test_cli_commit_refuses_files_with_uncommitted_edits(
    aws: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    churn = repo / "manifests/prod/churn.yaml"
    churn.write_text(churn.read_text() + "# local edit\n")
    code = main(["promote", "--group", "churn-xgb", "-m", str(repo / "manifests"), "--commit"])
    assert code == 1
    assert "uncommitted" in capsys.readouterr().err
    assert churn.read_text().endswith("# local edit\n") and "version: 2" not in churn.read_text()
    assert git(repo, "rev-list", "--count", "HEAD") == "1\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "3"], "churn-xgb version 3 is PendingManualApproval, not Approved"),
        (["--to", "7"], "has no version 7"),
    ],
)
def test_cli_refuses_unapproved_or_missing_versions(
    aws: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = (repo / "manifests/prod/churn.yaml").read_text()
    assert main(["promote", "--group", "churn-xgb", "-m", str(repo / "manifests"), *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and message in err and "Traceback" not in err
    assert (repo / "manifests/prod/churn.yaml").read_text() == before


def test_cli_nothing_to_promote(
    aws: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["promote", "--group", "fraud-detector", "--to", "5", "-m", str(repo / "manifests")])
        == 1
    )
    capsys.readouterr()
    manifests = str(repo / "manifests")
    assert main(["promote", "--group", "churn-xgb", "--to", "2", "-m", manifests]) == 0
    capsys.readouterr()
    assert main(["promote", "--group", "churn-xgb", "-m", manifests]) == 0
    assert (
        capsys.readouterr().out
        == "nothing to promote: churn-xgb is at version 2 in every manifest\n"
    )


def test_cli_unknown_group(aws: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["promote", "--group", "nope", "-m", str(repo / "manifests")]) == 1
    assert "no manifest under" in capsys.readouterr().err


def test_cli_rejects_a_bad_version_argument(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["promote", "--group", "g", "--to", "v7", "-m", str(tmp_path)])
    assert caught.value.code == 2
    assert "latest-approved" in capsys.readouterr().err


COMPONENTS = f"""\
apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: shared}}
spec:
  executionRoleArn: '{ROLE}'
  variants:
    - name: pool
      instanceType: ml.g5.12xlarge
      initialInstanceCount: 1
  inferenceComponents:
    - name: churn
      variant: pool
      model: {{packageGroup: churn-xgb, version: 6}}   # moved by promote
      compute: {{minMemoryMb: 1024}}
      copies: 1
    - name: fraud
      variant: pool
      model: {{packageGroup: fraud-detector, version: 6}}
      compute: {{minMemoryMb: 1024}}
      copies: 1
"""


def test_an_inference_components_version_is_promoted_too(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "m", {"shared.yaml": COMPONENTS})

    files = collect(root)
    promotion = promoting.promote_files(files, "churn-xgb", 7)

    assert [(r.endpoint, r.variant, r.current) for r in files[0].refs] == [("shared", "churn", 6)]
    after = promotion.edits[0].after
    assert after.count("version: 7") == 1
    assert "packageGroup: churn-xgb, version: 7}   # moved by promote" in after
    assert "packageGroup: fraud-detector, version: 6}" in after
