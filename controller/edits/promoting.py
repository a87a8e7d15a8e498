"""Promoting a model package group to a new registry version across the manifests that use it.

Called by the `promote` command. Finding the `version:` values, choosing the target version from
a registry listing and rewriting the text are pure functions; listing the registry takes a
client; writing files and committing are the only side effects, kept at the end.

The rewrite is a splice at the exact character range PyYAML reports for each version scalar, not
a round-trip through a YAML emitter: emitters (ruamel.yaml included) re-indent sequences, re-flow
long flow mappings and normalise spacing, so lines nobody meant to touch would show up in the
review. After splicing, the new text is parsed again and must equal the old data with only the
version values replaced, or nothing is written.
"""

from __future__ import annotations

import copy
import difflib
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.aws import registry
from controller.core.packages import PackageVersion
from controller.edits import LATEST_APPROVED, sites
from controller.errors import ControllerError, Diagnostic, ManifestError, ResolutionError
from controller.manifests import files as manifest_files
from controller.manifests import yamlpos
from controller.manifests.loading import LoadedManifest, render_path


@dataclass(frozen=True)
class VersionRef:
    """One `version:` scalar in a manifest file that pins the promoted group."""

    endpoint: str
    variant: str
    region: str | None  # spec.target or spec.region (a location); None: the default region
    document: int  # index of the YAML document in the file
    loc: yamlpos.Loc  # ("spec", "variants", 0, "model", "version")
    line: int  # 1-based
    start: int  # character offsets of the scalar (quotes included) in the file's text
    end: int
    current: int
    quote: str  # "", "'" or '"': the scalar's style, kept in the rewrite
    uses: tuple[tuple[str, str], ...] = ()  # (endpoint, variant) this line sets the version of
    regions: tuple[str | None, ...] = ()  # the locations of every use
    template: str | None = None  # the template the line is in; None: the endpoint's own file


@dataclass(frozen=True)
class ManifestFile:
    """A manifest file with the group's version references in it."""

    path: Path
    shown: str  # as printed in diffs and commit bodies
    text: str
    refs: tuple[VersionRef, ...]
    root: Path | None = None  # the manifest root (-m); writes never land outside it


@dataclass(frozen=True)
class FileEdit:
    """One file's text before and after the promotion."""

    file: ManifestFile
    after: str
    changed: tuple[VersionRef, ...]

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.file.text.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"a/{self.file.shown.lstrip('/')}",
            tofile=f"b/{self.file.shown.lstrip('/')}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class Promotion:
    """Everything a promotion changes; empty `edits` means nothing to promote."""

    group: str
    target: int
    edits: tuple[FileEdit, ...]

    @property
    def previous(self) -> list[int]:
        return sorted({ref.current for edit in self.edits for ref in edit.changed})

    def diff(self) -> str:
        return "".join(edit.diff() for edit in self.edits)

    def commit_message(self, names: Mapping[Path, str] | None = None) -> str:
        """Conventional-commit subject plus a body naming each file and endpoint."""
        before = ", ".join(str(v) for v in self.previous)
        subject = f"chore(promote): {self.group} {before} -> {self.target}"
        lines = [f"Set model package group {self.group} to version {self.target} in:"]
        for edit in self.edits:
            name = (names or {}).get(edit.file.path, edit.file.shown)
            lines.append(f"- {name}: {_endpoints(edit.changed)}")
        return subject + "\n\n" + "\n".join(lines) + "\n"


def _endpoints(refs: Sequence[VersionRef]) -> str:
    variants: dict[str, list[str]] = {}
    for ref in refs:
        for endpoint, variant in ref.uses or ((ref.endpoint, ref.variant),):
            variants.setdefault(endpoint, []).append(variant)
    return "; ".join(f"{name} ({', '.join(v)})" for name, v in variants.items())


# Finding the references.


def find_refs(text: str, shown: str, found: Sequence[sites.Site]) -> list[VersionRef]:
    """The version scalars of `found` (sites in the file of `text`), one per line even when a
    template's line sets the version of several endpoints.

    Refuses (ManifestError with file and line) a version reached through a YAML anchor, alias or
    merge key: one edit there would silently change every other place that shares it.
    """
    documents = {d.index: d for d in yamlpos.parse(text)[0]}
    shared = {index: _shared_nodes(d.node) for index, d in documents.items()}
    refs: list[VersionRef] = []
    for site in found:
        document = documents[site.document]
        node = _scalar_at(document.node, site.loc, shared[site.document], shown)
        first, variant = site.uses[0]
        uses = tuple((sites.label(entry), name) for entry, name in site.uses)
        regions = tuple(
            dict.fromkeys(e.manifest.spec.target or e.manifest.spec.region for e, _ in site.uses)
        )
        refs.append(
            VersionRef(
                endpoint=first.manifest.metadata.name,
                variant=variant,
                region=regions[0],
                document=site.document,
                loc=site.loc,
                line=node.start_mark.line + 1,
                start=node.start_mark.index,
                end=node.end_mark.index,
                current=site.current,
                quote=node.style or "",
                uses=uses,
                regions=regions,
                template=site.template,
            )
        )
    return refs


