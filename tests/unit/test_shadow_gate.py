"""The shadow gate's pure parts: the shadow block written into and dropped from an endpoint's
text (and refused where it cannot be done safely), and the shadow judged against production."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.edits.shadowing import MARK, ShadowEditError, add_shadow, drop_shadow
from controller.manifests.loading import load_manifests
from controller.manifests.pipelines.model import Stage, Verification
from controller.promotion import analysis
from controller.promotion.analysis import Phase, Subject

TEXT = """apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {name: churn}
spec:
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  # production serves the pinned version
  variants:
    - name: primary
      model:
        packageGroup: churn-xgb
        version: 6   # moved by promote
      instanceType: ml.g5.xlarge
      initialInstanceCount: 2
  tags: {team: ml}
"""


def test_the_shadow_is_a_copy_of_production_and_dropping_it_restores_the_text() -> None:
    added = add_shadow(TEXT, 0, "churn.yaml", variant="candidate", version=7, weight=0.25)

    assert added.startswith(TEXT.split("  tags:")[0])
    assert added.endswith("  tags: {team: ml}\n")
    block = added.split("  shadowVariants:\n")[1].split("  tags:")[0]
    assert block == (
        f"    - name: candidate  {MARK}\n"
        "      model:\n"
        "        packageGroup: churn-xgb\n"
        "        version: 7   # moved by promote\n"
        "      instanceType: ml.g5.xlarge\n"
        "      initialInstanceCount: 2\n"
        "      initialWeight: 0.25\n"
    )
    assert drop_shadow(added, 0, "churn.yaml") == TEXT
    assert drop_shadow(TEXT, 0, "churn.yaml") == TEXT  # nothing to drop: unchanged


def test_the_second_document_of_a_file_is_edited_alone() -> None:
    other = TEXT.replace("name: churn}", "name: fraud}")
    both = other + "---\n" + TEXT

    added = add_shadow(both, 1, "all.yaml", variant="shadow", version=7, weight=1)

    first, second = added.split("---\n")
    assert first == other and "shadowVariants" in second
    assert drop_shadow(added, 1, "all.yaml") == both


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            lambda t: t.replace(
                "      initialInstanceCount: 2\n",
                "      initialInstanceCount: 2\n"
                "    - name: second\n      model: {packageGroup: churn-xgb, version: 6}\n"
                "      instanceType: ml.g5.xlarge\n",
            ),
            "one production variant",
        ),
        (lambda t: t.replace("        version: 6", "        version: '{{version}}'"), None),
        (lambda t: t.replace("  tags:", "  shadowVariants: []\n  tags:"), "drop them first"),
    ],
)
def test_what_cannot_be_written_safely_is_refused(change: object, why: str | None) -> None:
    text = change(TEXT)  # type: ignore[operator]
    if why is None:  # a quoted version is rewritten in its quotes, like promote does
        added = add_shadow(text, 0, "churn.yaml", variant="shadow", version=7, weight=1)
        assert "version: '7'" in added or "version: 7" in added
        return
    with pytest.raises(ShadowEditError, match=why):
        add_shadow(text, 0, "churn.yaml", variant="shadow", version=7, weight=1)


def test_a_flow_style_variant_list_is_refused() -> None:
    flow = TEXT.split("  variants:")[0] + (
        "  variants: [{name: primary, model: {packageGroup: churn-xgb, version: 6}, "
        "instanceType: ml.g5.xlarge}]\n"
    )
    with pytest.raises(ShadowEditError, match="block list"):
        add_shadow(flow, 0, "churn.yaml", variant="shadow", version=7, weight=1)


def gate(*checks: dict[str, object], min_invocations: int = 100) -> Verification:
    return Verification.model_validate(
        {"interval": "1m", "count": 1, "minInvocations": min_invocations, "metrics": list(checks)}
    )


PAIR = (Subject("prod", "churn", "shadow"), Subject("prod", "churn", "primary"))
RATIO = {"name": "p99-ratio", "latency": {"statistic": "p99"}, "compare": "ratio", "max": 1.2}
DELTA = {"name": "errors", "errorRate": {}, "compare": "difference", "max": 0.005}


def series(shadow_p99: float, prod_p99: float, shadow_errors: float, invocations: float = 1000):
    return {
        "s0_invocations": [invocations],
        "s1_invocations": [1000.0],
        "s0_c0": [shadow_p99 * 1000],
        "s1_c0": [prod_p99 * 1000],
        "s0_c1_errors": [shadow_errors],
        "s1_c1_errors": [2.0],
    }


def test_the_shadow_is_judged_against_production_on_the_same_endpoint() -> None:
    verification = gate(RATIO, DELTA)

    good = analysis.evaluate_shadow(verification, PAIR, series(130, 120, 3), "t")
    slow = analysis.evaluate_shadow(verification, PAIR, series(300, 120, 3), "t")
    erring = analysis.evaluate_shadow(verification, PAIR, series(125, 120, 30), "t")

    assert good.phase is Phase.SUCCESSFUL
    values = {c.name: c.value for c in good.subjects[0].checks}
    assert values == pytest.approx({"p99-ratio": 130 / 120, "errors": 0.001})
    assert good.subjects[0].subject.variant == "shadow"
    assert slow.phase is Phase.FAILED and "> max 1.2" in slow.subjects[0].checks[0].detail
    assert erring.phase is Phase.FAILED


def test_a_thin_shadow_is_inconclusive() -> None:
    thin = analysis.evaluate_shadow(gate(RATIO), PAIR, series(130, 120, 0, invocations=40), "t")
    assert thin.phase is Phase.INCONCLUSIVE
    assert "shadow 40, production 1000" in thin.subjects[0].reason


def test_compare_belongs_to_a_shadow_gate() -> None:
    with pytest.raises(ValueError, match="compare is for a shadow gate"):
        Stage.model_validate(
            {
                "name": "prod",
                "endpoints": {"targets": ["prod"]},
                "verification": {"metrics": [RATIO]},
            }
        )
    stage = Stage.model_validate(
        {
            "name": "prod",
            "endpoints": {"targets": ["prod"]},
            "shadow": {"verification": {"metrics": [RATIO]}},
        }
    )
    assert stage.shadow_stage == "prod-shadow" and stage.shadow is not None
    assert stage.shadow.variant == "shadow" and stage.shadow.sampling_weight == 1.0


def test_an_empty_flow_list_of_shadows_is_dropped_too() -> None:
    text = TEXT.replace("  tags:", "  shadowVariants: []\n  tags:")
    assert drop_shadow(text, 0, "churn.yaml") == TEXT


def test_an_autoscaled_production_variant_is_copied_without_its_scaling() -> None:
    scaled = TEXT.replace(
        "      instanceType: ml.g5.xlarge\n",
        "      autoscaling:\n        minCapacity: 1\n        maxCapacity: 4\n"
        "      instanceType: ml.g5.xlarge\n",
    )
    added = add_shadow(scaled, 0, "churn.yaml", variant="shadow", version=7, weight=1)

    block = added.split("  shadowVariants:\n")[1]
    assert "autoscaling" not in block and "instanceType: ml.g5.xlarge" in block
    assert added.count("minCapacity: 1") == 1  # production keeps its scaling
    assert drop_shadow(added, 0, "churn.yaml") == scaled


TEMPLATE = """apiVersion: sagemaker-gitops/v1
kind: EndpointTemplate
metadata: {name: churn}
spec:
  executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
  variants:
    - name: primary
      model: {packageGroup: churn-xgb, version: 5}
      instanceType: ml.g5.xlarge
      initialInstanceCount: 2
      autoscaling: {minCapacity: 2, maxCapacity: 4}
