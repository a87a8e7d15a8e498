"""What `run` knows and says of each endpoint: statuses, conditions, events."""
