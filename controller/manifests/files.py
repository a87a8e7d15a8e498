"""Which files under a manifest root are read, and reading them without surprises.

The manifest root is untrusted input in the service (it follows a git branch) and half-trusted
in CI, so reading follows a few rules, each a reply to a way a checkout can hurt a reader:

- a path whose real location (after every symlink) is outside the root is refused: a symlink to
  ``/etc/shadow`` is never read, and (in `controller.edits.promoting`) never written through;
- only regular files are read: a FIFO would block ``open`` forever, a device could stream
  endlessly; when a directory walk finds one it is skipped with a warning, when it is named on
  the command line it is an error. Files are opened non-blocking and checked again after
  opening, so one swapped in after the walk cannot hang the reader either;
- directories are walked (also one named ``x.yaml``); hidden entries (``.git``) and symlinked
  directories are not followed, so a link loop cannot make the walk endless;
- a file larger than `MAX_BYTES` is refused after reading at most one byte more;
- text must be UTF-8; a UTF-8 byte-order mark is accepted and dropped.

Every refusal is a `Diagnostic` (the load fails, so apply and prune never act on a partial
tree); skips are warnings, logged and returned.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from controller.errors import Diagnostic
from controller.manifests import yamlpos

log = structlog.get_logger(__name__)

MAX_BYTES = 1024 * 1024
"""Larger files are refused: a manifest is a few KiB; a huge file is a mistake or an attack."""
SUFFIXES = (".yaml", ".yml")
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """A file to read: where it is, how a user sees it, and its root-relative identity."""

    path: Path
    shown: str
    """The path as shown to a user: relative to the current directory when inside it."""
    source: str
    """The path relative to the manifest root (posix), used in tags and plans."""


@dataclass
class Found:
    """What discovery found: files to read, errors, and skipped paths (warnings)."""

    files: list[ManifestFile]
    problems: list[Diagnostic]
    warnings: list[Diagnostic]


def root_for(paths: Sequence[Path | str], root: Path | None) -> Path:
    """The manifest root: `root` if given, else the common directory of `paths`."""
    if root is not None:
        return Path(os.path.abspath(root))
    bases = [os.path.abspath(p if Path(p).is_dir() else Path(p).parent) for p in paths]
    return Path(os.path.commonpath(bases)) if bases else Path.cwd()


def discover(paths: Sequence[Path | str], root: Path) -> Found:
    """Files to read under `paths`, deduplicated (a file named and inside a named directory
    counts once), sorted by their root-relative path."""
    found = Found([], [], [])
    real_root = os.path.realpath(root)
    cwd = _cwd()
    unique: dict[str, ManifestFile] = {}
    for raw in paths:
        path = Path(raw)
        candidates = list(_walk(path, found)) if path.is_dir() else [path]
        for candidate in candidates:
            absolute = os.path.abspath(candidate)
            shown = _below(absolute, cwd) or candidate.as_posix()
            real = _admit(candidate, shown, real_root, found, named=candidate == path)
            if real is not None:
                source = _below(absolute, str(root)) or candidate.as_posix()
                unique.setdefault(real, ManifestFile(candidate, shown, source))
    for warning in found.warnings:
        log.warning("manifest path skipped", path=warning.file, reason=warning.message)
    found.files = sorted(unique.values(), key=lambda f: f.source)
    return found


def rediscover(
    previous: Found, changed: Collection[str], directory: Path, root: Path
) -> Found | None:
    """`previous` (a `discover` of `directory`, the manifest root) updated for the files named
    in `changed` (root-relative, posix) alone; None when only a full walk can tell.

    The service's watcher names the files an edit touched: looking at those instead of walking
    and reading the whole tree makes an edit cost what it changed. Anything `discover` would
    judge (a symlink, a directory, a special file, a hidden or non-YAML name, a walk that found
    problems) is left to it.
    """
    if previous.problems or previous.warnings:
        return None
    files = {file.source: file for file in previous.files}
    real_root = os.path.realpath(root)
    cwd = _cwd()
    for source in changed:
        candidate = directory / source
        kind = _plain_file(candidate, source, real_root)
        if kind is None:
            return None
        if kind == "gone":
            files.pop(source, None)
        else:
            shown = _below(os.path.abspath(candidate), cwd) or candidate.as_posix()
            files[source] = ManifestFile(candidate, shown, source)
    return Found(sorted(files.values(), key=lambda f: f.source), [], [])


def _plain_file(candidate: Path, source: str, real_root: str) -> str | None:
    """ "file" or "gone" for a visible YAML name in a real directory of the root; else None."""
    parts = source.split("/")
    if not parts[-1].endswith(SUFFIXES) or any(p.startswith(".") or p in ("", "..") for p in parts):
        return None
    parent = os.path.join(real_root, *parts[:-1])
    if os.path.realpath(candidate.parent) != parent:  # a symlinked directory on the way
        return None
    try:
        mode = os.lstat(candidate).st_mode
    except FileNotFoundError:
        return "gone" if os.path.isdir(parent) else None
    except OSError:
        return None
    return "file" if stat.S_ISREG(mode) else None


def _walk(directory: Path, found: Found) -> Iterator[Path]:
    """``*.yaml``/``*.yml`` below `directory`, skipping hidden entries such as ``.git``."""

    def unreadable(error: OSError) -> None:
        shown = shown_path(Path(error.filename or directory))
        message = f"cannot read directory: {error.strerror}"
        found.problems.append(Diagnostic(shown, None, "", message))

    for current, dirnames, filenames in os.walk(directory, onerror=unreadable):
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            if os.path.islink(os.path.join(current, name)):
                message = "symlinked directory not followed; link the files instead"
                found.warnings.append(
                    Diagnostic(shown_path(Path(current) / name), None, "", message)
                )
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield Path(current) / name


def _admit(path: Path, shown: str, real_root: str, found: Found, *, named: bool) -> str | None:
    """The real path of `path` if it may be read; else None, with the reason recorded."""
    real = os.path.realpath(path)
    if not inside(real, real_root):
        message = f"resolves to {real}, outside the manifest root; refusing to read it"
        found.problems.append(Diagnostic(shown, None, "", message))
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        what = "no such file or directory" if named and not os.path.lexists(path) else None
        found.problems.append(
            Diagnostic(shown, None, "", what or f"cannot read file: {e.strerror}")
        )
        return None
    kind = special_kind(mode)
    if kind is None:
        return real
    message = f"not a regular file ({kind})"
    (found.problems if named else found.warnings).append(
        Diagnostic(shown, None, "", message if named else f"{message}; skipped")
    )
    return None


def inside(real: str, real_root: str) -> bool:
    """True when the real path `real` is `real_root` or below it."""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def special_kind(mode: int) -> str | None:
    """``"a FIFO"`` and the like for anything but a regular file or directory; None for those."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def shown_path(path: Path) -> str:
    """The path as a user should see it: relative to the current directory when inside it."""
    return _below(os.path.abspath(path), _cwd()) or path.as_posix()


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the current directory was deleted
        return None


