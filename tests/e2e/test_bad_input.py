"""Hostile manifest trees through the real CLI: `file:line: path: message` errors, exit 0 or 1,
never a traceback, never a hang (subprocesses have a timeout; pytest-timeout covers the rest).

One tree holds every kind of bad input the safety issue lists; `validate` and `plan` run on it
as a shell would, and `plan` and `run` run beside a FIFO, which once hung them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import World, byom_manifest, registry_manifest
from tests.e2e.test_service import FAST, eventually, get, service
from tests.unit.test_argtypes import run_cli

PLAIN = registry_manifest().replace("\n        ", "\n").strip() + "\n"
SECRET_LINE = "root: $6$rounds=5000$hash-that-must-never-be-printed"
ERROR_LINE = re.compile(r"^error: (?P<file>[^:\s]+)(?::(?P<line>\d+))?: (?P<rest>.+)$")

BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(6)
)

# file name -> (content, expected message fragment, whether the error carries a line)
BAD_FILES: dict[str, tuple[bytes, str, bool]] = {
    "bomb.yaml": (BOMB.encode(), "an alias bomb?", True),
    "deep.yaml": (b"a: " + b"[" * 100_000, "YAML nesting is too deep", True),
    "huge.yaml": (b"# pad\n" * 200_000, "larger than 1 MiB", True),
    "latin1.yaml": (PLAIN.encode() + b"# caf\xe9\n", "is not UTF-8", True),
    "wide.yaml": (PLAIN.encode("utf-16"), "UTF-16", True),
    "dupkeys.yaml": (PLAIN.encode() + b"  adopt: true\n  adopt: false\n", "duplicate key", True),
    "python.yaml": (
        b"apiVersion: !!python/object/apply:os.system ['false']\n",
        "unknown YAML tag",
        True,
    ),
    "maybe.yaml": (PLAIN.encode() + b"  adopt: !!bool maybe\n", "not a valid !!bool", True),
    "vault.yaml": (PLAIN.encode() + b"  adopt: !vault x\n", "unknown YAML tag !vault", True),
    "syntax.yaml": (b"a: [unclosed\n", "invalid YAML", True),
}


def hostile_tree(root: Path, outside: Path) -> Path:
    root.mkdir(parents=True)
    outside.mkdir(parents=True)
    (outside / "shadow.yaml").write_text(SECRET_LINE + "\n")
    for name, (content, _, _) in BAD_FILES.items():
        (root / name).write_bytes(content)
    (root / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + PLAIN.replace("churn", "bom").encode())
    (root / "shadow.yaml").symlink_to(outside / "shadow.yaml")
    (root / "loop.yaml").symlink_to(root / "loop.yaml")
    os.mkfifo(root / "fifo.yaml")
    folder = root / "team.yaml"  # a directory named like a manifest: walked
    folder.mkdir()
    (folder / "ok.yaml").write_text(PLAIN)
    (root / "up").symlink_to(root)  # a directory loop: not followed
    return root


def check_errors(stderr: str) -> dict[str, str]:
    """Every error line is `file[:line]: ...`; returns file -> the rest (one per file here)."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        if not line.startswith("error: "):
            continue
        match = ERROR_LINE.match(line)
        assert match, line
        found.setdefault(Path(match["file"]).name, line)
    return found


def test_validate_reports_every_hostile_file_in_one_run(tmp_path: Path) -> None:
    root = hostile_tree(tmp_path / "m", tmp_path / "outside")

    done = run_cli("validate", "m", cwd=tmp_path)

    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert "hash-that-must-never-be-printed" not in output
    errors = check_errors(done.stderr)
    for name, (_, fragment, has_line) in BAD_FILES.items():
        assert fragment in errors[name], errors[name]
        assert (ERROR_LINE.match(errors[name])["line"] is not None) is has_line  # type: ignore[index]
    assert "outside the manifest root" in errors["shadow.yaml"]
    assert "cannot read file" in errors["loop.yaml"]
    assert set(errors) == {*BAD_FILES, "shadow.yaml", "loop.yaml"}  # bom, team.yaml/ok: valid
    skipped = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    reasons = {Path(e["path"]).name: e["reason"] for e in skipped}
    assert reasons == {
        "fifo.yaml": "not a regular file (a FIFO); skipped",
        "up": "symlinked directory not followed; link the files instead",
    }
    assert root.is_dir()


