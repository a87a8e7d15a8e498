"""YAML documents with line numbers: safe_load semantics plus the positions diagnostics need.

`loading` calls `parse` on a file's text and, when pydantic rejects a document, `line_of` to turn
an error location such as ``('spec', 'variants', 0, 'instanceType')`` into the line a user can jump
to. Data is built by PyYAML's own SafeLoader (so tags, merge keys and anchors behave exactly as in
``yaml.safe_load``); the composed node tree is kept beside it because only nodes carry marks.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# YAML's own line breaks (PyYAML's Reader counts exactly these), so our line numbers agree with
# the marks PyYAML puts in its errors.
_BREAKS = ("\r\n", "\r", "\n", "\x85", "\u2028", "\u2029")
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_KEYS = (_STR_TAG, _MERGE_TAG)

MAX_NODES = 100_000
"""Nodes a document may hold once aliases and merge keys are expanded.

A manifest has a few hundred; aliases make a small file describe an exponentially large value
("billion laughs"), which constructing, merging or validating would then expand in memory.
"""
MAX_DEPTH = 64
"""Nesting levels a document may have; a manifest needs fewer than ten."""
MAX_DOCUMENTS = 500
"""Documents read from one file; the rest is reported, not parsed (PyYAML is pure Python here:
a megabyte of tiny documents would otherwise take tens of seconds to report)."""

FAST_LOADER: type[Any] | None = yaml.CSafeLoader if yaml.__with_libyaml__ else None
"""libyaml's loader (safe_load's constructors and resolver over a C parser), when PyYAML has
it; None means every text goes through the pure-Python `yaml.SafeLoader`. libyaml refuses more
than 1,000 nesting levels itself, and its composer is not bounded by Python's recursion limit,
so deep input cannot crash it; MAX_DEPTH and MAX_NODES are checked on its nodes as on the pure
loader's."""

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One non-empty YAML document: its constructed data and the node tree it came from."""

    index: int
    """0-based position in the file, counting empty documents too."""
    line: int
    """1-based line where the document's content starts."""
    data: Any
    node: Node
    clean: bool = True
    """False when YAML-level problems (duplicate keys) were found: report it, never deploy it."""


@dataclass(frozen=True)
class Problem:
    """A YAML-level problem (syntax, duplicate key, unconstructible value) at a line."""

    line: int
    loc: Loc
    message: str


def parse(text: str) -> tuple[list[Document], list[Problem]]:
    """Every document of `text` plus every YAML problem found; never raises for bad input.

    A syntax error ends the file (the parser cannot resynchronise), but documents read before it
    are kept, and a document whose values cannot be constructed does not stop the next one.

    libyaml (`FAST_LOADER`) composes the nodes when PyYAML was built with it: about fifteen
    times faster than the pure-Python scanner, which is most of what loading a large tree
    costs. Its results are used only for a text it finds nothing wrong with. Any problem at all
    (syntax, nesting, aliases, duplicate keys, bad values) sends the whole text through the
    pure loader again, so every message and line a user sees comes from one loader, whichever
    is installed; only clean files, the common case, take the fast path alone.
    """
    too_deep = _flow_depth_problem(text)
    if too_deep is not None:
        return [], [too_deep]
    fast = _parse_fast(FAST_LOADER, text) if FAST_LOADER is not None else None
    if fast is not None:
        return fast, []
    return _parse_with(yaml.SafeLoader, text)


def _parse_fast(loader_class: type[Any], text: str) -> list[Document] | None:
    """The documents as libyaml reads them, or None when it found any problem at all."""
    try:
        documents, problems = _parse_with(loader_class, text)
    except Exception:  # anything unforeseen on the C path: the pure loader has the say
        return None
    return None if problems else documents


def _parse_with(loader_class: type[Any], text: str) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    try:
        # The Reader checks for forbidden characters already in its constructor.
        loader = loader_class(text)
    except yaml.YAMLError as e:
        return documents, [_syntax_problem(e, text)]
    try:
        for index, node in _nodes(loader):
            if index >= MAX_DOCUMENTS:
                line = node.start_mark.line + 1
                message = (
                    f"more than {MAX_DOCUMENTS} YAML documents in one file; the rest is not read"
                )
                problems.append(Problem(line, (), message))
                break
            oversized = size_problem(node)
            if oversized is not None:
                problems.append(oversized)
                continue  # never constructed: that is where the expansion would happen
            duplicates = duplicate_keys(node)
            problems.extend(duplicates)
            document = _construct(loader, index, node, problems, clean=not duplicates)
            if document is not None:
                documents.append(document)
    except yaml.YAMLError as e:
        problems.append(_syntax_problem(e, text))
    except RecursionError:
        # PyYAML composes nodes recursively: a few hundred levels of `[[[` exhaust the stack
        # before `size_problem` could look at the document.
        line = loader.get_mark().line + 1 if loader.get_mark() else 1
        message = f"YAML nesting is too deep (at most {MAX_DEPTH} levels)"
        problems.append(Problem(min(line, line_count(text)), (), message))
    finally:
        loader.dispose()
    return documents, problems


