"""Benchmarks shipped with the package (run through ``sra-search bench`` or ``benchmarks/``)."""
