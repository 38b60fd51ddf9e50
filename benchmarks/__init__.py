"""Runnable benchmarks: each prints what it measured, how, and the ratio to a baseline.

Run one as a script (``.venv/bin/python benchmarks/scoring.py``) or as a module
(``.venv/bin/python -m benchmarks.scoring``); no file here is named like a package of the
project (``objectives``, ``sra_search``), so running from this folder shadows nothing.
"""
