"""Benchmarks and load scenarios, run as scripts: ``python -m bench.<name>`` (see bench/README.md)."""
