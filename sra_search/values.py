"""Small value rules shared by every layer: non-finite numbers as JSON ``null``."""

from __future__ import annotations

import math
from typing import Any


def finite_or_none(x: Any) -> Any:
    """``x`` unless it is a non-finite float (NaN, inf), which JSON cannot hold: then ``None``."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float inside dicts, lists and tuples replaced by ``None``."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return finite_or_none(obj)
