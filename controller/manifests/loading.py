"""Reading manifest files into validated `EndpointManifest`s, with every problem as a diagnostic.

Called by `validate`, `plan`, `apply` and the watching service. Loading never raises for bad
input: like Terraform, it collects every problem in every file (YAML syntax, duplicate keys,
schema errors, endpoints defined twice) in one pass, each with file, line and field path, so a
user fixes everything at once. `LoadResult.raise_for_errors` turns them into a `ManifestError`.

Two kinds of path appear here. `Diagnostic.file` is the path as shown to a user: relative to the
current directory when the file is inside it, else as given. `LoadedManifest.source` (and
`LoadResult.files`) is relative to the manifest root (posix), the stable identity used in tags
and plans, independent of where the command was started.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from controller.errors import Diagnostic, ManifestError
from controller.manifests import rules, yamlpos
from controller.manifests.models import API_VERSION, EndpointManifest

MAX_BYTES = 1024 * 1024
"""Larger files are refused: a manifest is a few KiB; a huge file is a mistake or an attack."""
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedManifest:
    """A document that validated, and where it came from."""

    manifest: EndpointManifest
    source: str
    """Path relative to the manifest root, posix (e.g. ``prod/churn.yaml``)."""
    line: int
    """1-based line where the document's content starts."""
    document: int
    """0-based index of the document in its file."""


@dataclass
class LoadResult:
    """Everything one load found: valid manifests, problems, and the files looked at."""

    root: Path
    manifests: list[LoadedManifest] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every manifest file read (relative to `root`, posix), including broken ones."""
    _sources: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def raise_for_errors(self) -> None:
        if self.diagnostics:
            raise ManifestError(list(self.diagnostics))

    def source_of(self, diagnostic: Diagnostic) -> str:
        """The root-relative path for a diagnostic's file (for the JSON plan), else its file."""
        return self._sources.get(diagnostic.file, diagnostic.file)


@dataclass(frozen=True)
class _File:
    path: Path
    shown: str
    source: str


@dataclass(frozen=True)
class _Valid:
    loaded: LoadedManifest
    shown: str
    name_line: int


