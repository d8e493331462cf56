"""Helpers shared by the benchmarks (not benchmarks themselves: run_all runs bench/*.py)."""
