"""Proof 8 of issue 8, and held-back deletes in the service's /status and /metrics.

`run --prune` deletes an endpoint only when its manifest is still absent after `--prune-grace`:
a directory emptied and refilled within the grace (a non-atomic sync) deletes nothing, while a
manifest that stays gone is deleted once the grace has passed (so the test can fail).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import World, byom_manifest
from tests.e2e.test_service import FAST, eventually, get, service

NAMES = ("g1", "g2", "g3")
GRACE = 4.0


def _start(world: World, *extra: str) -> tuple[str, ...]:
    for name in NAMES:
        world.write(f"{name}.yaml", byom_manifest(name=name))
    return ("-m", str(world.root), *FAST, "--calls-per-second", "1000", "--prune", *extra)


def _synced(runner: Any) -> bool:
    endpoints = runner.status()["endpoints"]
    return len(endpoints) == len(NAMES) and all(e["sync"] == "Synced" for e in endpoints)


def _reasons(runner: Any) -> dict[str, str]:
    return {e["name"]: e["reason"] for e in runner.status()["endpoints"]}


def test_a_directory_emptied_and_refilled_within_the_grace_deletes_nothing(
    world: World, tmp_path: Path
) -> None:
    argv = _start(world, "--prune-grace", str(GRACE), "--allow-empty")  # the grace alone holds
    aside = tmp_path / "aside"
    aside.mkdir()
    with service(*argv) as runner:
        eventually(lambda: _synced(runner), timeout=30, what="synced")
        before = world.calls()
        for path in world.root.glob("*.yaml"):
            shutil.move(str(path), str(aside / path.name))
        eventually(
            lambda: set(_reasons(runner).values()) == {"PruneGrace"},
            timeout=10,
            what="the service saw every manifest gone",
        )
        for path in aside.iterdir():
            shutil.move(str(path), str(world.root / path.name))
        eventually(lambda: _synced(runner), timeout=30, what="synced again after the refill")
        past_grace = time.monotonic() + GRACE + 1.0  # every delayed check-back has come due
        eventually(lambda: time.monotonic() > past_grace, timeout=GRACE + 5, what="grace over")
        deleted = {
            op: n - before.get(op, 0)
            for op, n in world.calls().items()
            if op.startswith("Delete") and n > before.get(op, 0)
        }
        (world.root / "g3.yaml").unlink()  # now one stays gone: deleted after the grace
        eventually(lambda: "g3" not in world.names("endpoint"), timeout=30, what="g3 pruned")

    assert deleted == {}
    assert world.names("endpoint") == ["g1", "g2"]


def test_held_back_deletes_show_in_status_and_metrics(world: World) -> None:
    argv = _start(world, "--prune-grace", "0")
    with service(*argv) as runner:
        eventually(lambda: _synced(runner), timeout=30, what="synced")
        for name in NAMES:
            (world.root / f"{name}.yaml").unlink()
        (world.root / "README.md").write_text("moved\n")
        eventually(
            lambda: len(runner.status()["held_back_deletes"]) == len(NAMES),
            timeout=15,
            what="held-back deletes in /status",
        )
        status = json.loads(get(runner, "/status")[1])
        metrics = get(runner, "/metrics")[1].decode()

    held = {h["endpoint"]: h["reason"] for h in status["held_back_deletes"]}
    assert set(held) == set(NAMES)
    assert all("manifest set is empty" in reason for reason in held.values())
    # Consistent with `status` (HeldBack, exit 3) and `plan` (a pending change): never Synced.
    syncs = {e["name"]: e["sync"] for e in status["endpoints"] if e["name"] in held}
    assert syncs == dict.fromkeys(NAMES, "OutOfSync")
    assert "sagemaker_gitops_held_back_deletes 3.0" in metrics
    assert world.names("endpoint") == list(NAMES)
