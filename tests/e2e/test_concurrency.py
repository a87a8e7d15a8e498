"""Proof 3 of issue 8: concurrent applies and replicas leave nothing to clean up.

- Two `apply` processes at once on the same manifests: both succeed, the account holds exactly
  one Model/config per endpoint, and a third apply is a no-op.
- Two `run` replicas without a lease on the same directory: the same.
- `apply --lease-table`: a second apply of the same scope fails at once with a clear message.
- Without a lock, GC never deletes a config another apply has just created and not yet deployed
  (the `--gc-min-age` rule); with the age lifted the same config is collected, so the rule is
  what protects it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3

from controller.commands import scoping
from controller.service.lease import Lease
from tests.e2e.conftest import World, registry_manifest
from tests.e2e.test_crash_consistency import CRASHING_CLI
from tests.e2e.test_service import FAST as SERVICE_FAST
from tests.e2e.test_service import eventually, service

FAST = ("--calls-per-second", "1000", "--poll-interval", "0.05")


def _env(world: World) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**keep, **world.sandbox.env()}


def _write_three(world: World) -> None:
    for name in ("c1", "c2", "c3"):
        world.write(f"{name}.yaml", registry_manifest(name=name))


def _exactly_one_of_each(world: World) -> None:
    assert world.names("endpoint") == ["c1", "c2", "c3"]
    configs, models = world.names("config"), world.names("model")
    for name in ("c1", "c2", "c3"):
        assert len([c for c in configs if c.startswith(f"{name}-")]) == 1, configs
        assert len([m for m in models if m.startswith(f"{name}-")]) == 1, models
    assert world.mutations_during(lambda: world.apply(*FAST)) == {}


def test_two_apply_processes_at_once(world: World) -> None:
    _write_three(world)
    argv = [sys.executable, "-m", "controller", "apply", "-m", str(world.root), *FAST]
    procs = [
        subprocess.Popen(argv, env=_env(world), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]

    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
    _exactly_one_of_each(world)


def test_two_run_replicas_without_a_lease(world: World) -> None:
    _write_three(world)
    argv = ("-m", str(world.root), *SERVICE_FAST, "--calls-per-second", "1000")
    with service(*argv) as first, service(*argv) as second:
        for name in ("c1", "c2", "c3"):
            eventually(lambda n=name: world.endpoint(n)["EndpointStatus"] == "InService")
        for runner in (first, second):
            eventually(
                lambda r=runner: (
                    all(e["sync"] == "Synced" for e in r.status()["endpoints"])
                    and len(r.status()["endpoints"]) == 3
                ),
                what="both replicas synced",
            )
    _exactly_one_of_each(world)


def test_apply_with_a_lease_table_locks_its_scope(world: World) -> None:
    world.write("c1.yaml", registry_manifest(name="c1"))
    dynamodb = boto3.client("dynamodb", **_client_args(world))
    other = Lease(dynamodb, "locks", name=f"apply/{scoping.of_path(world.root)}", duration=30)
    other.ensure_table(poll=0.05)
    assert other.try_acquire()

    blocked = world.apply(*FAST, "--lease-table", "locks")
    created_while_locked = world.names("endpoint")
    other.release()
    free = world.apply(*FAST, "--lease-table", "locks")
    again = world.apply(*FAST, "--lease-table", "locks")  # released at exit: free again

    assert blocked.code == 1
    assert "another apply holds the lock for scope" in blocked.err and other.holder in blocked.err
    assert "Traceback" not in blocked.err
    assert created_while_locked == []
    assert free.code == 0, free.err
    assert again.code == 0, again.err
    assert world.names("endpoint") == ["c1"]


def _client_args(world: World) -> dict[str, str]:
    env = world.sandbox.env()
    return {
        "endpoint_url": world.sandbox.url,
        "region_name": env.get("AWS_DEFAULT_REGION", "us-east-1"),
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def test_gc_never_deletes_a_config_another_apply_is_about_to_deploy(
    world: World, tmp_path: Path
) -> None:
    for version in (1, 2):
        world.write("c1.yaml", registry_manifest(name="c1", version=version))
        assert world.apply(*FAST, "--keep-history", "0", "--gc-min-age", "0").code == 0
    live = world.endpoint("c1")["EndpointConfigName"]
    other = tmp_path / "other-checkout"
    other.mkdir()
    (other / "c1.yaml").write_text(_manifest_text(version=1))
    # Another apply (an older revision) creates its Model and config, then pauses (killed here
    # right after its second mutating call, CreateEndpointConfig), before UpdateEndpoint.
    paused = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_CLI,
            "apply",
            "-m",
            str(other),
            "--scope",
            scoping.of_path(world.root),
            *FAST,
        ],
        env={**_env(world), "CRASH_AFTER": "2"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    theirs = [c for c in world.names("config") if c.startswith("c1-") and c != live]

    protected = world.mutations_during(lambda: world.apply(*FAST, "--keep-history", "0"))
    collected = world.mutations_during(
        lambda: world.apply(*FAST, "--keep-history", "0", "--gc-min-age", "0")
    )

    assert paused.returncode == -9, paused.stderr[-2000:]
    assert len(theirs) == 1
    assert not any(op.startswith("Delete") for op in protected)
    assert collected.get("DeleteEndpointConfig") == 1  # the age rule was what kept it
    assert world.endpoint("c1")["EndpointConfigName"] == live


def _manifest_text(version: int) -> str:
    text = registry_manifest(name="c1", version=version)
    return "\n".join(line[8:] for line in text.splitlines()[1:])
