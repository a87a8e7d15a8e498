"""Which owned endpoints a prune may delete, and the plans for removed endpoints."""