_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_FLOW_DEPTH_LIMIT = 4 * MAX_DEPTH


def _flow_depth_problem(text: str) -> Problem | None:
    """A problem when flow brackets (``[[[[``) nest far deeper than any manifest could.

    Checked on the raw text before PyYAML sees it: its scanner keeps a pending "simple key" per
    open bracket and re-checks them all on every token, so deep flow nesting costs quadratic
    time (seconds for a few thousand levels). Brackets inside quoted strings are counted too,
    which is why the limit is a generous multiple of MAX_DEPTH rather than MAX_DEPTH itself.
    """
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(0, depth - 1)
        if depth > _FLOW_DEPTH_LIMIT:
            line = line_at(text, match.start())
            message = f"YAML nesting is too deep (more than {_FLOW_DEPTH_LIMIT} open brackets)"
            return Problem(line, (), message)
    return None


def _nodes(loader: Any) -> Iterator[tuple[int, Node]]:
    index = 0
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield index, node
        index += 1


def _construct(
    loader: Any, index: int, node: Node, problems: list[Problem], *, clean: bool
) -> Document | None:
    line = node.start_mark.line + 1
    try:
        data = loader.construct_document(node)
    except Exception as e:  # PyYAML's constructors raise anything for bad values
        # e.g. `date: 2024-13-45` (ValueError), `!!bool maybe` (KeyError), `!!timestamp x`
        # (AttributeError). Reset the constructor so the next document starts clean.
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        loader.state_generators = []
        problems.extend(tag_problems(node) or [_value_problem(e, line)])
        return None
    if data is None:
        return None
    return Document(index=index, line=line, data=data, node=node, clean=clean)


def _value_problem(error: Exception, line: int) -> Problem:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        line = error.problem_mark.line + 1
    detail = error.problem if isinstance(error, yaml.MarkedYAMLError) else None
    return Problem(line, (), f"invalid YAML value: {detail or _first_line(error)}")


def size_problem(root: Node) -> Problem | None:
    """A problem when `root` is recursive, nests deeper than MAX_DEPTH or expands beyond
    MAX_NODES; None when it is of a manifest's size.

    One iterative post-order pass over the node graph, each shared node measured once, so the
    check itself costs time linear in the file, whatever the expansion. Scalars (most nodes)
    are counted by their parent instead of being visited: this runs on every document loaded.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            size[key], depth[key] = _measure(node, size, depth)
            open_nodes.discard(key)
        elif key in open_nodes:
            line = node.start_mark.line + 1
            return Problem(line, (), "recursive YAML alias (a value that contains itself)")
        elif key not in size:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if not isinstance(c, ScalarNode))
    line = root.start_mark.line + 1
    if depth[id(root)] > MAX_DEPTH:
        return Problem(line, (), f"YAML nesting is too deep (at most {MAX_DEPTH} levels)")
    if size[id(root)] > MAX_NODES:
        message = (
            f"document holds more than {MAX_NODES:,} values once aliases and merge keys are "
            "expanded; refusing to load it (an alias bomb?)"
        )
        return Problem(line, (), message)
    return None


def _measure(node: Node, size: dict[int, int], depth: dict[int, int]) -> tuple[int, int]:
    """(values, levels) of `node` once its collection children are measured (capped)."""
    total, deepest = 1, 0
    for child in _children(node):
        if isinstance(child, ScalarNode):
            total, deepest = total + 1, deepest or 1
        else:
            total += size[id(child)]
            deepest = max(deepest, depth[id(child)])
    return min(MAX_NODES + 1, total), deepest + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def tag_problems(root: Node) -> list[Problem]:
    """Each value whose tag is unknown or whose text its tag cannot construct, with its path.

    PyYAML stops at the first bad value with whatever exception its constructor raised (a
    KeyError for ``!!bool maybe``); this finds every one of them and where it is.
    """
    problems: list[Problem] = []
    for node, loc in walk(root):
        keys = [key for key, _ in node.value] if isinstance(node, MappingNode) else []
        for candidate in (node, *keys):
            problem = _tag_problem(candidate, loc)
            if problem is not None:
                problems.append(problem)
    return sorted(problems, key=lambda p: (p.line, [str(part) for part in p.loc]))


def _tag_problem(node: Node, loc: Loc) -> Problem | None:
    line = node.start_mark.line + 1
    tag = _short_tag(node.tag)
    if node.tag not in yaml.SafeLoader.yaml_constructors:
        return Problem(line, loc, f"unknown YAML tag {tag} (only YAML's standard tags are allowed)")
    if not isinstance(node, ScalarNode):
        return None
    try:
        yaml.constructor.SafeConstructor().construct_object(node)
    except Exception:  # see _construct: any failure means the text does not fit
        return Problem(line, loc, f"{_shorten(node.value)!r} is not a valid {tag} value")
    return None


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_STANDARD_PREFIX) if tag.startswith(_STANDARD_PREFIX) else tag


def _shorten(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _syntax_problem(error: yaml.YAMLError, text: str) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        # Raised for characters YAML forbids (control characters); it has an offset, not a mark.
        line = line_at(text, error.position)
        return Problem(line, (), f"invalid YAML: character U+{error.character:04X} is not allowed")
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "syntax error"
        context = ""
        if error.context and error.context_mark and error.problem:
            context_line = min(error.context_mark.line + 1, line_count(text))
            context = f" ({error.context} at line {context_line})"
        return Problem(min(line, line_count(text)), (), f"invalid YAML: {problem}{context}")
    return Problem(1, (), f"invalid YAML: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def duplicate_keys(root: Node) -> list[Problem]:
    """Keys repeated inside one mapping; safe_load silently keeps the last, we refuse.

    Merge keys (``<<``) are skipped, since overriding merged keys is what they are for.
    """
    if not _may_repeat(root):
        return []
    problems: list[Problem] = []
    for node, loc in walk(root):
        if isinstance(node, MappingNode):
            problems.extend(_mapping_duplicates(node, loc))
    return sorted(problems, key=lambda p: p.line)


def _may_repeat(root: Node) -> bool:
    """False when every mapping's keys are distinct plain strings (merge keys aside): then
    nothing repeats, and the exact check, which constructs keys and tracks paths, is skipped."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, ScalarNode):
            continue
        seen.add(id(node))
        stack.extend(_children(node))
        if isinstance(node, MappingNode):
            if not all(isinstance(k, ScalarNode) and k.tag in _PLAIN_KEYS for k, _ in node.value):
                return True
            keys = [k.value for k, _ in node.value if k.tag == _STR_TAG]
            if len(set(keys)) != len(keys):
                return True
    return False


