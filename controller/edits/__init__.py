"""Edits the controller makes to manifests in the repository (`promote`)."""

# What `promote --to` accepts besides a version number; here, not in `promoting`, so the CLI can
# declare the flag without importing botocore and the manifest loader.
LATEST_APPROVED = "latest-approved"