class ParseCache:
    """Per-file results keyed by the file's text, for a process that loads the same tree often.

    The service reloads the whole tree on every change; with this, only files whose content
    changed are parsed and validated again. Entries not seen in the latest load are dropped.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], tuple[list[_Valid], list[Diagnostic]]] = {}

    def load(
        self, file: _File, used: dict[tuple[str, str, str], Any]
    ) -> tuple[list[_Valid], list[Diagnostic]]:
        text, unreadable = _read(file)
        if text is None:
            return [], [unreadable or Diagnostic(file.shown, None, "", "cannot read file")]
        key = (file.shown, file.source, text)
        hit = self._items.get(key)
        if hit is None:
            problems: list[Diagnostic] = []
            hit = (_parse_file(file, text, problems), problems)
        used[key] = hit
        return hit

    def keep_only(self, used: dict[tuple[str, str, str], Any]) -> None:
        self._items = used


def load_manifests(
    paths: Sequence[Path | str], *, root: Path | None = None, cache: ParseCache | None = None
) -> LoadResult:
    """Load every manifest under `paths` (files or directories); see the module docstring."""
    base = _root_for(paths, root)
    result = LoadResult(root=base)
    files = _discover(paths, base, result.diagnostics)
    valid: list[_Valid] = []
    cache = cache or ParseCache()
    used: dict[tuple[str, str, str], Any] = {}
    for file in files:
        result.files.append(file.source)
        result._sources[file.shown] = file.source
        found, problems = cache.load(file, used)
        valid.extend(found)
        result.diagnostics.extend(problems)
    cache.keep_only(used)
    duplicated = _duplicate_names(valid, result.diagnostics)
    result.manifests = [v.loaded for v in valid if id(v) not in duplicated]
    order = {file.shown: index for index, file in enumerate(files)}
    result.diagnostics.sort(key=lambda d: (order.get(d.file, -1), d.line or 0))
    return result


def _root_for(paths: Sequence[Path | str], root: Path | None) -> Path:
    if root is not None:
        return Path(os.path.abspath(root))
    bases = [os.path.abspath(p if Path(p).is_dir() else Path(p).parent) for p in paths]
    return Path(os.path.commonpath(bases)) if bases else Path.cwd()


def _discover(paths: Sequence[Path | str], root: Path, problems: list[Diagnostic]) -> list[_File]:
    """Files to read, deduplicated (a file named and inside a named directory counts once)."""
    found: dict[str, _File] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = list(_walk(path, problems))
        elif path.is_file():
            candidates = [path]
        else:
            what = "not a regular file" if path.exists() else "no such file or directory"
            problems.append(Diagnostic(_shown(path), None, "", what))
            continue
        for candidate in candidates:
            found.setdefault(os.path.realpath(candidate), _make_file(candidate, root))
    return sorted(found.values(), key=lambda f: f.source)


def _walk(directory: Path, problems: list[Diagnostic]) -> Iterator[Path]:
    """``*.yaml``/``*.yml`` below `directory`, skipping hidden entries such as ``.git``."""

    def unreadable(error: OSError) -> None:
        shown = _shown(Path(error.filename or directory))
        problems.append(Diagnostic(shown, None, "", f"cannot read directory: {error.strerror}"))

    for current, dirnames, filenames in os.walk(directory, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield Path(current) / name


def _make_file(path: Path, root: Path) -> _File:
    absolute = Path(os.path.abspath(path))
    try:
        source = absolute.relative_to(root).as_posix()
    except ValueError:
        source = path.as_posix()
    return _File(path=path, shown=_shown(path), source=source)


def _shown(path: Path) -> str:
    """The path as a user should see it: relative to the current directory when inside it."""
    try:
        return Path(os.path.abspath(path)).relative_to(Path.cwd()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def _read(file: _File) -> tuple[str | None, Diagnostic | None]:
    try:
        with file.path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as e:
        return None, Diagnostic(file.shown, None, "", f"cannot read file: {e.strerror or e}")
    if len(raw) > MAX_BYTES:
        message = "file is larger than 1 MiB; refusing to load it (a manifest is a few KiB)"
        return None, Diagnostic(file.shown, 1, "", message)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        prefix = raw[: e.start].decode("utf-8")
        line = yamlpos.line_at(prefix, len(prefix))
        message = f"file is not UTF-8 text (byte 0x{raw[e.start]:02x} cannot be decoded)"
        return None, Diagnostic(file.shown, line, "", message)


def _parse_file(file: _File, text: str, problems: list[Diagnostic]) -> list[_Valid]:
    documents, yaml_problems = yamlpos.parse(text)
    for problem in yaml_problems:
        problems.append(
            Diagnostic(file.shown, problem.line, render_path(problem.loc), problem.message)
        )
    valid: list[_Valid] = []
    for document in documents:
        manifest, found = _check_document(document, file.shown)
        problems.extend(found)
        if manifest is not None and document.clean:
            loaded = LoadedManifest(manifest, file.source, document.line, document.index)
            name_line = yamlpos.line_of(document.node, ("metadata", "name"))
            valid.append(_Valid(loaded, file.shown, name_line))
    return valid


def _check_document(
    document: yamlpos.Document, shown: str
) -> tuple[EndpointManifest | None, list[Diagnostic]]:
    data: Any = document.data
    if not isinstance(data, dict):
        message = (
            "a manifest document must be a mapping with apiVersion, kind, metadata and spec, "
            f"not {_kind_of(data)}"
        )
        return None, [Diagnostic(shown, document.line, "", message)]
    api_version = data.get("apiVersion")
    if api_version is not None and api_version != API_VERSION:
        # Another tool's document (a Kubernetes Deployment, say): one clear message instead of a
        # dozen schema errors about fields it was never meant to have.
        line = yamlpos.line_of(document.node, ("apiVersion",))
        message = f"unsupported apiVersion {api_version!r} (expected {API_VERSION})"
        return None, [Diagnostic(shown, line, "apiVersion", message)]
    try:
        manifest = EndpointManifest.model_validate(data)
    except ValidationError as e:
        return None, [_from_pydantic(error, document, shown) for error in e.errors()]
    found = [
        Diagnostic(shown, yamlpos.line_of(document.node, loc), render_path(loc), message)
        for loc, message in rules.problems(manifest.spec)
    ]
    return (None, found) if found else (manifest, [])


def _from_pydantic(error: Any, document: yamlpos.Document, shown: str) -> Diagnostic:
    raw_loc = tuple(error["loc"])
    loc = strip_tags(raw_loc)
    line = yamlpos.line_of(document.node, loc)
    return Diagnostic(shown, line, render_path(loc), describe(error, raw_loc))


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} value"


def _duplicate_names(valid: list[_Valid], problems: list[Diagnostic]) -> set[int]:
    """Report endpoints defined more than once; return them (by id) so none of them is deployed.

    SageMaker endpoint names are unique per account and region, and case-insensitive in
    CreateEndpoint; two manifests for one endpoint would fight over it on every sync.
    """
    groups: dict[tuple[str, str | None], list[_Valid]] = {}
    for entry in valid:
        manifest = entry.loaded.manifest
        key = (manifest.metadata.name.lower(), manifest.spec.region)
        groups.setdefault(key, []).append(entry)
    duplicated: set[int] = set()
    for (_, region), entries in groups.items():
        if len(entries) < 2:
            continue
        for entry in entries:
            duplicated.add(id(entry))
            others = ", ".join(f"{o.shown}:{o.name_line}" for o in entries if o is not entry)
            name = entry.loaded.manifest.metadata.name
            where = f"region {region}" if region else "the default region"
            message = f"endpoint {name!r} in {where} is also defined at {others}"
            problems.append(Diagnostic(entry.shown, entry.name_line, "metadata.name", message))
    return duplicated


# Translating pydantic errors into messages a manifest author understands.

_TAGS = ("RegistryModel", "ImageModel")
"""Discriminator tags pydantic puts in locs; they are class names, not anything the user wrote."""
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SCALARS = (str, int, float, bool, type(None))


def strip_tags(loc: tuple[Any, ...]) -> yamlpos.Loc:
    """`loc` without the ModelSource discriminator tags, which only ever follow ``model``."""
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        if part in _TAGS and index > 0 and loc[index - 1] == "model":
            continue
        kept.append(part)
    return tuple(kept)


def render_path(loc: yamlpos.Loc) -> str:
    """``spec.variants[0].instanceType``; keys that are not plain words in ``["..."]``."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def describe(error: Any, raw_loc: tuple[Any, ...]) -> str:
    """A readable message for one pydantic error (`raw_loc` still has its tags)."""
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        message = "required field is missing"
    elif kind == "extra_forbidden":
        message = _unknown_field(raw_loc)
    elif kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error") or error["msg"])
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected', '?')} (got {_show(value)})"
    elif kind == "string_pattern_mismatch":
        message = f"{_show(value)} does not match the pattern {ctx.get('pattern')}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping (key: value), got {_show(value)}"
    elif kind == "list_type":
        message = f"expected a list, got {_show(value)}"
    elif kind == "string_type" and isinstance(value, int | float | bool):
        message = f"expected a string, got {_show(value)} (quote it in YAML)"
    else:
        message = str(error["msg"])
        if isinstance(value, _SCALARS):
            message += f" (got {_show(value)})"
    return f"key {message}" if raw_loc and raw_loc[-1] == "[key]" else message


