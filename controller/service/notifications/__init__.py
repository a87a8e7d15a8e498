"""Notifications: rollout events to Slack, a generic JSON webhook and GitHub commit statuses.

config.py loads and validates the `--notifications` file (with `file:line:` errors) and resolves
secrets from files or the environment; messages.py turns an event into each sink's HTTP request
(pure); delivery.py deduplicates, queues (bounded) and posts on a background thread with
retries, so a dead or slow receiver never blocks or fails a reconcile.
"""
