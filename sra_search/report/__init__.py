"""Plots and summaries of studies and of SRA itself (``sra-search report``)."""
