"""Benchmarks of yard-vms (run as modules, e.g. ``python -m bench.ingest``); results in docs/benchmarks.md."""
