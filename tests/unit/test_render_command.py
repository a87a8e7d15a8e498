"""`sagemaker-gitops render`: offline, the effective specs as YAML or JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.cli import main
from controller.manifests.loading import load_manifests

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "templated"


def test_yaml_is_one_document_per_endpoint_headed_by_its_files(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["render", "-m", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    documents = list(yaml.safe_load_all(out))
    assert [d["spec"]["target"] for d in documents] == [
        "prod-us-east-1",
        "prod-us-west-2",
        "staging",
    ]
    assert out.startswith("# rendered from: prod-us-east-1.yaml, churn.template.yaml\n")
    # What render prints validates as written-out manifests, and means the same.
    loaded = {m.manifest.spec.target: m.manifest for m in load_manifests([EXAMPLE]).manifests}
    for document in documents:
        assert "extends" not in document["spec"]
        assert loaded[document["spec"]["target"]].model_dump(by_alias=True, exclude_unset=True) == (
            document
        )


def test_an_unknown_endpoint_is_an_error_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "-m", str(EXAMPLE), "--endpoint", "chrun"]) == 1
    err = capsys.readouterr().err
    assert "no endpoint named 'chrun'" in err and "did you mean churn?" in err
