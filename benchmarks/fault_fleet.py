"""The mixed fleet of the `faults` benchmark: its manifests, its edit, and what it must leave.

Four shapes of registry endpoint, each with a known set of resources once converged:

- `single`: one variant -> 1 EndpointConfig, 1 Model;
- `two`: two variants on two groups -> 1 EndpointConfig, 2 Models;
- `scaled`: one variant with autoscaling -> 1 EndpointConfig, 1 Model, a scalable target, a
  target-tracking policy and a scheduled action;
- `components`: a model-less GPU pool hosting two inference components -> 1 EndpointConfig,
  2 components, 1 Model per component (the live one: history 0), and for the second component
  autoscaling from zero: a scalable target, a target-tracking policy, the step policy and the
  CloudWatch alarm that runs it.

The edit bumps every endpoint's registry version (components: the first component's). Endpoint
names have a fixed width (`fp-07`), so `fp-07-` attributes a Model or EndpointConfig (named
`<endpoint>-<hash>`, `<endpoint>-<variant or component>-<hash>`) to exactly one endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ROLE

SHAPES = ("single", "two", "scaled", "components")
VARIANT_POLICY = "sagemaker-gitops-SageMakerVariantInvocationsPerInstance"
COMPONENT_POLICY = "sagemaker-gitops-SageMakerInferenceComponentInvocationsPerCopy"
FROM_ZERO_POLICY = "sagemaker-gitops-scale-out-from-zero"
SCHEDULED = "sagemaker-gitops-nightly"


@dataclass(frozen=True)
class Slot:
    """One place a Model fills: a variant or a component, with the registry version it runs."""

    key: str  # the variant or component name
    group: str
    version: int


@dataclass(frozen=True)
class FleetEndpoint:
    name: str
    shape: str
    groups: tuple[str, ...]
    bumped: bool = False  # after the edit: version 2 where the edit bumps one

    def slots(self) -> tuple[Slot, ...]:
        new = 2 if self.bumped else 1
        if self.shape == "components":
            return (
                Slot(f"{self.name}-chat", self.groups[0], new),
                Slot(f"{self.name}-embed", self.groups[1], 1),
            )
        keys = ("primary", "shadow") if self.shape == "two" else ("primary",)
        return tuple(Slot(k, g, new) for k, g in zip(keys, self.groups, strict=True))

    def manifest(self) -> str:
        head = (
            "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
            f"metadata: {{name: {self.name}, labels: {{env: bench}}}}\n"
            f"spec:\n  executionRoleArn: {ROLE}\n  variants:\n"
        )
        if self.shape == "components":
            return head + self._components()
        weight = 0.5 if self.shape == "two" else 1
        body = "".join(
            f"    - name: {s.key}\n"
            f"      model: {{packageGroup: {s.group}, version: {s.version}}}\n"
            "      instanceType: ml.m5.xlarge\n"
            f"      initialInstanceCount: 1\n      initialWeight: {weight}\n"
            for s in self.slots()
        )
        return head + body + (SCALING if self.shape == "scaled" else "")

    def _components(self) -> str:
        chat, embed = self.slots()
        return (
            "    - name: pool\n      instanceType: ml.g5.12xlarge\n"
            "      initialInstanceCount: 1\n"
            "      managedInstanceScaling: {minInstanceCount: 1, maxInstanceCount: 2}\n"
            "  inferenceComponents:\n"
            f"{_component(chat, 2, '')}{_component(embed, 1, COMPONENT_SCALING)}"
        )


SCALING = """      autoscaling:
        minCapacity: 1
        maxCapacity: 4
        targetTracking:
          - {predefinedMetric: SageMakerVariantInvocationsPerInstance, targetValue: 70}
        scheduled:
          - {name: nightly, schedule: cron(0 22 * * ? *), maxCapacity: 2}
"""
COMPONENT_SCALING = """      autoscaling:
        minCapacity: 0
        maxCapacity: 2
        targetTracking:
          - {predefinedMetric: SageMakerInferenceComponentInvocationsPerCopy, targetValue: 5}
        scaleOutFromZero: {copies: 1, period: 60}
"""


def _component(slot: Slot, copies: int, extra: str) -> str:
    return (
        f"    - name: {slot.key}\n      variant: pool\n"
        f"      model: {{packageGroup: {slot.group}, version: {slot.version}}}\n"
        "      compute: {acceleratorDevices: 1, minMemoryMb: 1024}\n"
        f"      copies: {copies}\n{extra}"
    )


def fleet(counts: dict[str, int], groups: int) -> list[FleetEndpoint]:
    """`counts[shape]` endpoints of each shape, named `fp-00`.., spread over `groups` groups."""
    endpoints: list[FleetEndpoint] = []
    for shape in SHAPES:
        for _ in range(counts.get(shape, 0)):
            index = len(endpoints)
            pair = (f"grp-{index % groups}", f"grp-{(index + 1) % groups}")
            uses = pair if shape in ("two", "components") else pair[:1]
            endpoints.append(FleetEndpoint(f"fp-{index:02d}", shape, uses))
    return endpoints


def write(root: Path, endpoints: Sequence[FleetEndpoint]) -> None:
    """Exactly these manifests in `root` (any other is removed: a deleted manifest)."""
    wanted = {f"{e.name}.yaml": e for e in endpoints}
    for path in root.glob("*.yaml"):
        if path.name not in wanted:
            path.unlink()
    for file, endpoint in wanted.items():
        (root / file).write_text(endpoint.manifest())
