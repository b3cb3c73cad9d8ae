"""Evaluation datasets, the benchmark (``python -m evals.bench``) and their reports."""
