"""Status conditions in the kstatus shape (Ready / Reconciling / Stalled), so tools that read
Kubernetes objects the way Argo CD, Flux and `kstatus` do read ours the same way.

kstatus rules: `Ready` is always present; `Reconciling` and `Stalled` are "abnormal-true"
conditions, present only while True. Each carries a PascalCase reason, a message and the
revision it was observed at (`observedRevision`).
"""

from __future__ import annotations

from typing import Any

# Sync states that mean "work is under way or pending": the `run` service's vocabulary
# (statuses.SyncState) and the `status` command's.
_RECONCILING = frozenset({"Progressing", "OutOfSync", "Unknown"})
_STALLED = frozenset({"Failed", "Error"})


def conditions(
    sync: str, health: str, reason: str, message: str, revision: str | None
) -> list[dict[str, Any]]:
    """Conditions for one endpoint from its sync state, health and last reason/message."""
    ready = sync == "Synced" and health == "Healthy"
    out = [
        _condition(
            "Ready",
            ready,
            "Synced" if ready else (reason or sync),
            message or f"sync {sync}, health {health}",
            revision,
        )
    ]
    if sync in _RECONCILING:
        out.append(_condition("Reconciling", True, reason or sync, message, revision))
    if sync in _STALLED:
        out.append(_condition("Stalled", True, reason or "Failed", message, revision))
    return out


def _condition(
    kind: str, status: bool, reason: str, message: str, revision: str | None
) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedRevision": revision or "",
    }
