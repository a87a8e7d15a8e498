"""API calls per reconcile pass, against the DESIGN budget ("Design for what comes next").

For N endpoints over G model package groups, counts the operations the sandbox served during
(a) the first `apply` (creation), (b) a no-op `plan`, (c) a no-op `apply`, (d) an `apply` after
one manifest's version changed. The budget of a no-op pass is one DescribeEndpoint per endpoint,
one ListModelPackages listing per group, one GetResources page per 100 owned resources, one
DescribeScalableTargets page per 50 variant targets (the fleet has none: one call; with targets,
DescribeScalingPolicies and DescribeScheduledActions add one paged call each, per region and
pass, never per endpoint), and one GetCallerIdentity for `plan`; creation adds the three Create
calls per endpoint, a version change the three calls of that endpoint (CreateModel,
CreateEndpointConfig, UpdateEndpoint).
The client-side rate limit is lifted (`--calls-per-second 1000`): it changes time, not counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.harness import FAST, cli, delta, pages, seed, set_version, table, world, write_fleet

NAME = "api_calls"
PHASES = ("create", "noop_plan", "noop_apply", "change_one", "scale_all", "noop_scaled")
LABELS = {
    "create": "(a) first apply",
    "noop_plan": "(b) no-op plan",
    "noop_apply": "(c) no-op apply",
    "change_one": "(d) change one",
    "scale_all": "(e) autoscale all",
    "noop_scaled": "(f) no-op, scaled",
}
# Phase (e) adds this to every manifest's variant: one target and one policy per endpoint.
AUTOSCALING = (
    "      autoscaling:\n"
    "        minCapacity: 1\n"
    "        maxCapacity: 4\n"
    "        targetTracking:\n"
    "          - {predefinedMetric: SageMakerVariantInvocationsPerInstance, targetValue: 70}\n"
)


def budget(phase: str, endpoints: int, groups: int, owned: int) -> dict[str, int]:
    """The DESIGN budget per operation for one pass; `owned` resources carry our tag."""
    reads = {
        "DescribeEndpoint": endpoints,
        "ListModelPackages": groups,
        "GetResources": pages(owned, 100),
        "DescribeScalableTargets": 1,
    }
    if phase == "noop_plan":
        reads["GetCallerIdentity"] = 1
    if phase == "create":
        writes = {"CreateModel": endpoints, "CreateEndpointConfig": endpoints}
        return reads | writes | {"CreateEndpoint": endpoints}
    if phase == "change_one":
        return reads | {"CreateModel": 1, "CreateEndpointConfig": 1, "UpdateEndpoint": 1}
    if phase in ("scale_all", "noop_scaled"):
        # With targets, the pass reads every target, policy and scheduled action once, paged:
        # still per region, not per endpoint (pages of 50, 10 and 50).
        before = phase == "scale_all"  # nothing registered yet when (e) reads
        reads["DescribeScalableTargets"] = pages(0 if before else endpoints, 50)
        if not before:
            reads["DescribeScalingPolicies"] = pages(endpoints, 10)
            reads["DescribeScheduledActions"] = 1
    if phase == "scale_all":
        return reads | {"RegisterScalableTarget": endpoints, "PutScalingPolicy": endpoints}
    return reads


def _commands(root: Path) -> dict[str, list[str]]:
    common = ["-m", str(root), "--calls-per-second", FAST]
    return {
        "create": ["apply", *common, "--no-wait"],
        "noop_plan": ["plan", *common],
        "noop_apply": ["apply", *common, "--no-wait"],
        "change_one": ["apply", *common, "--no-wait"],
        "scale_all": ["apply", *common, "--no-wait"],
        "noop_scaled": ["apply", *common, "--no-wait"],
    }


def measure(endpoints: int, groups: int) -> dict[str, Any]:
    """Run the four phases on a fresh sandbox; counts, budgets and ratios per phase."""
    phases: dict[str, Any] = {}
    with world(seed(groups, versions=2), prefix="bench-api-") as (sandbox, root):
        paths = write_fleet(root, endpoints, groups)
        for phase, argv in _commands(root).items():
            if phase == "change_one":
                set_version(paths[0], 2)
            if phase == "scale_all":
                for path in paths:
                    path.write_text(path.read_text() + AUTOSCALING)
            owned = sandbox.owned_resources()
            before = sandbox.calls()
            code, _, seconds = cli(*argv)
            counts = delta(before, sandbox.calls())
            want = budget(phase, endpoints, groups, owned)
            phases[phase] = {
                "calls": counts,
                "total": sum(counts.values()),
                "budget": want,
                "budget_total": sum(want.values()),
                "ratio": sum(counts.values()) / sum(want.values()),
                "owned_resources_before": owned,
                "exit_code": code,
                "seconds": round(seconds, 3),
            }
    noop, change = phases["noop_apply"]["calls"], phases["change_one"]["calls"]
    phases["change_one"]["extra_over_noop"] = {
        op: n - noop.get(op, 0) for op, n in change.items() if n != noop.get(op, 0)
    }
    return {"endpoints": endpoints, "groups": groups, "phases": phases}


def report(result: dict[str, Any]) -> None:
    n, g, phases = result["endpoints"], result["groups"], result["phases"]
    print(f"\nN={n} endpoints, G={g} groups (single-variant registry endpoints)")
    rows = [
        [
            LABELS[p],
            phases[p]["total"],
            phases[p]["budget_total"],
            f"{phases[p]['ratio']:.2f}x",
            phases[p]["owned_resources_before"],
        ]
        for p in PHASES
    ]
    print(table(["pass", "calls", "budget", "actual/budget", "owned before"], rows))
    ops = sorted({op for p in PHASES for op in phases[p]["calls"] | phases[p]["budget"]})
    rows = [
        [
            op,
            *(_pair(phases[p]["calls"].get(op, 0), phases[p]["budget"].get(op, 0)) for p in PHASES),
        ]
        for op in ops
    ]
    print("\nper operation, actual (budget):")
    print(table(["operation", *(LABELS[p] for p in PHASES)], rows))
    extra = phases["change_one"]["extra_over_noop"]
    change = phases["change_one"]["calls"]
    shown = ", ".join(f"{op} {k:+d}" for op, k in sorted(extra.items())) or "none"
    print(
        f"\n(d) changing one manifest: DescribeEndpoint {change.get('DescribeEndpoint', 0)} "
        f"(the whole pass re-reads every endpoint), "
        f"Create* {sum(k for op, k in change.items() if op.startswith('Create'))}, "
        f"Update* {sum(k for op, k in change.items() if op.startswith('Update'))}; "
        f"over a no-op apply: {shown}"
    )


def _pair(actual: int, want: int) -> str:
    if actual == want:
        return str(actual)
    return f"{actual} ({want})"


def run(quick: bool = False) -> dict[str, Any]:
    sizes = [(10, 3)] if quick else [(10, 3), (100, 10)]
    results = []
    for endpoints, groups in sizes:
        result = measure(endpoints, groups)
        report(result)
        results.append(result)
    return {"scenarios": results}


if __name__ == "__main__":
    run(quick=True)
