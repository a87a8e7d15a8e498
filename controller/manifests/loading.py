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

import dataclasses
import difflib
import hashlib
import sys
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from controller.errors import Diagnostic, ManifestError
from controller.manifests import files as files_mod
from controller.manifests import rules, yamlpos
from controller.manifests.files import MAX_BYTES, SUFFIXES
from controller.manifests.files import ManifestFile as _File
from controller.manifests.loaded import LoadedManifest, LoadedPipeline
from controller.manifests.messages import describe, diagnostic, render_path, strip_tags
from controller.manifests.models import API_VERSION, EndpointManifest
from controller.manifests.pipelines import alarmsources
from controller.manifests.pipelines import checks as pipeline_checks
from controller.manifests.pipelines.model import PipelineManifest
from controller.manifests.projects import policy as projects
from controller.manifests.repoconfig import LoadedConfig, RepoConfig, load_repo_config
from controller.manifests.targets import TargetManifest
from controller.manifests.templating import documents as template_documents
from controller.manifests.templating import rendering as templates
from controller.manifests.templating.layers import TEMPLATE_KIND, Layer
from controller.manifests.templating.sets import SET_KIND

__all__ = [
    "MAX_BYTES",
    "MAX_PROBLEMS_PER_FILE",
    "SUFFIXES",
    "LoadResult",
    "LoadedManifest",
    "LoadedPipeline",
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
class LoadedTarget:
    """A `kind: Target` document that validated, and where it came from."""

    target: TargetManifest
    source: str
    line: int


@dataclass
class LoadResult:
    """Everything one load found: valid manifests, problems, and the files looked at."""

    root: Path
    manifests: list[LoadedManifest] = field(default_factory=list)
    targets: dict[str, LoadedTarget] = field(default_factory=dict)
    """Targets by name (each defined once; duplicates are diagnostics)."""
    pipelines: list[LoadedPipeline] = field(default_factory=list)
    """Pipelines (`kind: Pipeline`), each checked against the endpoints and targets loaded."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every manifest file read (relative to `root`, posix), including broken ones."""
    warnings: list[Diagnostic] = field(default_factory=list)
    """Paths skipped (FIFOs, devices, symlinked directories); already logged as warnings."""
    repo_config: LoadedConfig = field(default_factory=LoadedConfig)
    """The root's ``.sagemaker-gitops.yaml`` (defaults when absent); its problems are in
    `diagnostics` too."""
    projects: dict[str, str] = field(default_factory=dict)
    """Project name by manifest file (root-relative), when `projects:` is declared."""
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


@dataclass(frozen=True, slots=True)
class _Valid:
    loaded: LoadedManifest | LoadedTarget | LoadedPipeline | Layer
    shown: str
    name_line: int
    target_line: int | None = None  # line of spec.target, for unknown-target errors
    lines: dict[str, int] = field(default_factory=dict)  # fields projects check -> their line


_Key = tuple[str, str, bytes]
"""(shown, source, digest of the text): a digest rather than the text, because the service keeps
one key per file for as long as it runs (at 3,000 endpoints the texts were 2 MiB of its heap)."""
_Parsed = tuple[list[_Valid], list[Diagnostic]]


class ParseCache:
    """Per-file results for a process that loads the same tree often (the `run` service).

    Results are keyed by the file's text, so only files whose content changed are parsed and
    validated again; entries not seen in the latest load are dropped. When the caller names the
    files that changed since the last load (`load_manifests(changed=...)`), the last walk of the
    tree is reused and only those files are looked at and read.
    """

    def __init__(self) -> None:
        self._items: dict[_Key, _Parsed] = {}
        self._last: dict[str, tuple[_Key, _Parsed]] = {}  # by source
        self._found: tuple[tuple[str, ...], files_mod.Found] | None = None
        self.lock = threading.Lock()
        self.walks = 0
        """Full walks of the tree so far (the service's tests count them)."""
        self.reads = 0
        """Files read so far."""
        self.renders = templates.RenderCache()
        """Endpoints rendered from templates, kept while their layers are unchanged."""

    def discover(
        self, paths: Sequence[Path | str], base: Path, changed: Collection[str] | None
    ) -> tuple[files_mod.Found, bool]:
        """The files to load, and whether they are the last walk updated for `changed`."""
        # The cwd is in the key: `shown` paths are relative to it.
        key = (*(str(p) for p in paths), str(base), files_mod.shown_path(base))
        if len(paths) != 1:
            changed = None
        if changed is not None and self._found is not None and self._found[0] == key:
            found = files_mod.rediscover(self._found[1], changed, Path(paths[0]), base)
            if found is not None:
                self._found = (key, found)
                return found, True
        self.walks += 1
        found = files_mod.discover(paths, base)
        self._found = (key, found)
        return found, False

    def load(self, file: _File, used: dict[_Key, _Parsed], *, reread: bool = True) -> _Parsed:
        last = None if reread else self._last.get(file.source)
        if last is not None and last[0][0] == file.shown:
            used[last[0]] = last[1]
            return last[1]
        self.reads += 1
        text = files_mod.read_text(file.path, file.shown)
        if isinstance(text, Diagnostic):
            return [], [text]
        key = (file.shown, file.source, hashlib.blake2b(text.encode(), digest_size=16).digest())
        hit = self._items.get(key)
        if hit is None:
            problems: list[Diagnostic] = []
            hit = (_parse_file(file, text, problems), _capped(problems, file.shown))
        used[key] = hit
        return hit

    def keep_only(self, used: dict[_Key, _Parsed]) -> None:
        self._items = used
        self._last = {key[1]: (key, hit) for key, hit in used.items()}


def load_manifests(
    paths: Sequence[Path | str],
    *,
    root: Path | None = None,
    cache: ParseCache | None = None,
    changed: Collection[str] | None = None,
) -> LoadResult:
    """Load every manifest under `paths` (files or directories); see the module docstring.

    `changed`: with a `cache` that loaded the same `paths` before, the files (relative to the
    root, posix) that may have changed since; every other file is taken as it was then. None
    (the default) walks and reads the whole tree.
    """
    base = files_mod.root_for(paths, root)
    cache = cache or ParseCache()
    with cache.lock:  # the service may confirm a removal on a worker while the loop reloads
        return _load(paths, base, cache, changed)


def _load(
    paths: Sequence[Path | str], base: Path, cache: ParseCache, changed: Collection[str] | None
) -> LoadResult:
    result = LoadResult(root=base)
    found, partial = cache.discover(paths, base, changed)
    result.diagnostics.extend(found.problems)
    result.warnings.extend(found.warnings)
    result.repo_config = load_repo_config(base)
    result.diagnostics.extend(result.repo_config.problems)
    valid: list[_Valid] = []
    used: dict[_Key, _Parsed] = {}
    named = frozenset(changed or ())
    for file in found.files:
        result.files.append(file.source)
        result._sources[file.shown] = file.source
        reread = not partial or file.source in named
        manifests, problems = cache.load(file, used, reread=reread)
        valid.extend(manifests)
        result.diagnostics.extend(problems)
    cache.keep_only(used)
    valid = _rendered(valid, cache.renders, result)
    defined = _targets(valid, result)
    endpoints = [v for v in valid if isinstance(v.loaded, LoadedManifest)]
    duplicated = _duplicate_names(endpoints, result.diagnostics)
    duplicated |= _unknown_targets(endpoints, defined, result)
    result.manifests = _within_projects(
        [v for v in endpoints if id(v) not in duplicated], defined, result
    )
    result.pipelines = [v.loaded for v in valid if isinstance(v.loaded, LoadedPipeline)]
    result.diagnostics.extend(pipeline_checks.problems(result.pipelines, result.manifests, defined))
    result.manifests = _with_stage_alarms(result, endpoints)
    if result.repo_config.problems:  # fail closed: a broken config never means "no rules"
        result.manifests, result.targets, result.pipelines = [], {}, []
    order = {file.shown: index for index, file in enumerate(found.files)}
    result.diagnostics.sort(key=lambda d: (order.get(d.file, -1), d.line or 0))
    return result


def _with_stage_alarms(result: LoadResult, endpoints: list[_Valid]) -> list[LoadedManifest]:
    """The endpoints, each naming a pipeline with the stage its rollback alarms come from."""
    if not alarmsources.asking(result.manifests):
        return result.manifests
    lines = {id(v.loaded): v.lines.get(alarmsources.FIELD, v.name_line) for v in endpoints}
    found, problems = alarmsources.resolve(
        result.pipelines, result.manifests, lambda e: lines.get(id(e), e.name_line)
    )
    result.diagnostics.extend(problems)
    if not found:
        return result.manifests
    return [
        dataclasses.replace(e, stage_alarms=found[id(e)]) if id(e) in found else e
        for e in result.manifests
    ]


def _rendered(
    valid: list[_Valid], cache: templates.RenderCache, result: LoadResult
) -> list[_Valid]:
    """`valid` with its layers (templates, extending endpoints) replaced by the rendered
    endpoints; rendering problems go to `result`."""
    layers = [v.loaded for v in valid if isinstance(v.loaded, Layer)]
    kept = [v for v in valid if not isinstance(v.loaded, Layer)]
    if not layers:
        return kept
    rendered, problems = templates.render(layers, cache)
    by_file: dict[str, list[Diagnostic]] = {}
    for problem in problems:
        by_file.setdefault(problem.file, []).append(problem)
    for shown, found in by_file.items():  # a file of generated endpoints cannot flood either
        result.diagnostics.extend(_capped(found, shown))
    for item in rendered:
        if item.loaded is None:
            continue
        target_layer, target_loc = item.rendering.origin(("spec", "target"))
        target_line = target_layer.line(target_loc)
        loaded = item.loaded
        kept.append(_Valid(loaded, loaded.shown, loaded.name_line, target_line))
    return kept


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
        if template_documents.is_layer(document.data):
            layers, found = template_documents.read(document, file.shown, file.source)
            problems.extend(found)
            if document.clean:
                valid.extend(_Valid(layer, file.shown, 0) for layer in layers)
            continue
        manifest, found = _check_document(document, file.shown)
        problems.extend(found)
        if manifest is None or not document.clean:
            continue
        name_line = yamlpos.line_of(document.node, ("metadata", "name"))
        if isinstance(manifest, PipelineManifest):
            lines = _lines_of(document, pipeline_checks.checked_fields(manifest))
            pipeline = LoadedPipeline(manifest, file.source, file.shown, name_line, lines)
            valid.append(_Valid(pipeline, file.shown, name_line))
            continue
        if isinstance(manifest, TargetManifest):
            target = LoadedTarget(manifest, file.source, document.line)
            valid.append(_Valid(target, file.shown, name_line))
            continue
        loaded = LoadedManifest(
            manifest, file.source, document.line, document.index, file.shown, name_line
        )
        target_line = yamlpos.line_of(document.node, ("spec", "target"))
        lines = _lines_of(document, [*projects.checked_fields(manifest.spec), alarmsources.LOC])
        valid.append(_Valid(loaded, file.shown, name_line, target_line, lines))
    return valid


def _lines_of(document: yamlpos.Document, locs: Sequence[yamlpos.Loc]) -> dict[str, int]:
    """Rendered path -> line of the fields later checks may point at. Paths are interned: the
    same few repeat in every manifest the service keeps."""
    return {sys.intern(render_path(loc)): yamlpos.line_of(document.node, loc) for loc in locs}


def _check_document(
    document: yamlpos.Document, shown: str
) -> tuple[EndpointManifest | TargetManifest | PipelineManifest | None, list[Diagnostic]]:
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
    kind = data.get("kind")
    if isinstance(kind, str) and kind not in _MODELS:
        # One message naming the kinds there are, instead of an Endpoint's schema errors
        # about a document that was never meant to be one.
        line = yamlpos.line_of(document.node, ("kind",))
        known = ", ".join(sorted([*_MODELS, TEMPLATE_KIND, SET_KIND]))
        message = f"unknown kind {kind!r} (expected one of {known})"
        return None, [Diagnostic(shown, line, "kind", message)]
    model = _MODELS.get(kind, EndpointManifest) if isinstance(kind, str) else EndpointManifest
    try:
        manifest = model.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # Translating an error looks up its line: bound the work for a document that is
        # nothing but errors (thousands of unknown keys) to what can be shown.
        shown_errors = errors[:MAX_PROBLEMS_PER_FILE]
        found = [diagnostic(error, document, shown, model) for error in shown_errors]
        if len(errors) > MAX_PROBLEMS_PER_FILE:
            more = len(errors) - MAX_PROBLEMS_PER_FILE
            message = f"... and {more} more problem(s) in this document not shown"
            found.append(Diagnostic(shown, document.line, "", message))
        return None, found
    if not isinstance(manifest, EndpointManifest):
        return manifest, []
    found = [
        Diagnostic(shown, yamlpos.line_of(document.node, loc), render_path(loc), message)
        for loc, message in rules.problems(manifest.spec)
    ]
    return (None, found) if found else (manifest, [])


_MODELS: dict[str, type[EndpointManifest | TargetManifest | PipelineManifest]] = {
    "Endpoint": EndpointManifest,
    "Target": TargetManifest,
    "Pipeline": PipelineManifest,
}
"""Model by `kind` (a document without one is validated as an Endpoint: `kind` is missing)."""


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
        manifest = entry.loaded
        assert isinstance(manifest, LoadedManifest)
        spec = manifest.manifest.spec
        key = (manifest.manifest.metadata.name.lower(), _where(spec.region, spec.target))
        groups.setdefault(key, []).append(entry)
    duplicated: set[int] = set()
    for (_, where), entries in groups.items():
        if len(entries) < 2:
            continue
        for entry in entries:
            duplicated.add(id(entry))
            others = ", ".join(f"{o.shown}:{o.name_line}" for o in entries if o is not entry)
            name = _name_of(entry)
            message = f"endpoint {name!r} in {where} is also defined at {others}"
            problems.append(Diagnostic(entry.shown, entry.name_line, "metadata.name", message))
    return duplicated


def _where(region: str | None, target: str | None) -> str:
    if target is not None:
        return f"target {target}"
    return f"region {region}" if region else "the default region"


def _name_of(entry: _Valid) -> str:
    loaded = entry.loaded
    if isinstance(loaded, LoadedTarget):
        return loaded.target.metadata.name
    if isinstance(loaded, LoadedPipeline):
        return loaded.pipeline.metadata.name
    return loaded.name if isinstance(loaded, Layer) else loaded.manifest.metadata.name


def _within_projects(
    endpoints: list[_Valid], defined: Collection[str], result: LoadResult
) -> list[LoadedManifest]:
    """The endpoints `projects:` allows; the others are reported (`projects.check`)."""
    names = set(defined)
    result.diagnostics.extend(projects.unknown_project_targets(result.repo_config, names))
    checked = [
        projects.Endpoint(v.loaded, {**v.lines, "spec.target": v.target_line or 0})
        for v in endpoints
        if isinstance(v.loaded, LoadedManifest)
    ]
    verdict = projects.check(result.repo_config, checked)
    result.diagnostics.extend(verdict.diagnostics)
    result.projects = verdict.projects
    return [e.loaded for e in checked if id(e) not in verdict.refused]


def _placed(valid: list[_Valid], result: LoadResult) -> list[_Valid]:
    """The Target documents in `targets.paths`; the others are reported and never used."""
    declared = [v for v in valid if isinstance(v.loaded, LoadedTarget)]
    decls = [
        projects.TargetDecl(_name_of(v), v.loaded.source, v.shown, v.name_line)
        for v in declared
        if isinstance(v.loaded, LoadedTarget)
    ]
    problems = projects.placed_targets(result.repo_config, decls)
    result.diagnostics.extend(problems)
    misplaced = {(p.file, p.line) for p in problems}
    return [v for v in declared if (v.shown, v.name_line) not in misplaced]


def _targets(valid: list[_Valid], result: LoadResult) -> dict[str, list[str]]:
    """Set `result.targets`; return every name defined. A name defined twice is an error at each
    definition and neither is used (an endpoint must never deploy to whichever account happened
    to load last). A Target outside `targets.paths` counts as not defined, so a copy of `prod`
    in a team folder leaves the real one in force."""
    by_name: dict[str, list[_Valid]] = {}
    for entry in _placed(valid, result):
        by_name.setdefault(_name_of(entry), []).append(entry)
    for name, entries in by_name.items():
        for entry in entries if len(entries) > 1 else ():
            others = ", ".join(f"{o.shown}:{o.name_line}" for o in entries if o is not entry)
            message = f"target {name!r} is also defined at {others}"
            result.diagnostics.append(
                Diagnostic(entry.shown, entry.name_line, "metadata.name", message)
            )
    result.targets = {
        name: loaded
        for name, entries in sorted(by_name.items())
        if len(entries) == 1 and isinstance(loaded := entries[0].loaded, LoadedTarget)
    }
    return {
        name: [f"{e.shown}:{e.name_line}" for e in entries] for name, entries in by_name.items()
    }


def _unknown_targets(
    endpoints: list[_Valid], defined: dict[str, list[str]], result: LoadResult
) -> set[int]:
    """Endpoints whose target is not usable (undefined, or defined twice: reported at the
    definitions and here, so the plan says which endpoints are not reconciled and why); they
    are not deployed anywhere."""
    unusable: set[int] = set()
    for entry in endpoints:
        assert isinstance(entry.loaded, LoadedManifest)
        name = entry.loaded.manifest.spec.target
        if name is None or name in result.targets:
            continue
        unusable.add(id(entry))
        if name in defined:
            places = ", ".join(defined[name])
            message = f"not reconciled: target {name!r} is defined more than once ({places})"
            result.diagnostics.append(
                Diagnostic(entry.shown, entry.target_line, "spec.target", message)
            )
            continue
        known = ", ".join(sorted(defined)) or "none defined"
        hint = difflib.get_close_matches(name, sorted(defined), n=1)
        guess = f"; did you mean {hint[0]}?" if hint else ""
        message = f"unknown target {name!r}{guess} (targets: {known})"
        result.diagnostics.append(
            Diagnostic(entry.shown, entry.target_line, "spec.target", message)
        )
    return unusable
