"""Benchmarks of the engine and the app at size: `python -m bench` prints wall time, peak memory and ratios."""
