"""Benchmarks: measured, never asserted (`python -m benchmarks.run`, `make bench`).

Each module measures one property of the controller against the local sandbox and reports it as
ratios against a baseline taken in the same run (a budget, latency 0, the process after imports),
so the numbers mean something on any machine. Nothing here fails on a slow result; tests hold
correctness, these show cost. See docs/benchmarks.md for how to run them and what they found.
"""