def test_validate_all_errors_of_a_file_in_one_pass(tmp_path: Path) -> None:
    text = PLAIN.replace("instanceType: ml.m5.xlarge", "instanceType: ml.nope") + (
        "  deployment:\n"
        "    blueGreenUpdatePolicy:\n"
        "      trafficRoutingConfiguration: {type: CANARY, waitIntervalInSeconds: 60}\n"
        "    rollingUpdatePolicy:\n"
        "      maximumBatchSize: {type: INSTANCE_COUNT, value: 1}\n"
        "      waitIntervalInSeconds: 60\n"
        "    autoRollbackConfiguration: {alarms: []}\n"
    )
    (tmp_path / "churn.yaml").write_text(text)

    done = run_cli("validate", "churn.yaml", cwd=tmp_path)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(": ")[2] for line in lines] == [
        "spec.variants[0].instanceType",
        "spec.deployment",
        "spec.deployment.blueGreenUpdatePolicy.trafficRoutingConfiguration",
        "spec.deployment.autoRollbackConfiguration.alarms",
    ]
    assert "set at most one of blueGreenUpdatePolicy or rollingUpdatePolicy" in lines[1]


def test_plan_beside_a_fifo_does_not_hang(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    os.mkfifo(world.root / "x.yaml")

    done = run_cli("plan", "-m", str(world.root), cwd=world.root.parent)

    assert done.returncode == 0, done.stderr
    assert "churn" in done.stdout and "1 to create" in done.stdout
    assert "not a regular file (a FIFO); skipped" in done.stderr
    assert "Traceback" not in done.stderr


def test_plan_and_apply_refuse_a_symlink_out_of_the_root(world: World) -> None:
    world.write("kmeans.yaml", byom_manifest())
    (world.root / "shadow.yaml").symlink_to("/etc/passwd")

    plan = world.plan()
    apply = world.apply()

    # Valid manifests still apply (as before); the refused file is an error, so exit 1.
    assert plan.code == 1 and apply.code == 1
    for result in (plan, apply):
        text = result.out + result.err
        assert "shadow.yaml: resolves to /etc/passwd, outside the manifest root" in text
        assert "root:x:0:0" not in text and "Traceback" not in text


def test_same_endpoint_with_and_without_the_default_region_is_an_error(world: World) -> None:
    world.write("a.yaml", registry_manifest(extra_spec="  region: us-east-1"))
    world.write("b.yaml", registry_manifest())

    result = world.plan()

    assert result.code == 1
    text = result.out + result.err
    assert (
        "a.yaml:4: metadata.name: endpoint 'churn' in region us-east-1 is also defined at" in text
    )
    assert "b.yaml:4: metadata.name: endpoint 'churn' in the default region us-east-1" in text
    assert world.apply().code == 1 and world.names("endpoint") == []


@pytest.mark.timeout(60)
def test_run_beside_a_fifo_keeps_converging(world: World) -> None:
    world.write("churn.yaml", registry_manifest())
    os.mkfifo(world.root / "x.yaml")
    with service("-m", str(world.root), *FAST) as runner:
        eventually(lambda: world.endpoint("churn")["EndpointStatus"] == "InService", what="create")
        world.write("kmeans.yaml", byom_manifest())
        eventually(lambda: world.endpoint("kmeans"), what="a later change is still seen")

        def listed() -> list[str]:
            code, body = get(runner, "/status")
            assert code == 200
            return sorted(e["name"] for e in json.loads(body)["endpoints"])

        # /status is published after the pass that created the endpoint: wait for that view.
        eventually(lambda: listed() == ["churn", "kmeans"], what="/status lists both")
