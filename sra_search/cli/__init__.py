"""Command-line interface (``sra-search``): one module per command group, registered in ``app.py``."""
