"""Secrets never leave the process: credentials, session tokens and masked environment values
appear in no plan (text, markdown, json), no apply or status output, no log line (at debug), no
error, and neither in the service's /status nor /metrics.

Every value below is distinctive, so finding it anywhere is unambiguous. The AWS credentials in
the environment are what a real CI job would hold; the sandbox accepts any credentials.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import World, byom_manifest
from tests.e2e.test_service import FAST, eventually, get, service

ACCESS_KEY = "AKIAZZSECRETKEYID777"
SECRET_KEY = "wJalrXUtnFEMIzzK7MDENGzzbPxRfiCYSECRETKEY77"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEzzSESSIONzzTOKEN7777777777"
PASSWORDS = ("pw-first-6b1f0c", "pw-second-9d2e4a", "pw-third-73ac55")
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, *PASSWORDS)


@pytest.fixture
def secret_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    return world


def with_password(world: World, password: str) -> None:
    world.write("kmeans.yaml", byom_manifest(env=f"DB_PASSWORD: {password}, LOG_LEVEL: info"))


def every_output(world: World) -> list[str]:
    """Plan in every format, apply (with debug logs), status in both formats."""
    texts: list[str] = []
    for fmt in ("text", "markdown", "json"):
        result = world.plan("--format", fmt)
        assert result.code == 0, result.err
        texts += [result.out, result.err]
    applied = world.cli(
        "--log-level", "debug", "apply", "-m", str(world.root), "--poll-interval", "0.05"
    )
    assert applied.code == 0, applied.err
    texts += [applied.out, applied.err]
    for fmt in ("table", "json"):
        status = world.cli("status", "-m", str(world.root), "--format", fmt)
        texts += [status.out, status.err]
    return texts


def leaks(texts: list[Any]) -> list[str]:
    joined = "\n".join(str(t) for t in texts)
    return [secret for secret in SECRETS if secret in joined]


def test_cli_outputs_hold_no_secret(secret_world: World) -> None:
    world = secret_world
    with_password(world, PASSWORDS[0])
    created = world.cli(
        "--log-level", "debug", "apply", "-m", str(world.root), "--poll-interval", "0.05"
    )
    texts = [created.out, created.err]
    with_password(world, PASSWORDS[1])
    changed = world.plan("--format", "json")
    changed_text = world.plan().out
    texts += every_output(world)

    assert leaks(texts) == []
    doc = json.loads(changed.out)
    [kmeans] = doc["endpoints"]
    env_changes = [c for a in kmeans["actions"] for c in a["changes"] if "DB_PASSWORD" in c["path"]]
    assert env_changes and all(c.get("sensitive") is True for c in env_changes)
    assert "DB_PASSWORD: (sensitive value changed)" in changed_text
    # The value did change in the account: masking is display-only.
    models = world.sm.list_models(MaxResults=100)["Models"]
    live = [world.sm.describe_model(ModelName=m["ModelName"]) for m in models]
    assert any(
        m["PrimaryContainer"].get("Environment", {}).get("DB_PASSWORD") == PASSWORDS[1]
        for m in live
    )


def test_errors_hold_no_secret(secret_world: World) -> None:
    world = secret_world
    # The sandbox fails the health check of a container with this variable: a failed rollout,
    # its error messages and a Failed status, with a secret in the same environment.
    env = f"DB_PASSWORD: {PASSWORDS[0]}, SAGEMAKER_SANDBOX_FAIL: '1'"
    world.write("kmeans.yaml", byom_manifest(env=env))
    failed = world.cli(
        "--log-level", "debug", "apply", "-m", str(world.root), "--poll-interval", "0.05"
    )
    status = world.cli("status", "-m", str(world.root), "--format", "json")
    plan = world.plan("--format", "json")
    assert failed.code != 0 and "health check" in failed.out + failed.err
    assert leaks([failed.out, failed.err, status.out, status.err, plan.out, plan.err]) == []


def test_service_status_metrics_and_logs_hold_no_secret(
    secret_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = secret_world
    with_password(world, PASSWORDS[0])
    texts: list[Any] = []
    with service("-m", str(world.root), *FAST) as runner:
        first = eventually(lambda: world.endpoint("kmeans")["EndpointConfigName"], what="create")
        with_password(world, PASSWORDS[2])
        eventually(
            lambda: world.endpoint("kmeans")["EndpointConfigName"] != first, what="password update"
        )
        for path in ("/status", "/metrics", "/healthz", "/readyz"):
            texts.append(get(runner, path)[1].decode())
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    assert leaks(texts) == []
