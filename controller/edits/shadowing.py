"""Adding and dropping an endpoint's shadow variant in its manifest's text, for a stage's shadow
gate: the candidate enters as a shadow of production, then is swapped in (or dropped).

The shadow block is the endpoint's production variant copied line for line (so its capacity,
comments and style are the team's own), with the variant's name, the version and the sampling
weight changed, written as `shadowVariants:` right after `variants:`. Dropping removes exactly
that entry. Both edits are checked the way `promote`'s are: the new text must parse to exactly
the old data with only the shadow added or removed, or the file is left alone with an error.
Only an endpoint's own file is edited: a flow-style `variants: [...]`, or anything reached
through an anchor or merge key, is refused. An endpoint rendered from a template
(`spec.extends`) has its production variant in the template, not in its file: its shadow is
written into its own file from the rendered variant (`add_shadow(..., rendered=)`), where
`shadowVariants` merge by name onto what the template gives, so dropping it is the same edit.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.errors import ControllerError
from controller.manifests import yamlpos

_NAME = re.compile(r"^(\s*-?\s*name:\s*)(['\"]?)([^'\"\s#]+)(['\"]?)[^\n]*", re.MULTILINE)
MARK = "# a shadow gate's candidate, written by sagemaker-gitops"


class ShadowEditError(ControllerError):
    """The shadow block cannot be written safely into this file: edit it by hand."""


def _spec(text: str, document: int, shown: str) -> tuple[Any, MappingNode]:
    documents = {d.index: d for d in yamlpos.parse(text)[0]}
    found = documents.get(document)
    spec = yamlpos.child(found.node, "spec") if found else None
    if found is None or not isinstance(spec, MappingNode):
        raise ShadowEditError(f"{shown}: no endpoint spec in document {document}")
    return found.data, spec


def _block(spec: MappingNode, key: str) -> tuple[Node, SequenceNode] | None:
    found = yamlpos.entry(spec, key)
    if found is None:
        return None
    key_node, value = found
    if not isinstance(value, SequenceNode) or value.flow_style:
        return None
    return key_node, value


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _block_end(text: str, node: Node) -> int:
    """The offset just past the line holding the block's last character. A block collection's
    own end mark sits at the next token (the following key), so the last scalar or flow
    collection inside it is what ends it."""
    last = _last_index(node)
    end = text.find("\n", max(0, last - 1))
    return len(text) if end < 0 else end + 1


def _last_index(node: Node) -> int:
    if isinstance(node, ScalarNode) or getattr(node, "flow_style", False) or not node.value:
        return int(node.end_mark.index)
    if isinstance(node, SequenceNode):
        return max((_last_index(item) for item in node.value), default=node.start_mark.index)
    if isinstance(node, MappingNode):
        return max(
            (_last_index(part) for pair in node.value for part in pair),
            default=node.start_mark.index,
        )
    return int(node.end_mark.index)


def add_shadow(
    text: str,
    document: int,
    shown: str,
    *,
    variant: str,
    version: int,
    weight: float,
    rendered: Any = None,
) -> str:
    """`text` with a shadow of the endpoint's one production variant, pinned to `version`;
    `rendered`: the endpoint extends a template, and this is its merged document."""
    if rendered is not None:
        return _add_rendered(text, document, shown, rendered, variant, version, weight)
    data, spec = _spec(text, document, shown)
    if "shadowVariants" in (data.get("spec") or {}):
        raise ShadowEditError(f"{shown}: the endpoint already has shadowVariants (drop them first)")
    found = _block(spec, "variants")
    if found is None or len(found[1].value) != 1:
        raise ShadowEditError(
            f"{shown}: a shadow gate needs the endpoint's one production variant written in "
            "its own file as a block list (`variants:` then `- name: ...`)"
        )
    key_node, value = found
    start = _line_start(text, key_node.start_mark.index)
    end = _block_end(text, value)
    block = text[start:end]
    item: MappingNode = value.value[0]
    version_node = yamlpos.child(yamlpos.child(item, "model") or item, "version")
    if not isinstance(version_node, ScalarNode):
        raise ShadowEditError(
            f"{shown}: the production variant must pin a registry version to be copied as a shadow"
        )
    # (start, end, replacement) in the copy, applied last first so offsets stay right.
    edits = [(version_node.start_mark.index, version_node.end_mark.index, str(version))]
    scaling = yamlpos.entry(item, "autoscaling")
    if scaling is not None:  # a shadow variant cannot scale: its copy leaves autoscaling out
        edits.append(
            (_line_start(text, scaling[0].start_mark.index), _block_end(text, scaling[1]), "")
        )
    for begin, finish, replacement in sorted(edits, reverse=True):
        block = block[: begin - start] + replacement + block[finish - start :]
    block = block.replace("variants:", "shadowVariants:", 1)
    block, renamed = _NAME.subn(lambda m: f"{m[1]}{m[2]}{variant}{m[4]}  {MARK}", block, count=1)
    weight_node = yamlpos.child(item, "initialWeight")
    if weight_node is not None:
        block = re.sub(r"(initialWeight:\s*)[^\s#,}]+", rf"\g<1>{weight:g}", block, count=1)
    else:
        indent = " " * item.start_mark.column
        block = block.rstrip("\n") + f"\n{indent}initialWeight: {weight:g}\n"
    after = text[:end] + ("" if text[:end].endswith("\n") else "\n") + block + text[end:]
    expected = copy.deepcopy(data)
    shadow = copy.deepcopy(expected["spec"]["variants"][0])
    shadow["name"] = variant
    shadow["model"]["version"] = version
    shadow["initialWeight"] = weight if weight != int(weight) else int(weight)
    shadow.pop("autoscaling", None)
    expected["spec"]["shadowVariants"] = [shadow]
    _check(after, document, expected, shown, renamed == 1)
    return after


def _add_rendered(
    text: str, document: int, shown: str, rendered: Any, variant: str, version: int, weight: float
) -> str:
    """`text` (an endpoint extending a template) with a shadow of its one rendered production
    variant, pinned to `version`, written at the end of its own `spec` (the template's layout
    has nothing to copy line for line, so the block is the variant's data as YAML)."""
    data, spec = _spec(text, document, shown)
    rendered_spec = rendered.get("spec") if isinstance(rendered, dict) else None
    if not isinstance(rendered_spec, dict) or rendered_spec.get("shadowVariants"):
        raise ShadowEditError(f"{shown}: the endpoint already has shadowVariants (drop them first)")
    variants = rendered_spec.get("variants") or []
    model = variants[0].get("model") if len(variants) == 1 else None
    if not isinstance(model, dict) or "version" not in model:
        raise ShadowEditError(
            f"{shown}: a shadow gate needs one production variant pinned to a registry version"
        )
    if spec.flow_style or not spec.value:
        raise ShadowEditError(f"{shown}: spec must be a block mapping to take a shadow variant")
    copied = {k: v for k, v in copy.deepcopy(variants[0]).items() if k != "autoscaling"}
    shadow = {**{"name": variant}, **copied, "name": variant}  # a shadow cannot scale
    shadow["initialWeight"] = weight if weight != int(weight) else int(weight)
    shadow["model"]["version"] = version
    indent = " " * spec.value[0][0].start_mark.column
    written = yaml.safe_dump({"shadowVariants": [shadow]}, sort_keys=False, indent=2)
    key, *items = written.splitlines()  # items indented under the key, as the team writes
    lines = [key, f"  {items[0]}  {MARK}", *(f"  {line}" for line in items[1:])]
    block = "".join(f"{indent}{line}\n" for line in lines)
    end = _block_end(text, spec)
    after = text[:end] + ("" if text[:end].endswith("\n") else "\n") + block + text[end:]
    expected = copy.deepcopy(data)
    expected["spec"]["shadowVariants"] = [shadow]
    _check(after, document, expected, shown, items[0].startswith("- name:"))
    return after


def drop_shadow(text: str, document: int, shown: str) -> str:
    """`text` without the endpoint's `shadowVariants` (unchanged when it has none)."""
    data, spec = _spec(text, document, shown)
    if "shadowVariants" not in (data.get("spec") or {}):
        return text
    found = yamlpos.entry(spec, "shadowVariants")
    if found is None or not isinstance(found[1], SequenceNode):
        raise ShadowEditError(f"{shown}: shadowVariants must be a list to be dropped")
    key_node, value = found
    start = _line_start(text, key_node.start_mark.index)
    end = _block_end(text, value)
    after = text[:start] + text[end:]
    expected = copy.deepcopy(data)
    del expected["spec"]["shadowVariants"]
    _check(after, document, expected, shown, True)
    return after


def _check(after: str, document: int, expected: Any, shown: str, ok: bool) -> None:
    documents, problems = yamlpos.parse(after)
    found = {d.index: d.data for d in documents}
    if not ok or problems or found.get(document) != expected:
        raise ShadowEditError(
            f"{shown}: writing the shadow variant would change more than the shadow; file "
            "left as it was (edit it by hand)"
        )
