"""Runtime benchmark of SRA on SmolLM2: prefill time, peak memory, decode speed vs plain SDPA.

    .venv/bin/python benchmarks/runtime.py [--lengths 1024,2048,4096] [--repeats 3] [--json]

Same code as ``sra-search bench runtime``; see sra_search/bench/runtime.py for the method.
"""

import sys

from sra_search.cli.app import app

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "bench", "runtime", *sys.argv[1:]]
    app()
