"""What `run` reads: the git source, the watched directory, triggers, reloads."""
