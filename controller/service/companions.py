"""Jobs that run beside the reconcile loop (`run --promote`'s promoter): started after the
loop, stopped before it, each shown in /status under its name."""

from __future__ import annotations

from typing import Any

from controller.service.ports import Companion


class Companions:
    def __init__(self) -> None:
        self._all: list[Companion] = []

    def add(self, companion: Companion) -> None:
        """Before the runner starts."""
        self._all.append(companion)

    def start(self) -> None:
        for companion in self._all:
            companion.start()

    def stop(self, timeout: float) -> None:
        for companion in self._all:
            companion.stop(timeout)

    def status(self, found: dict[str, Any]) -> dict[str, Any]:
        """`found` (the runner's /status) with each companion's section added."""
        for companion in self._all:
            found[companion.name] = companion.status()
        return found
