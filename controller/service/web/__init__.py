"""The HTTP surface of `run`: probes, /status, the status page, webhook, suspend."""
