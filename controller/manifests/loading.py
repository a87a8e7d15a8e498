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

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from controller.errors import Diagnostic, ManifestError
from controller.manifests import files as files_mod
from controller.manifests import rules, yamlpos
from controller.manifests.files import MAX_BYTES, SUFFIXES
from controller.manifests.files import ManifestFile as _File
from controller.manifests.messages import describe, diagnostic, render_path, strip_tags
from controller.manifests.models import API_VERSION, EndpointManifest
from controller.manifests.repoconfig import LoadedConfig, RepoConfig, load_repo_config

__all__ = [
    "MAX_BYTES",
    "MAX_PROBLEMS_PER_FILE",
    "SUFFIXES",
    "LoadResult",
    "LoadedManifest",
    "ParseCache",
    "describe",
    "load_manifests",
    "render_path",
    "strip_tags",
]

MAX_PROBLEMS_PER_FILE = 100
"""Problems reported per file; past that, one line says how many more there are, so a
generated or hostile file cannot flood a terminal or a PR comment."""


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
    shown: str = ""
    """The file as shown to a user (see `Diagnostic.file`); `source` when not known."""
    name_line: int = 0
    """1-based line of ``metadata.name``; `line` when not known."""


@dataclass
class LoadResult:
    """Everything one load found: valid manifests, problems, and the files looked at."""

    root: Path
    manifests: list[LoadedManifest] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every manifest file read (relative to `root`, posix), including broken ones."""
    warnings: list[Diagnostic] = field(default_factory=list)
    """Paths skipped (FIFOs, devices, symlinked directories); already logged as warnings."""
    repo_config: LoadedConfig = field(default_factory=LoadedConfig)
    """The root's ``.sagemaker-gitops.yaml`` (defaults when absent); its problems are in
    `diagnostics` too."""
    _sources: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    @property
    def config(self) -> RepoConfig:
        return self.repo_config.config

    def raise_for_errors(self) -> None:
        if self.diagnostics:
            raise ManifestError(list(self.diagnostics))

    def source_of(self, diagnostic: Diagnostic) -> str:
        """The root-relative path for a diagnostic's file (for the JSON plan), else its file."""
        return self._sources.get(diagnostic.file, diagnostic.file)


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
        text = files_mod.read_text(file.path, file.shown)
        if isinstance(text, Diagnostic):
            return [], [text]
        key = (file.shown, file.source, text)
        hit = self._items.get(key)
        if hit is None:
            problems: list[Diagnostic] = []
            hit = (_parse_file(file, text, problems), _capped(problems, file.shown))
        used[key] = hit
        return hit

    def keep_only(self, used: dict[tuple[str, str, str], Any]) -> None:
        self._items = used


def load_manifests(
    paths: Sequence[Path | str], *, root: Path | None = None, cache: ParseCache | None = None
) -> LoadResult:
    """Load every manifest under `paths` (files or directories); see the module docstring."""
    base = files_mod.root_for(paths, root)
    result = LoadResult(root=base)
    found = files_mod.discover(paths, base)
    result.diagnostics.extend(found.problems)
    result.warnings.extend(found.warnings)
    result.repo_config = load_repo_config(base)
    result.diagnostics.extend(result.repo_config.problems)
    valid: list[_Valid] = []
    cache = cache or ParseCache()
    used: dict[tuple[str, str, str], Any] = {}
    for file in found.files:
        result.files.append(file.source)
        result._sources[file.shown] = file.source
        manifests, problems = cache.load(file, used)
        valid.extend(manifests)
        result.diagnostics.extend(problems)
    cache.keep_only(used)
    duplicated = _duplicate_names(valid, result.diagnostics)
    result.manifests = [v.loaded for v in valid if id(v) not in duplicated]
    order = {file.shown: index for index, file in enumerate(found.files)}
    result.diagnostics.sort(key=lambda d: (order.get(d.file, -1), d.line or 0))
    return result


def _capped(problems: list[Diagnostic], shown: str) -> list[Diagnostic]:
    if len(problems) <= MAX_PROBLEMS_PER_FILE:
        return problems
    ordered = sorted(problems, key=lambda d: d.line or 0)
    more = len(problems) - MAX_PROBLEMS_PER_FILE
    message = f"... and {more} more problem(s) in this file not shown"
    # At the first line left out, so it sorts after every problem shown.
    last = Diagnostic(shown, ordered[MAX_PROBLEMS_PER_FILE].line, "", message)
    return [*ordered[:MAX_PROBLEMS_PER_FILE], last]


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
            name_line = yamlpos.line_of(document.node, ("metadata", "name"))
            loaded = LoadedManifest(
                manifest, file.source, document.line, document.index, file.shown, name_line
            )
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
        errors = e.errors()
        # Translating an error looks up its line: bound the work for a document that is
        # nothing but errors (thousands of unknown keys) to what can be shown.
        found = [diagnostic(error, document, shown) for error in errors[:MAX_PROBLEMS_PER_FILE]]
        if len(errors) > MAX_PROBLEMS_PER_FILE:
            more = len(errors) - MAX_PROBLEMS_PER_FILE
            message = f"... and {more} more problem(s) in this document not shown"
            found.append(Diagnostic(shown, document.line, "", message))
        return None, found
    found = [
        Diagnostic(shown, yamlpos.line_of(document.node, loc), render_path(loc), message)
        for loc, message in rules.problems(manifest.spec)
    ]
    return (None, found) if found else (manifest, [])


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