def _below(absolute: str, directory: str | None) -> str | None:
    """`absolute` relative to `directory` (posix) when it is strictly inside it, else None.

    String operations, not `Path.relative_to`: discovery calls this for every file, and a tree of
    ten thousand files should cost milliseconds here.
    """
    if directory is None:
        return None
    prefix = directory.rstrip("/") + "/"
    return absolute[len(prefix) :] if absolute.startswith(prefix) else None


def read_text(path: Path, shown: str) -> str | Diagnostic:
    """The file's text, or a diagnostic saying why it cannot be had (never blocks, never huge)."""
    try:
        raw = _read_bytes(path)
    except OSError as e:
        return Diagnostic(shown, None, "", f"cannot read file: {e.strerror or e}")
    except _NotRegular as e:
        return Diagnostic(shown, None, "", f"not a regular file ({e.kind})")
    if len(raw) > MAX_BYTES:
        message = "file is larger than 1 MiB; refusing to load it (a manifest is a few KiB)"
        return Diagnostic(shown, 1, "", message)
    return decode(raw, shown)


class _NotRegular(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(kind)


def _read_bytes(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        kind = special_kind(os.fstat(descriptor).st_mode)
        if kind is not None or stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise _NotRegular(kind or "a directory")
        return handle.read(MAX_BYTES + 1)


def decode(raw: bytes, shown: str) -> str | Diagnostic:
    """UTF-8 text (a leading byte-order mark dropped), or where the first bad byte is."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Diagnostic(shown, 1, "", "file is UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        prefix = raw[: e.start].decode("utf-8-sig")
        line = yamlpos.line_at(prefix, len(prefix))
        message = f"file is not UTF-8 text (byte 0x{raw[e.start]:02x} cannot be decoded)"
        return Diagnostic(shown, line, "", message)
