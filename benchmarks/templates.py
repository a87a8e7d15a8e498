"""`validate` and `plan` of endpoints rendered from templates versus the same endpoints written
out (issue 22's budget: no more than 1.2x).

Two trees describe the same N endpoints (N/20 templates; quick: 200 and 10): one writes every
manifest in full, the other has one `kind: EndpointTemplate` per group and a small override per
endpoint (`spec.extends`, its name, its instance count). Both are validated and planned against
the same empty sandbox, alternating, each the fastest of a few runs; the ratio is templated over
written out, from the same run. Plans must agree endpoint by endpoint (same actions), so the
comparison is of the same work.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import FAST, ROLE, cli, endpoint_name, manifest, seed, table, world

NAME = "templates"


def template(index: int) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\n"
        "kind: EndpointTemplate\n"
        f"metadata: {{name: tpl-{index}, labels: {{env: bench}}}}\n"
        "spec:\n"
        f"  executionRoleArn: {ROLE}\n"
        "  variants:\n"
        "    - name: primary\n"
        f"      model: {{packageGroup: grp-{index}, version: 1}}\n"
        "      instanceType: ml.m5.xlarge\n"
        "      initialInstanceCount: 1\n"
    )


def override(name: str, index: int) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\n"
        "kind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n"
        f"  extends: tpl-{index}\n"
        "  variants:\n"
        "    - name: primary\n"
        "      initialInstanceCount: 1\n"
    )


def write_trees(root: Path, count: int, templates: int) -> tuple[Path, Path]:
    written, templated = root / "written", root / "templated"
    (templated / "templates").mkdir(parents=True)
    written.mkdir()
    for t in range(templates):
        (templated / "templates" / f"tpl-{t}.yaml").write_text(template(t))
    for i in range(count):
        name = endpoint_name("ep", i)
        (written / f"{name}.yaml").write_text(manifest(name, f"grp-{i % templates}", 1))
        (templated / f"{name}.yaml").write_text(override(name, i % templates))
    return written, templated


def _actions(plan_json: str) -> dict[str, list[tuple[str, str]]]:
    document = json.loads(plan_json)
    return {e["name"]: [(a["op"], a["type"]) for a in e["actions"]] for e in document["endpoints"]}


def reload_after_edit(root: Path, edited: str, repeats: int) -> tuple[float, int]:
    """What `run` spends between a watched edit and knowing which endpoints changed: the
    reload of the one edited file through the parse cache, re-rendering what goes through it,
    and the fingerprints of the endpoints that are new objects compared (fastest of
    `repeats`; each edit writes another tag value, so every reload sees a change)."""
    from controller.core.snapshots import Snapshot
    from controller.manifests.loading import ParseCache, load_manifests

    cache = ParseCache()
    region = lambda: "us-east-1"  # noqa: E731
    old = Snapshot.build(load_manifests([root], cache=cache), None, region)
    path = root / edited
    text = path.read_text()
    best, changed = float("inf"), 0
    for attempt in range(repeats):
        path.write_text(text.replace("spec:\n", f"spec:\n  tags: {{edit: '{attempt}'}}\n", 1))
        started = time.perf_counter()
        result = load_manifests([root], cache=cache, changed={edited})
        new = Snapshot.build(result, None, region)
        keys = new.keys()
        # As the service does: an entry the parse cache handed over unchanged (the same
        # object) keeps its fingerprint; only the others are hashed and compared.
        changed = sum(
            1
            for k in keys
            if old.entry(k) is not new.entry(k) and old.fingerprint(k) != new.fingerprint(k)
        )
        best = min(best, time.perf_counter() - started)
        old = new
    path.write_text(text)
    return best, changed


def run(quick: bool = False) -> dict[str, Any]:
    count, templates = (200, 10) if quick else (1000, 50)
    repeats = 2 if quick else 3
    with world(seed(templates, versions=1)) as (_, tmp):
        written, templated = write_trees(tmp, count, templates)
        seconds: dict[str, dict[str, float]] = {"written": {}, "templated": {}}
        plans: dict[str, str] = {}
        for command in ("validate", "plan"):
            for _ in range(repeats):  # alternate, so both see the same machine
                for kind, root in (("written", written), ("templated", templated)):
                    argv = (
                        ["validate", str(root)]
                        if command == "validate"
                        else [
                            "plan",
                            "-m",
                            str(root),
                            "--format",
                            "json",
                            "--calls-per-second",
                            FAST,
                        ]
                    )
                    _, out, took = cli(*argv)
                    previous = seconds[kind].get(command, float("inf"))
                    seconds[kind][command] = min(previous, took)
                    if command == "plan":
                        plans[kind] = out
        if _actions(plans["written"]) != _actions(plans["templated"]):
            raise RuntimeError("the two trees planned different actions")
        first = endpoint_name("ep", 0)
        edits = {
            "an endpoint's file": reload_after_edit(templated, f"{first}.yaml", 5),
            "a template": reload_after_edit(templated, "templates/tpl-0.yaml", 5),
        }
    ratios = {c: seconds["templated"][c] / seconds["written"][c] for c in ("validate", "plan")}
    rows = [
        [c, f"{seconds['written'][c]:.2f}", f"{seconds['templated'][c]:.2f}", f"{ratios[c]:.2f}x"]
        for c in ("validate", "plan")
    ]
    print(
        f"{count} endpoints; templated: {templates} templates + one override each "
        f"(fastest of {repeats})"
    )
    print(table(["command", "written out (s)", "templated (s)", "ratio"], rows))
    print("run: reload after one edit (parse cache, render cache, changed fingerprints)")
    print(
        table(
            ["edited", "endpoints changed", "ms"],
            [[what, n, f"{s * 1000:.1f}"] for what, (s, n) in edits.items()],
        )
    )
    return {
        "reload_after_edit": {
            w: {"ms": round(s * 1000, 2), "changed": n} for w, (s, n) in edits.items()
        },
        "endpoints": count,
        "templates": templates,
        "seconds": seconds,
        "ratio": {c: round(r, 3) for c, r in ratios.items()},
    }
