"""`promote`'s selectors: which endpoints a promotion may move (`--endpoint`, `--target`,
`--label`). Every kind of selector given must match; a repeated `--endpoint` or `--target`
matches any of its values, every `--label` must hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.errors import ControllerError
from controller.manifests.loaded import matches
from controller.manifests.loading import LoadedManifest


@dataclass(frozen=True)
class Selectors:
    endpoints: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def given(self) -> bool:
        return bool(self.endpoints or self.targets or self.labels)

    def matches(self, entry: LoadedManifest) -> bool:
        return matches(entry, self.endpoints, self.targets, self.labels)

    def select(self, loaded: Sequence[LoadedManifest]) -> list[LoadedManifest]:
        """The matching endpoints; an error when selectors were given and nothing matches."""
        chosen = [entry for entry in loaded if self.matches(entry)]
        if self.given and not chosen:
            raise ControllerError(f"no endpoint matches {self.describe()}")
        return chosen

    def describe(self) -> str:
        parts = [f"--endpoint {n}" for n in self.endpoints]
        parts += [f"--target {t}" for t in self.targets]
        parts += [f"--label {k}={v}" for k, v in self.labels]
        return " ".join(parts)


def label(text: str) -> tuple[str, str]:
    """``key=value`` as given to ``--label``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    return key, value
