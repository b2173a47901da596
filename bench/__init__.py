"""Benchmarks (`make bench`): figures measured beside their baselines, written to bench/results.json."""
