"""The cached SageMaker shapes: the same as the installed botocore's, and all the schema reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from controller.manifests import botocore_model


def test_the_cache_matches_the_installed_botocore() -> None:
    document = json.loads(botocore_model.CACHE.read_text())
    live = botocore_model.live_shapes.__wrapped__  # uncached: leaves live_shapes() unread

    assert document["botocore"] == botocore_model.botocore_version(), (
        "regenerate: python -m controller.manifests.botocore_model"
    )
    services = {key.partition("/")[0] for key in document["shapes"]}
    models = {service: live(service) for service in services}
    stored = {
        key: models[key.partition("/")[0]][key.partition("/")[2]] for key in document["shapes"]
    }
    assert stored == document["shapes"]


PROBE = """
import sys
from controller.manifests import botocore_model
from controller.manifests.loading import load_manifests
assert load_manifests([sys.argv[1]]).ok
print(botocore_model.live_shapes.cache_info().currsize)
"""


def test_building_and_using_the_schema_never_parses_the_service_model(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: {name: a}\nspec:\n"
        "  executionRoleArn: arn:aws:iam::123456789012:role/R\n  variants:\n"
        "    - {name: v, model: {packageGroup: g, version: 1}, instanceType: ml.m5.xlarge,"
        " initialInstanceCount: 1}\n"
    )

    # A fresh interpreter: this one may have parsed the model for another test.
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
