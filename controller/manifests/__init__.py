"""Endpoint manifests: the pydantic schema (`models`) and reading YAML files into it (`loading`)."""
