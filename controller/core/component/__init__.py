"""The inference-component kind: desired components, their diff and requests."""
