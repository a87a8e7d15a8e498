"""The demo's copy-count change: one line of the first component no autoscaling owns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.commands.demo.flow import _add_a_copy
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "examples" / "llm-shared-gpu.yaml"


def test_the_example_gets_one_more_copy_on_one_line(tmp_path: Path) -> None:
    copy = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, copy)

    name, before, after = _add_a_copy(copy)

    assert after == before + 1
    old, new = EXAMPLE.read_text().splitlines(), copy.read_text().splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [(f"      copies: {before}", f"      copies: {after}")]
    loaded = load_manifests([tmp_path], root=tmp_path)
    assert not loaded.diagnostics
    (endpoint,) = loaded.manifests
    component = next(c for c in endpoint.manifest.spec.inference_components if c.name == name)
    assert component.copies == after


def test_an_autoscaled_component_is_skipped(tmp_path: Path) -> None:
    # The example autoscales llm-embed; the copy goes to llm-chat, whatever their order.
    text = EXAMPLE.read_text()
    assert "autoscaling:" in text[text.index("    - name: llm-embed") :]
    chat, embed, tags = (
        text.index(m) for m in ("    - name: llm-chat", "    - name: llm-embed", "  tags:")
    )
    swapped = text[:chat] + text[embed:tags] + text[chat:embed] + text[tags:]
    copy = tmp_path / EXAMPLE.name
    copy.write_text(swapped)
    assert not load_manifests([tmp_path], root=tmp_path).diagnostics

    name, _, _ = _add_a_copy(copy)

    assert name == "llm-chat"


def test_every_component_autoscaled_is_a_clear_error(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    first = text.index("    - name: llm-chat")
    scaled = text[:first] + text[first:].replace(
        "      copies: 2\n",
        "      copies: 2\n      autoscaling: {minCapacity: 1, maxCapacity: 4}\n",
        1,
    )
    copy = tmp_path / EXAMPLE.name
    copy.write_text(scaled)

    with pytest.raises(ControllerError, match="every inference component is autoscaled"):
        _add_a_copy(copy)
