"""Where SRA's prefill time goes: the same prompt profiled without and with SRA, by part and op.

    .venv/bin/python benchmarks/profile_prefill.py [--model smollm2-135m] [--length 4096] [--repeats 3]

Runs one plain prefill and one prefill under the paper's public config per repeat
(alternating, after a warm-up), with ``torch.profiler`` on the CPU. It prints

1. **the breakdown** of what SRA adds per prefill, from the fast path's own profiler scopes
   (``runtime/fast.py``, named when ``fast.PROFILE_SCOPES`` is on, as here: ``sra::sdpa``,
   ``sra::plan``, ``sra::rows``, ``sra::mask``, ``sra::edit``, ``sra::write``): SDPA itself
   (against the baseline's SDPA), the recomputed rows (their two matmuls and softmax), mask and
   visibility, the edit, writing the rows back with the statistics, planning, and the rest ("other": the attention wrapper's Python per
   layer, ``enable_sra``'s entry and exit, and the noise of the untouched layers), each in ms
   per prefill and as a share of the baseline's prefill;
2. the self time of each aten op summed over the repeats, baseline next to SRA, sorted by what
   SRA adds.

Profiled times are inflated by the profiler; the shares are what to read. The ratio to quote is
``sra-search bench runtime``'s (no profiler).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from sra_search import SRAConfig, enable_sra, load_model
from sra_search.bench.machine import describe
from sra_search.runtime import fast

PARTS = (
    ("sra::rows", "recomputed rows (QK^T, softmax, x V)"),
    ("sra::mask", "mask and visibility"),
    ("sra::edit", "edit (elimination, redistribution)"),
    ("sra::write", "write-back and statistics"),
    ("sra::plan", "plan (geometry per layer)"),
)
SDPA_OPS = ("aten::scaled_dot_product_attention",)


def _self_ms(prof) -> dict[str, float]:
    return {e.key: e.self_cpu_time_total / 1000 for e in prof.key_averages()}


def _total_ms(prof) -> dict[str, float]:
    return {e.key: e.cpu_time_total / 1000 for e in prof.key_averages()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--length", type=int, default=4096, help="Prompt tokens.")
    ap.add_argument("--repeats", type=int, default=3, help="Profiled prefills per variant.")
    ap.add_argument("--rows", type=int, default=12, help="Ops to list.")
    args = ap.parse_args()
    fast.PROFILE_SCOPES = True  # name the fast path's parts in the profile
    model, _ = load_model(args.model)
    cfg = SRAConfig.paper_public()
    ids = torch.randint(100, 20000, (1, args.length), generator=torch.Generator().manual_seed(0))

    def prefill(sra: bool) -> None:
        if sra:
            with enable_sra(model, cfg):
                model(ids)
        else:
            model(ids)

    self_ms = {False: {}, True: {}}
    total_ms = {False: {}, True: {}}
    wall = {False: 0.0, True: 0.0}
    with torch.no_grad():
        prefill(False), prefill(True)  # warm-up
        for i in range(args.repeats):
            for sra in (False, True) if i % 2 == 0 else (True, False):
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    start = time.perf_counter()
                    prefill(sra)
                    wall[sra] += time.perf_counter() - start
                for into, got in ((self_ms, _self_ms(prof)), (total_ms, _total_ms(prof))):
                    for op, ms in got.items():
                        into[sra][op] = into[sra].get(op, 0.0) + ms
    m = describe()
    r = args.repeats
    print(f"command: {shlex.join([sys.executable.rsplit('/', 1)[-1], *sys.argv])}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, transformers {m.get('transformers')}")
    print(f"model: {args.model}; {args.length} tokens; SRA: {cfg.short()}; {r} profiled prefills each")
    base_wall, sra_wall = 1000 * wall[False] / r, 1000 * wall[True] / r
    print(f"\nprofiled prefill: baseline {base_wall:.0f} ms, SRA {sra_wall:.0f} ms "
          f"({sra_wall / base_wall:.3f}x; the profiler inflates both)\n")  # fmt: skip
    print(f"{'part (per prefill)':<44} {'ms':>8} {'/ base prefill':>15}")
    base_sdpa = sum(total_ms[False].get(op, 0.0) for op in SDPA_OPS) / r
    sdpa = total_ms[True].get("sra::sdpa", 0.0) / r
    rows = [("SDPA (SRA's call minus the baseline's)", sdpa - base_sdpa)]
    rows += [(label, total_ms[True].get(scope, 0.0) / r) for scope, label in PARTS]
    accounted = sum(ms for _, ms in rows)
    rows.append(("other (Python per layer, enter/exit, noise)", sra_wall - base_wall - accounted))
    for label, ms in rows:
        print(f"{label:<44} {ms:>8.1f} {ms / base_wall:>14.1%}")
    print(f"{'all SRA adds':<44} {sra_wall - base_wall:>8.1f} {(sra_wall - base_wall) / base_wall:>14.1%}")

    base_total, sra_total = sum(self_ms[False].values()), sum(self_ms[True].values())
    ops = sorted(set(self_ms[False]) | set(self_ms[True]), key=lambda o: self_ms[False].get(o, 0) - self_ms[True].get(o, 0))
    print(f"\n{'op (self time, summed)':<48} {'base ms':>10} {'sra ms':>10} {'added ms':>10} {'added / base total':>19}")
    for op in [o for o in ops if not o.startswith("sra::")][: args.rows]:
        b, s = self_ms[False].get(op, 0.0), self_ms[True].get(op, 0.0)
        print(f"{op[:48]:<48} {b:>10.0f} {s:>10.0f} {s - b:>10.0f} {(s - b) / base_total:>18.1%}")
    print(f"{'all ops':<48} {base_total:>10.0f} {sra_total:>10.0f} {sra_total - base_total:>10.0f} "
          f"{(sra_total - base_total) / base_total:>18.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
