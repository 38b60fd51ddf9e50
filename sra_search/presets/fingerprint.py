"""A model's fingerprint: a hash of its config and a deterministic sample of its weights.

A preset records it so that it is never silently applied to other weights. Sampling (up
to 4096 evenly spaced entries per tensor, taken as float32) keeps it fast for 8B models
while any fine-tune or re-quantisation still changes it. Weights cast to another dtype
(float32 -> bfloat16) are other numbers and give another fingerprint.
"""

from __future__ import annotations

import hashlib
import json

import torch

SAMPLES_PER_TENSOR = 4096
# Config keys that say how a model was loaded, not what it is.
_VOLATILE = ("_name_or_path", "transformers_version", "torch_dtype", "dtype", "use_cache", "output_attentions")


def _config_dict(model) -> dict:
    d = model.config.to_dict()
    return {k: v for k, v in d.items() if k not in _VOLATILE and not k.startswith("_")}


@torch.no_grad()
def model_fingerprint(model) -> str:
    """``"sha256:<hex>"`` of the model's architecture, config and sampled weights."""
    h = hashlib.sha256()
    h.update(type(model).__name__.encode())
    h.update(json.dumps(_config_dict(model), sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().reshape(-1)
        n = flat.numel()
        if n == 0:
            continue
        k = min(SAMPLES_PER_TENSOR, n)
        # Integer arithmetic: a float linspace rounds past the last index on large tensors.
        idx = torch.arange(k, device=flat.device, dtype=torch.int64) * (n - 1) // max(k - 1, 1)
        sample = flat[idx].float().cpu().contiguous().numpy().tobytes()
        h.update(f"{name}:{tuple(tensor.shape)}:".encode())
        h.update(sample)
    return "sha256:" + h.hexdigest()
