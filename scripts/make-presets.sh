#!/usr/bin/env bash
# Re-creates the shipped SmolLM2 presets: runs each length-bucket study in studies/presets/
# (about 12 minutes each on a 2-core CPU), then exports each task's buckets as one preset.
# Usage: scripts/make-presets.sh [passkey|longchat ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=("${@:-passkey longchat}")
for task in ${tasks[*]}; do
    for f in studies/presets/smollm2-$task-*.toml; do
        .venv/bin/sra-search run "$f" --no-holdout
    done
    .venv/bin/sra-search export studies/presets/smollm2-$task-*.toml --to presets/
done
