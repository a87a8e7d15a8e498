"""AWS reads and the one write behind pipeline stages: what an endpoint serves (`serving`), a
stage's metrics in GetMetricData batches (`metrics`), a stage's verdict on a version read back
(`verdicts`) and recorded (`lifecycle`, the write `promotion` may not import)."""
