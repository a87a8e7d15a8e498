"""Projects: which team's manifests may deploy what, where (``projects:`` in the repo config).

`settings` holds the config's shape, `globs` the two pattern languages it uses (paths with
``**``, names with ``*``), and `policy` the one pure function every command's load runs.
"""
