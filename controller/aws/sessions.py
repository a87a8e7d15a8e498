"""botocore sessions that share one data loader, so a service model is parsed once per process.

Each botocore Session loads and keeps its own copy of every service model it creates a client
for, and the SageMaker model alone is megabytes of JSON: measured, every extra session with a
SageMaker, a tagging and an STS client cost about 20 MiB of RSS. The controller opens one session
for the ambient credentials and one per deployment target (each target has its own assumed-role
credentials), so ten targets cost some 200 MiB before a single endpoint was read. Sharing the
loader (its caches are keyed by service and API version, never by credentials or region) brings
an extra session down to about 1.2 MiB. Credentials, region, retries and event hooks stay per
session.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session

_lock = threading.Lock()
_loader: Any = None


def core_session() -> botocore.session.Session:
    """A fresh botocore session whose service models come from the process-wide loader."""
    global _loader
    core = botocore.session.Session()
    with _lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
        loader = _loader
    core.register_component("data_loader", loader)
    return core
