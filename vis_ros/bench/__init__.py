"""Benchmarks: per-stage timings written as JSON (speed targets live here, not in tests)."""
