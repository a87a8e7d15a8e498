"""Endpoint templates: `kind: EndpointTemplate` documents and `spec.extends`.

Rendering sits between reading YAML documents and validating endpoints: files -> documents ->
rendered endpoints (this package) -> validated `EndpointManifest` -> desired state. `merging`
holds the merge rules, `chains` resolves which templates an endpoint goes through, `origins`
finds the file and line a rendered value was written at, and `rendering` ties them together.
Templates are never deployed and never pruned: only rendered endpoints leave this package.
"""
