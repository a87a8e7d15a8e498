"""Markdown escaping shared by the reference generators."""

from __future__ import annotations


def prose(text: str) -> str:
    """Text shown literally: a pattern like `[a-z](-*x)` or `*.yaml` must not become markup."""
    for char in "\\[]*<>_`":
        text = text.replace(char, "\\" + char)
    return text


def cell(text: str) -> str:
    """Text fit for one table cell: pipes escaped, on one line."""
    return text.replace("|", "\\|").replace("\n", " ")
