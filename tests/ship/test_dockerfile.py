"""The Dockerfile passes hadolint and keeps the properties docs/operations.md promises."""

from __future__ import annotations

import re
from pathlib import Path

from ship_helpers import REPO, run, tool

DOCKERFILE = REPO / "Dockerfile"


def test_hadolint_clean() -> None:
    done = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    # The lint is live: an unpinned base image and a root `cd` are findings.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && echo hi\n", encoding="utf-8")
    done = run(tool("hadolint"), "--no-color", str(bad))
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # latest tag
    assert "DL3003" in done.stdout  # cd instead of WORKDIR


def _final_stage() -> str:
    text = DOCKERFILE.read_text(encoding="utf-8")
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]


def test_final_stage_runs_unprivileged_with_an_init_and_a_healthcheck() -> None:
    stage = _final_stage()
    assert re.search(r"^USER 10001", stage, re.MULTILINE)
    assert '"tini", "--"' in stage
    assert "HEALTHCHECK" in stage and "/healthz" in stage
    # The CLI binds 127.0.0.1 by default; in a container the probes need 0.0.0.0.
    assert '"--http-host", "0.0.0.0"' in stage


def test_final_stage_has_no_build_tools_or_test_extras() -> None:
    stage = _final_stage()
    for forbidden in ("gcc", "build-essential", "[sandbox]", "[test]", "pip install"):
        assert forbidden not in stage


def test_base_image_is_pinned_to_a_patch_release() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+$", text, re.MULTILINE)
