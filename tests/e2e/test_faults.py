"""Proofs 1 and 7 of issue 8: apply converges through a flaky SageMaker, leaving exactly what the
manifests say.

1. Fifty endpoints under 30% throttling and 5% 5xx: every endpoint converges; each resource was
   created exactly once (a rejected request never reached the backend, so no retry duplicates
   it); the retries are bounded; a second apply is a no-op.
7. Ambiguous failures: writes that took effect but were answered 5xx or lost their connection
   (the sandbox's after-commit faults). A retried create meets "already exists" for its own
   earlier attempt, a retried delete meets "not found"; one apply still converges with no
   duplicate and no orphan (issue 19 item 10: a write without an answer is re-read in the same
   command, never a top-level error).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Result, World, byom_manifest, registry_manifest

FAST = ("--calls-per-second", "1000", "--concurrency", "16")
COUNT = 50


@pytest.mark.slow
def test_fifty_endpoints_converge_under_throttling_and_server_errors(world: World) -> None:
    names = [f"f{i:02}" for i in range(COUNT)]
    for name in names:
        world.write(f"{name}.yaml", byom_manifest(name=name))
    world.sandbox.set_faults(throttle_rate=0.30, error_rate=0.05, seed=8)

    result = world.apply(*FAST)

    world.sandbox.set_faults(throttle_rate=0.0, error_rate=0.0)
    calls = world.calls()
    assert result.code == 0, result.err[-3000:]
    assert world.names("endpoint") == names
    assert len(world.names("config")) == COUNT and len(world.names("model")) == COUNT
    for op in ("CreateModel", "CreateEndpointConfig", "CreateEndpoint"):
        assert calls.get(op) == COUNT, (op, calls.get(op))  # each exactly once: no duplicate
    served = sum(n for op, n in calls.items() if op != "rejected")
    assert 0 < calls.get("rejected", 0) < served  # faults were injected; retries stay bounded
    assert world.mutations_during(lambda: world.apply(*FAST)) == {}


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_ambiguous_failures_converge_in_one_apply_without_duplicates_or_orphans(
    world: World, seed: int
) -> None:
    names = [f"amb{seed}-{c}" for c in "abcd"]
    gone = f"gone{seed}"
    for name in names:
        world.write(f"{name}.yaml", registry_manifest(name=name, version=1))
    world.write(f"{gone}.yaml", registry_manifest(name=gone, version=1))
    assert world.apply(*FAST).code == 0
    (world.root / f"{gone}.yaml").unlink()
    for name in names:  # a bump with GC of the old config and model, plus a prune
        world.write(f"{name}.yaml", registry_manifest(name=name, version=2))
    world.sandbox.set_faults(after_commit_error_rate=0.25, after_commit_drop_rate=0.15, seed=seed)
    prune = ("--prune", "--keep-history", "0", "--gc-min-age", "0")

    results: list[Result] = []
    writes = sum(
        world.mutations_during(lambda: results.append(world.apply(*FAST, *prune))).values()
    )

    world.sandbox.set_faults(after_commit_error_rate=0.0, after_commit_drop_rate=0.0)
    # One apply: a write answered 5xx or never answered is re-read and settled in the same
    # command, and a dropped connection is that endpoint's failure, never a top-level error.
    assert results[0].code == 0, results[0].err[-3000:]
    # Without faults this change takes 27 writes (4 x model, config, tags, update, 2 GC deletes;
    # 3 deletes for the prune): more were served, so writes took effect and were retried.
    assert writes > 27, writes
    live = set(world.names("endpoint"))
    assert set(names) <= live and gone not in live
    configs, models = world.names("config"), world.names("model")
    for name in names:
        assert len([c for c in configs if c.startswith(f"{name}-")]) == 1, configs
        assert len([m for m in models if m.startswith(f"{name}-")]) == 1, models
    assert not [n for n in configs + models if n.startswith(f"{gone}-")]
    assert world.mutations_during(lambda: world.apply(*FAST, *prune)) == {}


def test_an_account_rate_limit_is_respected_without_a_retry_storm(world: World) -> None:
    # AWS-shaped throttling: the sandbox refuses what the account sends beyond LIMIT calls/s.
    # Without pacing, 16 workers retrying after 0.1-0.8 s backoffs send ~140 calls in the first
    # second and have more refused than served (192-204 per 142 measured); AdaptiveRate caps
    # the account at its served rate after the first throttled window (33-79 refused).
    limit, names = 20, [f"r{i:02}" for i in range(20)]
    for name in names:
        world.write(f"{name}.yaml", byom_manifest(name=name))
    before, calls_before = world.sandbox.traffic(), world.calls()
    world.sandbox.set_faults(rate_limit=float(limit))

    result = world.apply("--concurrency", "16")  # default pacing: no --calls-per-second

    world.sandbox.set_faults(rate_limit=0.0)
    after, calls = world.sandbox.traffic(), world.calls()
    assert result.code == 0, result.err[-3000:]
    assert world.names("endpoint") == names
    for op in ("CreateModel", "CreateEndpointConfig", "CreateEndpoint"):
        assert calls.get(op, 0) - calls_before.get(op, 0) == len(names), op
    served = sum(n - calls_before.get(op, 0) for op, n in calls.items() if op != "rejected")
    refused = after["rate_limited"] - before["rate_limited"]
    assert 0 < refused < served  # the limit was met, and retries did not multiply the calls
    old = before["arrived_per_second"]
    arrived = [
        n - (old[i] if i < len(old) else 0) for i, n in enumerate(after["arrived_per_second"])
    ]
    assert len([n for n in arrived if n > 2 * limit]) <= 2  # above the limit only at first
