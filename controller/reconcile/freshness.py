"""How fresh a live read must be for the reconcile at hand: flags the callers set per call.

Kept apart so both readers (`ownedindex`, `keptdescribes`) and both setters (`reconciling` for an
edited endpoint, `converging` for `apply`'s changed-first wave) share one definition without
the readers depending on each other. Context variables, because the service's workers and
`apply`'s pool threads each reconcile a different endpoint at once.
"""

from __future__ import annotations

from contextvars import ContextVar

# Set while reconciling an edited endpoint: an owned index past its TTL is good enough (our own
# writes keep it current; ListTags stays the authority before any delete), and its live state is
# described directly rather than checked against the fleet's ListEndpoints sweep.
STALE_INDEX_OK: ContextVar[bool] = ContextVar("stale_index_ok", default=False)
# Set while `apply` reconciles the changed endpoints it found in the endpoint sweep: the index
# being read (endpoints in, models and configs maybe not yet) is good enough. What is not in it
# is described (probes), and what it lacks only holds garbage collection back, never adds a
# delete; prune never runs on it (it decides on a complete index only).
PARTIAL_INDEX_OK: ContextVar[bool] = ContextVar("partial_index_ok", default=False)