def _shared_nodes(root: Node) -> set[int]:
    """Ids of nodes reachable by more than one path (aliases, merge keys)."""
    visits: Counter[int] = Counter()
    stack = [root]
    while stack:
        node = stack.pop()
        visits[id(node)] += 1
        if visits[id(node)] > 1:
            continue  # do not descend twice: aliases may even form cycles
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            stack.extend(child for pair in node.value for child in pair)
    return {key for key, count in visits.items() if count > 1}


def _scalar_at(root: Node, loc: yamlpos.Loc, shared: set[int], shown: str) -> ScalarNode:
    node = root
    line = yamlpos.line_of(root, loc)
    for part in loc:
        child = yamlpos.child(node, part)
        if child is None or id(child) in shared:
            message = (
                "the version is shared through a YAML anchor, alias or merge key; "
                "promote cannot change it alone, edit it by hand"
            )
            raise ManifestError([Diagnostic(shown, line, render_path(loc), message)])
        node = child
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        message = "the version must be a plain or quoted number to be promoted"
        raise ManifestError([Diagnostic(shown, line, render_path(loc), message)])
    if node.start_mark.line != node.end_mark.line:
        message = "the version must be written on one line to be promoted"
        raise ManifestError([Diagnostic(shown, line, render_path(loc), message)])
    return node


def collect(
    root: Path,
    shown_root: str,
    loaded: Sequence[LoadedManifest],
    group: str,
    everyone: Sequence[LoadedManifest] | None = None,
) -> list[ManifestFile]:
    """Every manifest file under `root` where a version of `group` used by `loaded` is written,
    with its references (for a templated endpoint, the template's file when the version is
    written there).

    `everyone`: all endpoints, when `loaded` is a selection of them; a template line that would
    also move an endpoint left out is refused (ManifestError at that line).
    """
    found = sites.locate(loaded, group)
    if everyone is not None:
        _refuse_spill(found, sites.spill(found, sites.locate(everyone, group)))
    by_source: dict[str, list[sites.Site]] = {}
    for site in found:
        by_source.setdefault(site.source, []).append(site)
    files: list[ManifestFile] = []
    for source, items in sorted(by_source.items()):
        path = root / source
        shown = f"{shown_root.rstrip('/')}/{source}" if shown_root not in ("", ".") else source
        _check_inside(path, root, shown)
        text = manifest_files.read_text(path, shown)
        if isinstance(text, Diagnostic):
            raise ManifestError([text])
        refs = find_refs(text, shown, items)
        if refs:
            files.append(ManifestFile(path, shown, text, tuple(refs), root))
    return files


def _refuse_spill(
    found: Sequence[sites.Site], spilled: Mapping[tuple[str, int, yamlpos.Loc], list[str]]
) -> None:
    problems = []
    for site in found:
        others = spilled.get((site.source, site.document, site.loc))
        if not others:
            continue
        message = (
            f"the version is written in template {site.template} and also sets it for "
            f"{', '.join(others)}, which the selectors leave out; write the version in the "
            "selected endpoints' own manifests to promote them alone"
        )
        problems.append(Diagnostic(site.shown, site.line, render_path(site.loc), message))
    if problems:
        raise ManifestError(problems)


def _check_inside(path: Path, root: Path, shown: str) -> None:
    """Refuse a file whose real location is outside the manifest root (a symlink out of it).

    Loading already refuses to read such a file; checked again right before writing, because
    the rewrite replaces the symlink's target, which may be any file the user can write.
    """
    real = os.path.realpath(path)
    if not manifest_files.inside(real, os.path.realpath(root)):
        message = f"resolves to {real}, outside the manifest root; refusing to write it"
        raise ManifestError([Diagnostic(shown, None, "", message)])


def moves(promotion: Promotion) -> list[str]:
    """One line per version edited in a template saying which endpoints it moves: every
    endpoint that takes its version from there (a line in an endpoint's own file moves it
    alone, as the diff shows)."""
    lines = []
    for edit in promotion.edits:
        for ref in edit.changed:
            if ref.template is None:
                continue
            names = sorted({endpoint for endpoint, _ in ref.uses})
            where = f"{edit.file.shown}:{ref.line} (template {ref.template})"
            lines.append(f"{where} moves {', '.join(names)}")
    return lines


def mixed_versions(files: Sequence[ManifestFile]) -> list[str]:
    """Endpoints whose variants pin the group at different versions (champion/challenger).

    Promote pins them all to the target, which ends such an A/B test; the command warns.
    """
    warnings: list[str] = []
    for file in files:
        by_endpoint: dict[str, list[VersionRef]] = {}
        for ref in file.refs:
            by_endpoint.setdefault(ref.endpoint, []).append(ref)
        for endpoint, refs in by_endpoint.items():
            if len({ref.current for ref in refs}) > 1:
                pins = ", ".join(f"{ref.variant}={ref.current}" for ref in refs)
                warnings.append(f"{file.shown}: {endpoint} pins different versions ({pins})")
    return warnings


# Choosing the target version.


