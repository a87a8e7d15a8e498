"""Every relative link in README.md and docs/ leads to a file that exists, and to a heading in it
when it names one; the README lists every doc."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ship_helpers import REPO

DOCS = sorted((REPO / "docs").rglob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    text = re.sub(r"\\.", "", text)  # escaped characters are literal text, never links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", [REPO / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.relative_to(REPO)}: broken link {target}"
        if anchor and file.suffix == ".md":
            headings = HEADING.findall(FENCE.sub("", file.read_text(encoding="utf-8")))
            anchors = {_anchor(h) for h in headings}
            assert anchor in anchors, f"{page.relative_to(REPO)}: no heading for {target}"


def test_readme_lists_every_doc() -> None:
    listed = set(_links(REPO / "README.md"))
    for page in DOCS:
        assert str(page.relative_to(REPO)) in listed, f"README.md does not link {page.name}"
