"""What a benchmark ran on, printed next to every result."""

from __future__ import annotations

import os
import platform
import sys

import torch


def describe() -> dict:
    """CPU/GPU, core count, memory and library versions of this machine."""
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:  # pragma: no cover
        pass
    return info