def _show(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)  # single quotes, like pydantic's own lists of allowed values
    elif isinstance(value, _SCALARS):
        text = json.dumps(value, default=str)
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, dict):
        return "a mapping"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_field(raw_loc: tuple[Any, ...]) -> str:
    model = _model_at(raw_loc[:-1])
    if model is None:
        return "unknown field"
    allowed = [info.alias or name for name, info in model.model_fields.items()]
    hint = difflib.get_close_matches(str(raw_loc[-1]), allowed, n=1)
    guess = f", did you mean {hint[0]}?" if hint else ""
    return f"unknown field{guess} (allowed: {', '.join(allowed)})"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model a (tagged) loc points into, found by following field annotations."""
    current: list[Any] = [EndpointManifest]
    for part in loc:
        current = [child for annotation in current for child in _step(annotation, part)]
    models = [t for a in current for t in _flatten(a) if _is_model(t)]
    return models[0] if models else None


def _step(annotation: Any, part: Any) -> Iterator[Any]:
    for option in _flatten(annotation):
        if _is_model(option):
            if part == option.__name__:
                yield option  # a discriminator tag selects this branch of the union
            for name, info in option.model_fields.items():
                if part in (name, info.alias):
                    yield info.annotation
        elif get_origin(option) is list and isinstance(part, int):
            yield get_args(option)[0]
        elif get_origin(option) is dict:
            yield get_args(option)[1]


def _flatten(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _flatten(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _flatten(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
