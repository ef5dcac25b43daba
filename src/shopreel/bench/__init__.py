"""Benchmarks: each prints JSON and reports ratios against a baseline measured in the same run."""
