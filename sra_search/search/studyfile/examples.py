"""A tiny study file, the one the search tests and ``benchmarks/reliability/`` run.

:func:`tiny_study_toml` writes the TOML of a small study on a tiny model: passkey at 128
tokens with a perplexity constraint on the harbor text of ``studies/data`` (so, in a checkout
of this repository), three SRA parameters searched by TPE, local workers.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

HARBOR = Path(__file__).resolve().parents[3] / "studies" / "data" / "harbor-town.txt"
"""The text of the perplexity constraint (in a checkout of the repository)."""


def tiny_study_toml(
    model_dir: str, *, name: str, storage: str, trials: int = 6, extra: str = "", constraints: str | None = None,
    search: int = 4, chunk: int = 2, holdout: int = 0, sampler: str = 'kind = "tpe"\nn_startup_trials = 3',
    pruner: str = 'kind = "none"', workers: int = 2, heartbeat_s: int = 1, grace_s: int = 3,
    retry_s: int | None = None, harbor: str | Path = HARBOR,
) -> str:  # fmt: skip
    """A small study on the tiny model: passkey at 128 tokens, perplexity on the harbor text.

    ``extra`` goes into the top-level keys; ``constraints`` replaces the ``[constraints]``
    table (perplexity on ``harbor`` and an attention range); ``sampler`` and ``pruner`` are the
    bodies of their tables; ``retry_s`` (``[storage]``) is left out when ``None``.
    """
    if constraints is None:
        constraints = f"""
        [constraints]
        perplexity = {{ max_ratio = 50.0, params = {{ data = "{harbor}", length = 128, last_k = 32, holdout_fraction = 0.25 }}, cases = 2 }}
        attention = {{ low = 1.0, high = 100.0 }}
        """
    retry = "" if retry_s is None else f"\n        retry_s = {retry_s}"
    return textwrap.dedent(f"""
        name = "{name}"
        model = "{model_dir}"
        seed = 3
        {extra}

        [[tasks]]
        name = "passkey"
        params = {{ length = 128 }}
        cases = {{ search = {search}, holdout = {holdout} }}
        chunk = {chunk}

        [search_space]
        tau_in = {{ low = 0.05, high = 2.0, log = true }}
        tau_ou = {{ low = 0.05, high = 2.0, log = true }}
        s_in = {{ low = 1.0, high = 8.0 }}
        s_ou = {{ fixed = 5.0 }}
        c_s = {{ low = 0, high = 8 }}
        c_e = {{ choices = [8, 16, 32] }}
        """) + textwrap.dedent(constraints) + textwrap.dedent(f"""
        [sampler]
        {sampler}

        [pruner]
        {pruner}

        [budget]
        trials = {trials}

        [workers]
        count = {workers}
        cpus = 1

        [storage]
        url = "{storage}"
        heartbeat_s = {heartbeat_s}
        grace_s = {grace_s}{retry}
        """)