"""
OVERRIDE = """apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {name: churn, labels: {env: prod}}
spec:
  extends: churn
  variants:
    - name: primary
      model: {version: 6}  # prod's own pin
"""


def test_an_endpoint_extending_a_template_takes_its_shadow_in_its_own_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "churn.template.yaml").write_text(TEMPLATE)
    own = tmp_path / "prod.yaml"
    own.write_text(OVERRIDE)
    (entry,) = load_manifests([tmp_path], root=tmp_path).manifests
    assert entry.rendering is not None

    added = add_shadow(
        OVERRIDE, 0, "prod.yaml", variant="candidate", version=7, weight=0.5,
        rendered=entry.rendering.data,
    )  # fmt: skip

    assert added == OVERRIDE + (
        "  shadowVariants:\n"
        f"    - name: candidate  {MARK}\n"
        "      model:\n"
        "        packageGroup: churn-xgb\n"
        "        version: 7\n"
        "      instanceType: ml.g5.xlarge\n"
        "      initialInstanceCount: 2\n"
        "      initialWeight: 0.5\n"
    )
    own.write_text(added)
    loaded = load_manifests([tmp_path], root=tmp_path)
    assert loaded.ok, loaded.diagnostics
    spec = loaded.manifests[0].manifest.spec
    assert [(v.name, v.model.version) for v in spec.variants] == [("primary", 6)]  # type: ignore[union-attr]
    assert [(v.name, v.model.version) for v in spec.shadow_variants] == [("candidate", 7)]  # type: ignore[union-attr]
    assert drop_shadow(added, 0, "prod.yaml") == OVERRIDE
    with pytest.raises(ShadowEditError, match="already has shadowVariants"):
        add_shadow(
            added, 0, "prod.yaml", variant="c", version=8, weight=1,
            rendered=loaded.manifests[0].rendering.data,  # type: ignore[union-attr]
        )  # fmt: skip
