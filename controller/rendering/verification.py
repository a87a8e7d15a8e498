"""A stage verification as a terminal report, a pull-request comment (markdown) or JSON.

The JSON is a contract (docs/stages.md): `phase`, the stage and pipeline, the versions verified,
convergence notes, and every measurement with each endpoint variant's invocations and checked
values, so CI can gate on more than the exit code.
"""

from __future__ import annotations

import json
from typing import Any

from controller.promotion.analysis import Measurement, Phase
from controller.promotion.verifying import Outcome

_ICON = {
    Phase.SUCCESSFUL: "✅",
    Phase.FAILED: "❌",
    Phase.INCONCLUSIVE: "⏸️",
    Phase.ERROR: "⚠️",
    Phase.RUNNING: "⏳",
}


def as_json(outcome: Outcome, pipeline: str, stage: str) -> dict[str, Any]:
    return {
        "pipeline": pipeline,
        "stage": stage,
        "phase": outcome.phase.value,
        "versions": {g: list(v) for g, v in outcome.versions.items()},
        "converged": not outcome.convergence.notes,
        "notes": list(outcome.convergence.notes),
        "subjects": [
            {
                "location": s.location,
                "endpoint": s.endpoint,
                "variant": s.variant,
                "component": s.component or None,
            }
            for s in outcome.subjects
        ],
        "measurements": [_measurement(m) for m in outcome.measurements],
    }


def _measurement(measurement: Measurement) -> dict[str, Any]:
    return {
        "at": measurement.at,
        "phase": measurement.phase.value,
        "error": measurement.error or None,
        "subjects": [
            {
                "endpoint": r.subject.endpoint,
                "variant": r.subject.variant,
                "component": r.subject.component or None,
                "location": r.subject.location,
                "invocations": r.invocations,
                "phase": r.phase.value,
                "reason": r.reason or None,
                "checks": {
                    c.name: {"value": c.value, "phase": c.phase.value, "detail": c.detail or None}
                    for c in r.checks
                },
            }
            for r in measurement.subjects
        ],
    }


def render_json(outcome: Outcome, pipeline: str, stage: str) -> str:
    return json.dumps(as_json(outcome, pipeline, stage), indent=2) + "\n"


def _versions(outcome: Outcome) -> str:
    return (
        ", ".join(f"{g} v{'/v'.join(map(str, v))}" for g, v in outcome.versions.items())
        or "no version"
    )


def measurement_line(measurement: Measurement) -> str:
    """One measurement in a line: its phase and each subject's values."""
    if measurement.error:
        return f"{measurement.at} {measurement.phase.value}: {measurement.error}"
    parts = []
    for result in measurement.subjects:
        values = ", ".join(
            f"{c.name}={c.value:.4g}" if c.value is not None else f"{c.name}=no data"
            for c in result.checks
        )
        reason = f" ({result.reason})" if result.reason else ""
        parts.append(
            f"{result.subject.shown}: {result.invocations:.0f} invocations, {values}{reason}"
        )
    return f"{measurement.at} {measurement.phase.value}: " + "; ".join(parts)


def render_text(outcome: Outcome, pipeline: str, stage: str) -> str:
    lines = [f"stage {stage} (pipeline {pipeline}): {outcome.phase.value} for {_versions(outcome)}"]
    lines += [f"  not converged: {note}" for note in outcome.convergence.notes]
    lines += [f"  {measurement_line(m)}" for m in outcome.measurements]
    return "\n".join(lines) + "\n"


def render_markdown(outcome: Outcome, pipeline: str, stage: str) -> str:
    icon = _ICON[outcome.phase]
    lines = [
        f"### {icon} Stage `{stage}` of pipeline `{pipeline}`: {outcome.phase.value}",
        "",
        f"Verified: {_versions(outcome)} on {len(outcome.subjects)} endpoint variant(s) or "
        "component(s).",
        "",
    ]
    if outcome.convergence.notes:
        lines += ["Not converged:", ""]
        lines += [f"- {note}" for note in outcome.convergence.notes]
        lines.append("")
    if outcome.measurements:
        names = [c.name for c in _first_checks(outcome)]
        lines.append(
            "| measurement | endpoint / variant or component | invocations | "
            + " | ".join(names)
            + " |"
        )
        lines.append("|---|---|---|" + "---|" * len(names))
        for number, measurement in enumerate(outcome.measurements, start=1):
            if measurement.error:
                row = f"| {number} {_ICON[measurement.phase]} | {measurement.error} | |"
                lines.append(row + " |" * len(names))
                continue
            for result in measurement.subjects:
                cells = [
                    f"{_ICON[c.phase]} {c.value:.4g}" if c.value is not None else "no data"
                    for c in result.checks
                ]
                lines.append(
                    f"| {number} {_ICON[result.phase]} | `{result.subject.endpoint}` / "
                    f"`{result.subject.component or result.subject.variant}` | "
                    f"{result.invocations:.0f} | " + " | ".join(cells) + " |"
                )
    return "\n".join(lines) + "\n"


def _first_checks(outcome: Outcome) -> tuple[Any, ...]:
    for measurement in outcome.measurements:
        for result in measurement.subjects:
            return result.checks
    return ()
