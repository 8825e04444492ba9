"""Benchmarks: build a large synthetic organisation and print figures (not part of the test suite)."""
