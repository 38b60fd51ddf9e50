"""Fixtures of the objectives tests. ``tokenizer``, ``tiny_lm`` and ``smollm2`` are shared, in ``tests/conftest.py``."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def plain_tokenizer(tokenizer):
    """The same tokenizer without a chat template (the fallback path)."""
    import copy

    tok = copy.deepcopy(tokenizer)
    tok.chat_template = None
    return tok
