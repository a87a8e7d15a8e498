"""`validate`: exit codes and output through the real CLI parser, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main
from controller.manifests.projects.policy import NO_PROJECTS

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


def test_valid_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REPO / "manifests" / "endpoints")]) == 0
    out, err = capsys.readouterr()
    assert out == "3 manifest(s) valid\n"
    assert err.splitlines() == [f"warning: {NO_PROJECTS}"]  # the examples declare no projects
    assert main(["validate", "--require-projects", str(REPO / "manifests" / "endpoints")]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {NO_PROJECTS}"]


def test_invalid_manifests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(FIXTURES)
    assert main(["validate", "invalid", "missing.yaml"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert lines[0] == "error: missing.yaml: no such file or directory"
    assert (
        "error: invalid/missing-field.yaml:5: spec.executionRoleArn: required field is missing"
        in lines
    )
    assert lines[-1].endswith(f"error(s) in {len(os.listdir('invalid')) + 1} file(s)")
    assert out == ""


def test_unreadable_input_is_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    (tmp_path / "deep.yaml").write_text("[" * 5000)
    assert main(["validate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.count("error: ") == 2


def test_empty_directory_is_valid_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == "0 manifest(s) valid\n"
    assert "no manifest files" in err


def test_python_dash_m_subprocess() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "controller", "validate", "manifests/endpoints"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "3 manifest(s) valid\n"
