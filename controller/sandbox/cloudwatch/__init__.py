"""CloudWatch: the alarms behind scaling policies."""