def list_group(client: Any, group: str) -> dict[int, PackageVersion]:
    """Every version of `group` in the client's region (all pages), as the resolver sees them."""
    try:
        return registry.list_versions(client, group)
    except ClientError as e:
        error = e.response.get("Error", {})
        if error.get("Code") in ("ResourceNotFound", "ValidationException"):
            raise ResolutionError(f"model package group {group!r}: {error.get('Message')}") from e
        raise


def latest_approved(versions: Mapping[int, PackageVersion]) -> int | None:
    """The highest Approved version number, whatever order the listing came in."""
    return max((number for number, v in versions.items() if v.approved), default=None)


def choose_target(listings: Mapping[str, Mapping[int, PackageVersion]], group: str, to: str) -> int:
    """The version to promote to, checked against the registry of every region involved.

    Version numbers are per regional registry, so with manifests in several regions the target
    must exist and be Approved in each; `latest-approved` is the highest such version.
    """
    if to == LATEST_APPROVED:
        approved = [
            {n for n, v in versions.items() if v.approved} for versions in listings.values()
        ]
        common = set.intersection(*approved) if approved else set()
        if not common:
            where = " and ".join(sorted(listings))
            raise ResolutionError(
                f"model package group {group!r} has no Approved version in {where}"
            )
        return max(common)
    number = int(to)
    for region, versions in sorted(listings.items()):
        try:
            registry.choose(dict(versions), group, number)
        except ResolutionError as e:
            raise ResolutionError(f"{region}: {e}" if len(listings) > 1 else str(e)) from e
    return number


# Rewriting.


def rewrite(text: str, refs: Sequence[VersionRef], target: int) -> str:
    """`text` with each reference's scalar replaced by `target`, in the scalar's own quoting."""
    out = text
    for ref in sorted(refs, key=lambda r: r.start, reverse=True):
        out = out[: ref.start] + f"{ref.quote}{target}{ref.quote}" + out[ref.end :]
    return out


def _verify(before: str, after: str, refs: Sequence[VersionRef], target: int, shown: str) -> None:
    """Refuse unless `after` means exactly `before` with the version values replaced."""
    expected = {d.index: copy.deepcopy(d.data) for d in yamlpos.parse(before)[0]}
    for ref in refs:
        _set(expected[ref.document], ref.loc, target)
    documents, problems = yamlpos.parse(after)
    if problems or {d.index: d.data for d in documents} != expected:
        raise ControllerError(
            f"{shown}: rewriting the version would change more than the version; "
            "file left as it was"
        )


def _set(data: Any, loc: yamlpos.Loc, target: int) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = str(target) if isinstance(data[loc[-1]], str) else target


def promote_files(files: Sequence[ManifestFile], group: str, target: int) -> Promotion:
    """The edits promoting `group` to `target`; references already at `target` are left alone."""
    edits: list[FileEdit] = []
    for file in files:
        changed = tuple(ref for ref in file.refs if ref.current != target)
        if not changed:
            continue
        after = rewrite(file.text, changed, target)
        _verify(file.text, after, changed, target, file.shown)
        edits.append(FileEdit(file=file, after=after, changed=changed))
    return Promotion(group=group, target=target, edits=tuple(edits))


# Side effects: writing and committing.


def write(promotion: Promotion) -> None:
    """Replace each file atomically (a crash leaves the old or the new text, never half)."""
    for edit in promotion.edits:
        if edit.file.root is not None:
            _check_inside(edit.file.path, edit.file.root, edit.file.shown)
        target = edit.file.path.resolve()
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(edit.after.encode("utf-8"))
            os.chmod(temporary, target.stat().st_mode & 0o7777)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ControllerError(f"git {args[0]} failed: {e}") from e
    if done.returncode != 0:
        raise ControllerError(f"git {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def repo_paths(paths: Sequence[Path]) -> tuple[Path, dict[Path, str]]:
    """The repository's top directory and each path relative to it (for git and the message)."""
    top = Path(_git(paths[0].resolve().parent, "rev-parse", "--show-toplevel").strip())
    names: dict[Path, str] = {}
    for path in paths:
        try:
            names[path] = path.resolve().relative_to(top.resolve()).as_posix()
        except ValueError as e:
            raise ControllerError(f"{path} is outside the git repository at {top}") from e
    return top, names


def check_clean(top: Path, names: Mapping[Path, str]) -> None:
    """Refuse --commit when a file to change has uncommitted edits or is not tracked.

    Committing it would sweep those edits into the promotion commit under a message that does
    not mention them.
    """
    status = _git(top, "status", "--porcelain", "--", *names.values())
    if status.strip():
        dirty = ", ".join(line[3:] for line in status.splitlines())
        raise ControllerError(
            f"--commit: uncommitted changes or untracked files in {dirty}; "
            "commit or stash them first, so the promotion commit holds only the version change"
        )


def commit(top: Path, names: Mapping[Path, str], message: str) -> str:
    """Commit exactly `names` (other staged changes stay staged); returns the short commit id."""
    subject, _, body = message.partition("\n\n")
    _git(top, "commit", "--only", "-m", subject, "-m", body.strip(), "--", *names.values())
    return _git(top, "rev-parse", "--short", "HEAD").strip()
