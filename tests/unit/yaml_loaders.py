"""Run a test module once with libyaml composing the nodes and once with the pure loader only.

`yamlpos.parse` takes the C path for clean text when PyYAML has libyaml and falls back to the
pure loader for anything with a problem; the pure-only run is what an install without libyaml
does. Both must give the same documents, messages and lines.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from controller.manifests import yamlpos

LOADERS = ["libyaml", "pure"]


@pytest.fixture(params=LOADERS)
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "pure":
        monkeypatch.setattr(yamlpos, "FAST_LOADER", None)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    yield request.param
