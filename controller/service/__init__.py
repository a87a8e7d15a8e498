"""The long-lived `run` service: work queue, runner, HTTP server, git source, leader election."""
