"""`python -m benchmarks.resync_pass DIR`: a no-op resync of `run`, in a process of its own.

Loads DIR as `run` does and drives the Reconciler pass by pass (the first pass warms the owned
index and the group listings, as `run`'s initial sync does; the second is the periodic no-op
resync that is measured), the way `benchmarks/fleet.py` measures its resync. Prints one JSON
line: the second pass's wall seconds and the calls the sandbox served during it per calling
account (read from `AWS_ENDPOINT_URL`'s `/_sandbox/calls/by-account`). Run as a child of
`benchmarks/fleet_targets.py`, so the process's peak RSS is the resync's alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchmarks.harness import get_json


def by_account() -> dict[str, dict[str, int]]:
    accounts: dict[str, dict[str, int]] = get_json(
        f"{os.environ['AWS_ENDPOINT_URL']}/_sandbox/calls/by-account"
    )["accounts"]
    return accounts


def account_delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    """Operations served per account between two snapshots (none-served left out)."""
    served: dict[str, dict[str, int]] = {}
    for account, counts in after.items():
        was = before.get(account, {})
        ops = {op: n - was.get(op, 0) for op, n in counts.items() if n != was.get(op, 0)}
        if ops:
            served[account] = ops
    return served


def main(argv: list[str]) -> int:
    from controller.aws.clients import AwsOptions, Clients
    from controller.reconcile.reconciling import Reconciler

    rec = Reconciler(Clients(AwsOptions()))
    snapshot = rec.load(Path(argv[0]))
    keys = snapshot.keys()
    outcomes: dict[str, int] = {}

    def one_pass() -> float:
        outcomes.clear()
        started = time.perf_counter()
        rec.begin_pass()
        for key in keys:
            outcome = rec.reconcile(snapshot, key)
            kind = "mutated" if outcome.mutated else str(outcome.kind)
            outcomes[kind] = outcomes.get(kind, 0) + 1
        return time.perf_counter() - started

    warm = one_pass()
    before = by_account()
    seconds = one_pass()
    calls = account_delta(before, by_account())
    result = {"warm_s": warm, "seconds": seconds, "calls": calls, "outcomes": outcomes}
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
