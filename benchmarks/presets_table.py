"""Held-out scores of the shipped presets next to the baseline and the paper's public config.

    .venv/bin/python benchmarks/presets_table.py [--registry presets/]

For each bucket of the latest version of every preset, the baseline and the preset's score
are read from the preset (they were measured by `sra-search export` on the held-out split);
the paper's public configuration (c_s=5, c_e=50, tau=0.5, s=5) is evaluated now on exactly
the same cases. Prints a Markdown table and the command, machine and case counts.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import objectives
from sra_search import SRAConfig
from sra_search.bench.machine import describe
from sra_search.models import load_model
from sra_search.presets import Registry, read_preset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", default=None, help="Preset directory (default: $SRA_SEARCH_PRESETS, presets/).")
    args = ap.parse_args()
    reg = Registry(args.registry)
    latest = {}
    for ref in reg.list():
        latest[(ref.model, ref.task)] = ref
    paper = SRAConfig.paper_public()
    rows, models = [], {}
    for ref in latest.values():
        p = read_preset(Path(ref.location))
        if p.model.source not in models:
            models[p.model.source] = load_model(p.model.source)
        model, tok = models[p.model.source]
        for b in p.buckets:
            ev = b.evaluation
            res = objectives.evaluate(model, tok, p.task.name, paper, task_params=ev.task_params,
                                      split=ev.split, n_cases=ev.n_cases, offset=ev.offset)  # fmt: skip
            m = b.metrics
            rows.append(
                f"| {p.name} v{p.version} | {b.min_tokens}-{b.max_tokens} | {m.n_cases} | {m.baseline_score:.3f} | "
                f"{res.score:.3f} | {m.score:.3f} ({m.delta:+.3f}) | {m.perplexity_ratio or float('nan'):.3f} | "
                f"{m.accumulated_attention_mean or float('nan'):.3f} | `{b.config.short()}` |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    mach = describe()
    print(f"command: {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"machine: {mach['cpu']}, {mach['cores']} cores, torch {mach['torch']}; held-out split, same cases per row")
    print()
    print("| preset | prompt tokens | held-out cases | baseline | paper public config | preset (delta) | ppl ratio | acc. attention | config |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
