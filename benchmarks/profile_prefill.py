"""Where SRA's prefill time goes: the same prompt profiled without and with SRA, op by op.

    .venv/bin/python benchmarks/profile_prefill.py [--length 4096] [--repeats 3]

Runs one plain prefill and one prefill under the paper's public config per repeat
(alternating, after a warm-up), with ``torch.profiler`` on the CPU, and prints the self time
of each aten op summed over the repeats, baseline next to SRA, sorted by what SRA adds. The
ops SRA adds are its recomputed rows: ``bmm`` (scores and weights x V) and the elementwise
passes (mask, softmax, elimination, redistribution).
"""

from __future__ import annotations

import argparse
import shlex
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from sra_search import SRAConfig, enable_sra, load_model
from sra_search.bench.machine import describe


def _self_ms(prof) -> dict[str, float]:
    return {e.key: e.self_cpu_time_total / 1000 for e in prof.key_averages()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--length", type=int, default=4096, help="Prompt tokens.")
    ap.add_argument("--repeats", type=int, default=3, help="Profiled prefills per variant.")
    ap.add_argument("--rows", type=int, default=12, help="Ops to list.")
    args = ap.parse_args()
    model, _ = load_model(args.model)
    cfg = SRAConfig.paper_public()
    ids = torch.randint(100, 20000, (1, args.length), generator=torch.Generator().manual_seed(0))

    def prefill(sra: bool) -> None:
        if sra:
            with enable_sra(model, cfg):
                model(ids)
        else:
            model(ids)

    totals = {False: {}, True: {}}
    with torch.no_grad():
        prefill(False), prefill(True)  # warm-up
        for i in range(args.repeats):
            for sra in (False, True) if i % 2 == 0 else (True, False):
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    prefill(sra)
                for op, ms in _self_ms(prof).items():
                    totals[sra][op] = totals[sra].get(op, 0.0) + ms
    m = describe()
    print(f"command: {shlex.join([sys.executable.rsplit('/', 1)[-1], *sys.argv])}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, transformers {m.get('transformers')}")
    print(f"model: {args.model}; {args.length} tokens; SRA: {cfg.short()}; {args.repeats} profiled prefills each")
    base_total, sra_total = sum(totals[False].values()), sum(totals[True].values())
    ops = sorted(set(totals[False]) | set(totals[True]), key=lambda o: totals[False].get(o, 0) - totals[True].get(o, 0))
    print(f"{'op':<48} {'base ms':>10} {'sra ms':>10} {'added ms':>10} {'added / base total':>19}")
    for op in ops[: args.rows]:
        b, s = totals[False].get(op, 0.0), totals[True].get(op, 0.0)
        print(f"{op[:48]:<48} {b:>10.0f} {s:>10.0f} {s - b:>10.0f} {(s - b) / base_total:>18.1%}")
    print(f"{'all ops':<48} {base_total:>10.0f} {sra_total:>10.0f} {sra_total - base_total:>10.0f} "
          f"{(sra_total - base_total) / base_total:>18.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
