"""The README's example pins a version the demo seed has (and Approved); `make demo` installs only
the sandbox extra while `make test`'s targets install the test toolchain."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_example_pins_an_approved_version_of_the_demo_seed() -> None:
    readme = (REPO / "README.md").read_text()
    pins = re.findall(r"model: \{packageGroup: ([\w-]+), version: (\d+)\}", readme)
    assert pins, "the README's manifest example names no registry version"
    seed = yaml.safe_load((REPO / "manifests" / "seed.yaml").read_text())
    groups = {g["name"]: g["versions"] for g in seed["modelPackageGroups"]}
    for group, version in pins:
        versions = groups[group]  # versions are numbered 1, 2, ... in the order listed
        assert 1 <= int(version) <= len(versions), (group, version)
        assert versions[int(version) - 1]["approval"] == "Approved", (group, version)


def dry_run(tmp_path: Path, target: str) -> str:
    """`make -n TARGET` in a copy holding only the Makefile, pyproject.toml and the SDK
    constraints (no .venv)."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    # Under `make test` the outer make's variables would make this one print "Entering
    # directory" lines: run it as a shell would, on its own.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_only_the_sandbox_extra(tmp_path: Path) -> None:
    commands = dry_run(tmp_path, "demo")
    assert "pip install --quiet -c constraints.txt -e '.[sandbox]'" in commands
    assert ".[test]" not in commands
    assert commands.strip().endswith("sagemaker-gitops demo")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_installs_the_test_toolchain(tmp_path: Path) -> None:
    commands = dry_run(tmp_path, "test")
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in commands
    assert "pytest" in commands
