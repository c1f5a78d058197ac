"""Benchmarks: each prints its figures beside the physical floor measured in the same run."""
