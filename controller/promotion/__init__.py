"""Stage promotion: versions walk dev -> staging -> prod, verified on each stage's live metrics.

Reserved for the pipeline feature, and empty until it lands: its place in the data flow is fixed
now so that it does not grow inside `commands/` or the `run` service. It sits above `reconcile`
(it reads what the reconciler observed: endpoints converged on a version, their metrics) and
`edits` (it writes each promotion to git with `promote`'s comment-keeping writer), and below
`service` and `commands`, which drive it. It never calls a mutating AWS API itself: a promotion is
a commit, and the reconciler applies it like any other.
"""
