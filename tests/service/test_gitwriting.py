"""GitWriter against a real local bare repository (and the loopback GitHub fake): one commit per
promotion, a human's commit never lost, one pull request in flight per stage."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from controller.promotion.gitwriting import Change, GitWriter, WriteError, Written
from controller.promotion.pullrequests import (
    Decision,
    MergeRequests,
    PullRequests,
    project_of,
    repository_of,
)
from tests.e2e.forgefakes import fake_github, fake_gitlab
from tests.e2e.test_targets import GROUP_ARN, PROD, STAGING, endpoint, target
from tests.service.test_gitsource import git

PIPELINE = f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: staging
      endpoints: {{targets: [staging]}}
    - name: prod
      endpoints: {{targets: [prod]}}
      write: pullRequest
"""


class Repo:
    """A bare origin and a human's clone of it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        self.human = root / "human"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git(root, "clone", "--quiet", str(self.bare), str(self.human))
        git(self.human, "checkout", "--quiet", "-B", "main")
        files = {
            "manifests/targets/staging.yaml": target("staging", STAGING, "us-east-1"),
            "manifests/targets/prod.yaml": target("prod", PROD, "us-east-1"),
            "manifests/staging/churn.yaml": "# staging's churn endpoint\n"
            + endpoint("churn", "staging"),
            "manifests/prod/churn.yaml": endpoint("churn", "prod"),
            "manifests/pipeline.yaml": PIPELINE,
        }
        self.commit(files, "initial")

    def commit(self, files: dict[str, str], message: str) -> None:
        git(self.human, "pull", "--quiet", "--rebase", "origin", "main") if self.log() else None
        for name, text in files.items():
            path = self.human / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.human, "add", "--all")
        git(self.human, "commit", "--quiet", "-m", message)
        git(self.human, "push", "--quiet", "origin", "HEAD:refs/heads/main")

    def log(self, ref: str = "main") -> list[str]:
        try:
            return git(self.bare, "log", "--format=%s", ref).splitlines()
        except subprocess.CalledProcessError:
            return []

    def show(self, path: str, ref: str = "main") -> str:
        return git(self.bare, "show", f"{ref}:{path}")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "remote")


def writer(repo: Repo, workdir: Path, **extra: object) -> GitWriter:
    return GitWriter(
        str(repo.bare),
        branch="main",
        path="manifests",
        workdir=workdir,
        **extra,  # type: ignore[arg-type]
    )


def change(stage: str, version: int, mode: str = "commit") -> Change:
    return Change("churn", stage, GROUP_ARN, version, "promote", mode, "v2 Verified in dev.")  # type: ignore[arg-type]


def test_a_promotion_is_one_commit_however_often_it_is_asked(repo: Repo, tmp_path: Path) -> None:
    write = writer(repo, tmp_path / "w")

    first = write.write(change("staging", 2))
    again = write.write(change("staging", 2))

    assert first.outcome == "committed" and first.previous == (1,)
    assert again.outcome == "unchanged"
    assert repo.log() == ["promote(staging): churn v1 -> v2", "initial"]
    text = repo.show("manifests/staging/churn.yaml")
    assert text.startswith("# staging's churn endpoint\n") and "version: 2" in text
    assert "version: 1" in repo.show("manifests/prod/churn.yaml")  # only the stage moved
    body = git(repo.bare, "log", "-1", "--format=%b", "main")
    assert "v2 Verified in dev." in body and "manifests/staging/churn.yaml" in body


def test_a_human_commit_during_a_promotion_is_kept(repo: Repo, tmp_path: Path) -> None:
    """The push loses the race to a human's commit; the writer starts again from the new head,
    never forcing, and both changes are on the branch."""

    class Raced(GitWriter):
        raced = False

        def _push(self, refspec: str) -> bool:
            if not self.raced:
                self.raced = True
                repo.commit({"README.md": "a human was here\n"}, "docs: a human's commit")
            return super()._push(refspec)

    write = Raced(str(repo.bare), branch="main", path="manifests", workdir=tmp_path / "w")

    done = write.write(change("staging", 2))

    assert done.outcome == "committed"
    assert repo.log() == [
        "promote(staging): churn v1 -> v2",
        "docs: a human's commit",
        "initial",
    ]
    assert repo.show("README.md") == "a human was here"


def test_a_human_who_promoted_first_leaves_nothing_to_write(repo: Repo, tmp_path: Path) -> None:
    repo.commit(
        {"manifests/staging/churn.yaml": endpoint("churn", "staging", version=2)}, "by hand"
    )

    done = writer(repo, tmp_path / "w").write(change("staging", 2))

    assert done.outcome == "unchanged" and repo.log() == ["by hand", "initial"]


def test_two_writers_at_once_write_one_commit(repo: Repo, tmp_path: Path) -> None:
    writers = [writer(repo, tmp_path / f"w{n}") for n in range(2)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def go(w: GitWriter) -> None:
        barrier.wait(timeout=10)
        outcomes.append(w.write(change("staging", 2)).outcome)

    threads = [threading.Thread(target=go, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["committed", "unchanged"]
    assert repo.log() == ["promote(staging): churn v1 -> v2", "initial"]


def test_a_pull_request_is_opened_once_per_stage_with_the_evidence(
    repo: Repo, tmp_path: Path
) -> None:
    with fake_github() as github:
        pulls = PullRequests(github.url, "org/deploy", github.token)
        write = writer(repo, tmp_path / "w", pulls=pulls)

        opened = write.write(change("prod", 2, "pullRequest"))
        waiting = write.write(change("prod", 2, "pullRequest"))
        newer = write.write(change("prod", 3, "pullRequest"))

    assert opened.outcome == "pullRequest" and opened.done.endswith("/pull/1")
    assert waiting.outcome == newer.outcome == "inFlight"
    assert len(github.pulls) == 1
    pull = github.pulls[0]
    assert pull["head"]["ref"] == "sagemaker-gitops/churn/prod/promote-v2"
    assert pull["base"]["ref"] == "main" and "v2 Verified in dev." in pull["body"]
    assert pull["title"] == "promote(prod): churn v1 -> v2"
    assert repo.log() == ["initial"]  # the branch itself waits for the merge
    assert "version: 2" in repo.show("manifests/prod/churn.yaml", pull["head"]["ref"])
    assert {auth for _, _, auth in github.requests} == {f"Bearer {github.token}"}


def test_a_closed_pull_request_is_not_reopened(repo: Repo, tmp_path: Path) -> None:
    with fake_github() as github:
        write = writer(repo, tmp_path / "w", pulls=PullRequests(github.url, "org/deploy", "x"))
        github.token = "x"
        write.write(change("prod", 2, "pullRequest"))
        github.close(1)

        again = write.write(change("prod", 2, "pullRequest"))

    assert again.outcome == "inFlight" and "exists" in again.done
    assert len(github.pulls) == 1


def test_a_stage_that_writes_pull_requests_needs_a_token(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="--github-token-file"):
        writer(repo, tmp_path / "w").write(change("prod", 2, "pullRequest"))
    assert repo.log() == ["initial"]


def test_manifests_that_do_not_load_are_never_edited(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"manifests/broken.yaml": "kind: Endpoint\nmetadata: [\n"}, "broken")

    with pytest.raises(WriteError, match="do not load"):
        writer(repo, tmp_path / "w").write(change("staging", 2))
    assert repo.log() == ["broken", "initial"]


def test_repository_of_reads_github_urls() -> None:
    assert repository_of("https://github.com/org/deploy.git") == "org/deploy"
    assert repository_of("git@github.com:org/deploy.git") == "org/deploy"
    assert repository_of("https://x-access-token:t@github.com/org/deploy") == "org/deploy"
    assert repository_of("/srv/git/deploy.git") is None


def test_a_gitlab_merge_request_is_opened_once_per_stage(repo: Repo, tmp_path: Path) -> None:
    with fake_gitlab(project="ml/platform/deploy") as gitlab:
        merges = MergeRequests(gitlab.url, "ml/platform/deploy", gitlab.token)
        write = writer(repo, tmp_path / "w", pulls=merges)

        opened = write.write(change("prod", 2, "pullRequest"))
        waiting = write.write(change("prod", 2, "pullRequest"))

    assert opened.outcome == "pullRequest" and opened.done.endswith("/merge_requests/1")
    assert waiting.outcome == "inFlight"
    merge = gitlab.merges[0]
    assert merge["source_branch"] == "sagemaker-gitops/churn/prod/promote-v2"
    assert merge["target_branch"] == "main" and "v2 Verified in dev." in merge["description"]
    assert {token for _, _, token in gitlab.requests} == {gitlab.token}
    assert project_of("git@gitlab.com:ml/platform/deploy.git") == "ml/platform/deploy"
    assert project_of("https://github.com/org/deploy.git") is None


def test_run_picks_the_forge_from_its_flags_and_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.cli import build_parser
    from controller.commands.run import _pulls
    from controller.errors import ControllerError

    def pulls(*argv: str) -> object:
        return _pulls(build_parser().parse_args(["run", *argv]))

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    assert pulls("--repo", "https://github.com/org/deploy.git") is None  # commits need none
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    monkeypatch.setenv("GITLAB_TOKEN", "glpat_x")
    github = pulls("--repo", "https://github.com/org/deploy.git")
    assert isinstance(github, PullRequests) and github.repository == "org/deploy"
    gitlab = pulls("--repo", "git@gitlab.com:ml/deploy.git")
    assert isinstance(gitlab, MergeRequests) and gitlab.repository == "ml/deploy"
    named = pulls("--repo", "/srv/deploy.git", "--gitlab-project", "ml/deploy")
    assert isinstance(named, MergeRequests)
    with pytest.raises(ControllerError, match="--github-repo OWNER/NAME"):
        pulls("--repo", "/srv/deploy.git")
    token = tmp_path / "token"
    token.write_text("t\n")
    with pytest.raises(ControllerError, match="not both"):
        pulls(
            "--repo",
            "/srv/x.git",
            "--github-token-file",
            str(token),
            "--gitlab-token-file",
            str(token),
        )


def test_a_pending_promotion_never_holds_back_a_revert(repo: Repo, tmp_path: Path) -> None:
    with fake_github() as github:
        write = writer(
            repo, tmp_path / "w", pulls=PullRequests(github.url, "org/deploy", github.token)
        )
        write.write(change("prod", 3, "pullRequest"))
        revert = Change("churn", "prod", GROUP_ARN, 2, "rollback", "pullRequest", "v1 failed")
        reverted = write.write(revert)
        again = write.write(revert)

    assert reverted.outcome == "pullRequest" and again.outcome == "inFlight"
    assert [p["head"]["ref"] for p in github.pulls] == [
        "sagemaker-gitops/churn/prod/promote-v3",
        "sagemaker-gitops/churn/prod/rollback-v2",
    ]


def test_what_reviewers_decided_on_a_github_pull_request_is_read_back(
    repo: Repo, tmp_path: Path
) -> None:
    with fake_github() as github:
        write = writer(repo, tmp_path / "w", pulls=PullRequests(github.url, "org/deploy", "t"))
        github.token = "t"
        promote, other = change("prod", 2, "pullRequest"), change("prod", 3, "pullRequest")
        assert write.decision(promote) is None
        write.write(promote)

        assert write.decision(promote) == Decision("open", github.pulls[0]["html_url"])
        github.review(1, "alice", "APPROVED")
        github.review(1, "bob", "CHANGES_REQUESTED")
        github.review(1, "carol", "COMMENTED")
        found = write.decision(promote)
        assert found is not None
        assert (found.approved_by, found.changes_requested_by) == (("alice",), ("bob",))
        github.review(1, "bob", "APPROVED")  # a reviewer's latest review is what counts
        found = write.decision(promote)
        assert found is not None and found.approved_by == ("alice", "bob")
        assert not found.changes_requested_by
        github.merge(1, "dana")
        assert write.decision(promote) == Decision("merged", found.url, "dana")
        assert write.decision(other) is None  # another version's branch has no request

        write.write(other)
        github.close(2)
        assert write.decision(other) == Decision("closed", github.pulls[1]["html_url"])


def test_what_reviewers_decided_on_a_gitlab_merge_request_is_read_back(
    repo: Repo, tmp_path: Path
) -> None:
    with fake_gitlab() as gitlab:
        write = writer(repo, tmp_path / "w", pulls=MergeRequests(gitlab.url, "ml/deploy", "g"))
        gitlab.token = "g"
        promote = change("prod", 2, "pullRequest")
        write.write(promote)
        url = gitlab.merges[0]["web_url"]

        assert write.decision(promote) == Decision("open", url)
        gitlab.approve(1, "alice")
        assert write.decision(promote) == Decision("open", url, approved_by=("alice",))
        gitlab.decide(1, "closed", "bob")
        assert write.decision(promote) == Decision("closed", url, "bob")


def test_a_shadow_gate_writes_into_an_endpoint_that_extends_a_template(
    repo: Repo, tmp_path: Path
) -> None:
    template = endpoint("churn", "staging").replace("kind: Endpoint", "kind: EndpointTemplate")
    template = template.replace("  target: staging\n", "")
    gated = PIPELINE.replace(
        "      endpoints: {targets: [staging]}\n",
        "      endpoints: {targets: [staging]}\n      shadow:\n"
        "        verification:\n"
        "          metrics: [{name: e, errorRate: {}, max: 1, compare: difference}]\n",
    )
    repo.commit(
        {
            "manifests/churn.template.yaml": template,
            "manifests/staging/churn.yaml": "# staging's own values\n"
            "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: {name: churn}\n"
            "spec:\n  extends: churn\n  target: staging\n",
            "manifests/pipeline.yaml": gated,
        },
        "staging extends the churn template",
    )
    write = writer(repo, tmp_path / "w")

    def step(kind: str) -> Written:
        return write.write(Change("churn", "staging", GROUP_ARN, 2, kind, "commit", "why"))  # type: ignore[arg-type]

    assert step("shadow").outcome == "committed"
    own = repo.show("manifests/staging/churn.yaml")
    assert own.startswith("# staging's own values\n") and "shadowVariants:" in own
    assert "instanceType: ml.m5.xlarge" in own and "version: 2" in own
    assert step("shadow").outcome == "unchanged"
    assert step("swap").outcome == "committed"
    own = repo.show("manifests/staging/churn.yaml")
    assert "shadowVariants" not in own
    # Production moved where promote moves it: the template, as only staging extends it.
    assert "version: 2" in repo.show("manifests/churn.template.yaml")
    assert repo.log()[:2] == [
        "promote(staging): churn v1 -> v2",
        "shadow(staging): churn v2 beside v1",
    ]
