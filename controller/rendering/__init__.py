"""Plan renderers: text for terminals, Markdown for pull requests, JSON for scripts.

Called by the `plan` and `apply` commands and by the service's PR integration. All three read the
versioned JSON document (`jsonplan.to_json_dict`), never the apply-only parts of a plan, so what
they show agrees and can never steer what apply does. Pure functions: no AWS, no clock.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from controller.core.plan.plans import Plan
from controller.rendering.jsonplan import render_json, to_json_dict
from controller.rendering.markdown import render_markdown
from controller.rendering.text import render_text, should_color

Format = Literal["text", "markdown", "json"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "json")

__all__ = [
    "FORMATS",
    "Format",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "should_color",
    "to_json_dict",
]


def render(
    plan: Plan, fmt: Format, *, color: bool = False, visible_environment: Collection[str] = ()
) -> str:
    """The plan in `fmt`, ready to write as-is (it ends with a newline).

    `color` applies to text only: Markdown and JSON are read by programs, never by a terminal.
    Markdown is cut to fit a GitHub comment (see `render_markdown` for other limits).
    Environment values are masked unless their key is in `visible_environment` (every format
    reads `to_json_dict`, where the masking happens).
    """
    shown = visible_environment
    if fmt == "text":
        return render_text(plan, color=color, visible_environment=shown)
    if fmt == "markdown":
        return render_markdown(plan, visible_environment=shown)
    if fmt == "json":
        return render_json(plan, visible_environment=shown)
    raise ValueError(f"unknown plan format {fmt!r}; expected one of {', '.join(FORMATS)}")
