"""Benchmarks (``make bench``) and the chaos run (``make chaos``): ratios measured in one run."""