def walk(root: Node) -> Iterator[tuple[Node, Loc]]:
    """Every node under `root` once, with its path (mapping values under their key).

    Iterative with a visited set: aliases make the node graph shared and even cyclic.
    """
    seen: set[int] = set()
    stack: list[tuple[Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, loc
        if isinstance(node, SequenceNode):
            stack.extend((child, (*loc, i)) for i, child in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                key = scalar_key(key_node)
                stack.append((value_node, (*loc, key if isinstance(key, str | int) else "?")))


def _mapping_duplicates(node: MappingNode, loc: Loc) -> Iterator[Problem]:
    first_line: dict[Hashable, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = scalar_key(key_node)
        if key is None or not isinstance(key, Hashable):
            continue
        line = key_node.start_mark.line + 1
        if key in first_line:
            shown = key if isinstance(key, str | int) else str(key)
            yield Problem(
                line,
                (*loc, shown),
                f"duplicate key {key!r} (first at line {first_line[key]}); "
                "YAML would silently keep only the last",
            )
        else:
            first_line[key] = line


def scalar_key(node: Node) -> object | None:
    """The constructed value of a scalar key node (``1`` and ``0x1`` are the same int), or None."""
    if not isinstance(node, ScalarNode):
        return None
    try:
        key: object = yaml.constructor.SafeConstructor().construct_object(node)
    except Exception:  # a key PyYAML cannot construct is reported elsewhere
        return None
    return key


def line_of(root: Node, loc: Loc) -> int:
    """The 1-based line for a pydantic error location.

    Follows `loc` down the node tree as far as it goes: a key's line for a mapping entry, the
    item's line for a list element. A missing field stops at its parent, which is where it should
    be added; pydantic's ``[key]`` marker stops at the offending key itself.
    """
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        child = entry(node, part)
        if child is None:
            break
        anchor, node = child
        line = anchor.start_mark.line + 1
    return line


def child(node: Node, part: str | int) -> Node | None:
    """The value node at `part` (a mapping key or a list index), if there is one."""
    found = entry(node, part)
    return found[1] if found else None


def entry(node: Node, part: str | int) -> tuple[Node, Node] | None:
    """(key node, value node) at `part`; for a list item both are the item."""
    if isinstance(node, SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item: Node = node.value[part]
            return item, item
        return None
    if isinstance(node, MappingNode):
        # Reversed: after merge-key flattening (and with duplicates) the last entry wins.
        for key_node, value_node in reversed(node.value):
            if _key_is(key_node, part):
                return key_node, value_node
    return None


def _key_is(key_node: Node, part: str | int) -> bool:
    # A plain string key is its text: no constructor needed (this runs once per key per error).
    if key_node.tag == _STR_TAG and isinstance(key_node, ScalarNode):
        return isinstance(part, str) and key_node.value == part
    key = scalar_key(key_node)
    return key == part and type(key) is type(part)


def line_count(text: str) -> int:
    """Number of lines as YAML counts them (at least 1), to keep reported lines in the file."""
    breaks = len(_BREAK.findall(text))
    return max(1, breaks if text.endswith(_BREAKS) else breaks + 1)


def line_at(text: str, offset: int) -> int:
    """1-based YAML line of a character offset, clamped to the file."""
    return min(len(_BREAK.findall(text, 0, offset)) + 1, line_count(text))
