"""Benchmarks: the seed's serial flow (baseline A), the parallel floor (baseline B) and `pulumi up`."""
