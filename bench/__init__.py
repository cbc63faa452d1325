"""Podium's benchmark suite: `python -m bench.run --quick` (see bench/README.md).

Benchmarks measure; they never pass or fail. Nothing under tests/ asserts time.
"""
