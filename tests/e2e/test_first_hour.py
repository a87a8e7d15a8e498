"""The first hour, as a newcomer meets it: the real CLI in a subprocess with a clean environment
(only PATH, HOME and the variables a user would set) against the sandbox."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import World, registry_manifest

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("sagemaker-gitops")


def clean_env(home: Path, **variables: str) -> dict[str, str]:
    """What `env -i PATH=... HOME=... VAR=...` gives a process: nothing inherited."""
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home), **variables}


def sandbox_env(world: World, home: Path) -> dict[str, str]:
    """The README's variables, pointed at this test's sandbox: AWS_REGION, no AWS_DEFAULT_REGION."""
    return clean_env(
        home,
        AWS_ENDPOINT_URL=world.sandbox.url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )


def cli(env: dict[str, str], *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *argv], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def readme_exports() -> dict[str, str]:
    """The variables of the README's `export AWS_ENDPOINT_URL=...` line, exactly as written."""
    lines = (REPO / "README.md").read_text().splitlines()
    (line,) = [raw for raw in lines if raw.startswith("export AWS_ENDPOINT_URL=")]
    words = shlex.split(line)
    assert words[0] == "export"
    return dict(word.split("=", 1) for word in words[1:])


def test_the_readme_sandbox_line_works_as_written(world: World, tmp_path: Path) -> None:
    exports = readme_exports()
    assert exports["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5005"
    assert "AWS_DEFAULT_REGION" not in exports and exports["AWS_REGION"] == "us-east-1"
    exports["AWS_ENDPOINT_URL"] = world.sandbox.url  # this test's sandbox has a free port
    env = clean_env(tmp_path / "home", **exports)

    done = cli(env, "plan", "-m", str(REPO / "manifests" / "endpoints"))

    assert done.returncode == 0, done.stderr
    assert "Plan: 3 to create" in done.stdout


def test_without_any_region_the_error_says_where_to_set_one(world: World, tmp_path: Path) -> None:
    env = sandbox_env(world, tmp_path / "home")
    del env["AWS_REGION"]
    world.write("churn.yaml", registry_manifest())

    done = cli(env, "plan", "-m", str(world.root))

    assert done.returncode == 1
    assert "no AWS region" in done.stderr and "AWS_REGION" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_exit_codes(world: World, tmp_path: Path) -> None:
    env = sandbox_env(world, tmp_path / "home")
    world.write("churn.yaml", registry_manifest(version=1))
    assert world.apply().code == 0
    settled = cli(env, "status", "-m", str(world.root))

    world.write("churn.yaml", registry_manifest(version=2))
    out_of_sync = world.cli("status", "-m", str(world.root))  # in-process: the same exit code

    world.write("missing.yaml", registry_manifest(name="missing", version=99))
    error = cli(env, "status", "-m", str(world.root))

    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert out_of_sync.code == 3 and "OutOfSync" in out_of_sync.out
    assert error.returncode == 1 and "no version 99" in error.stdout


def test_status_of_a_changing_endpoint_is_not_settled(world: World) -> None:
    world.sandbox.set_faults(transition_seconds=120)
    world.write("churn.yaml", registry_manifest())
    assert world.apply("--no-wait").code == 0

    result = world.cli("status", "-m", str(world.root))

    assert result.code == 3
    assert "Progressing" in result.out


def test_an_unknown_group_does_not_exist_and_close_names_are_suggested(world: World) -> None:
    world.write("churn.yaml", registry_manifest(group="churn-xbg"))
    world.sandbox.reset_calls()

    result = world.plan()

    assert result.code == 1
    assert (
        "model package group 'churn-xbg' does not exist in us-east-1; did you mean 'churn-xgb'?"
    ) in result.out
    assert "has no versions" not in result.out
    assert world.calls().get("ListModelPackageGroups") == 1


def test_known_groups_never_list_the_group_names(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    world.sandbox.reset_calls()

    assert world.plan().code == 0
    assert world.apply().code == 0
    assert "ListModelPackageGroups" not in world.calls()


def test_apply_timeout_bounds_the_command_and_names_what_is_still_changing(
    world: World, tmp_path: Path
) -> None:
    world.sandbox.set_faults(transition_seconds=300)
    world.write("churn.yaml", registry_manifest(name="churn"))
    world.write("fraud.yaml", registry_manifest(name="fraud", group="fraud-detector"))
    started = time.monotonic()

    done = cli(
        sandbox_env(world, tmp_path / "home"), "apply", "-m", str(world.root), "--timeout", "2"
    )

    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "error: timed out after 2s (--timeout); still changing: churn, fraud" in done.stderr
    assert "Traceback" not in done.stderr
    # It gave up at the deadline rather than waiting out the 300 s transition.
    assert elapsed < 60, elapsed


def test_plan_timeout_against_a_slow_sandbox(world: World, tmp_path: Path) -> None:
    world.write("churn.yaml", registry_manifest())
    world.sandbox.set_faults(latency_ms=700)  # every call takes 0.7 s; a plan needs several

    done = cli(
        sandbox_env(world, tmp_path / "home"), "plan", "-m", str(world.root), "--timeout", "1"
    )

    assert done.returncode == 1
    assert "timed out: --timeout 1s reached" in done.stderr
    assert "Traceback" not in done.stderr


def test_deletes_are_logged_at_warning_with_the_endpoint_and_revision(world: World) -> None:
    world.write("a.yaml", registry_manifest(name="a"))
    world.write("b.yaml", registry_manifest(name="b"))
    assert world.apply().code == 0
    (world.root / "b.yaml").unlink()

    result = world.cli(
        "--log-format",
        "json",
        "apply",
        "-m",
        str(world.root),
        "--prune",
        "--revision",
        "r2",
        "--poll-interval",
        "0.05",
    )

    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    deletes = [e for e in lines if e.get("event") == "apply" and e.get("action") == "delete"]
    assert deletes, result.err
    assert {e["level"] for e in deletes} == {"warning"}
    assert all(e["endpoint"] == "b" and e["revision"] == "r2" for e in deletes)
    assert {"Endpoint", "EndpointConfig", "Model"} <= {e["type"] for e in deletes}
    assert not [e for e in lines if e.get("action") == "create"]  # info: below the default


def test_run_logs_its_lifecycle_at_info(world: World, tmp_path: Path) -> None:
    env = sandbox_env(world, tmp_path / "home")
    argv = [str(EXE), "--log-format", "json", "run", "-m", str(world.root), "--http-port", "0"]
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        seen: list[dict[str, Any]] = []
        for _ in range(200):  # bounded: the "running" line comes within a few lines
            line = process.stderr.readline()
            if not line:
                break
            if line.startswith("{"):
                seen.append(json.loads(line))
                if seen[-1]["event"] == "running":
                    break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    seen += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    levels = {e["event"]: e["level"] for e in seen}
    assert levels.get("running") == "info", seen
    assert levels.get("shutting down") == "info", seen
    assert process.returncode == 0
