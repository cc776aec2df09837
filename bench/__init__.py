"""Benchmarks: see docs/benchmarks.md. Each ``bench_*.py`` runs alone; ``run_all.py`` runs them all."""
