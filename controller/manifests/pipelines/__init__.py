"""`kind: Pipeline`: the stages a model package group's versions walk through (`model`), and the
checks that tie a pipeline to the endpoints and targets loaded beside it (`checks`)."""
