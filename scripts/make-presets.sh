#!/usr/bin/env bash
# Re-creates the shipped SmolLM2 presets: runs each length-bucket study in studies/presets/
# (7-12 minutes each on a 2-core CPU), then exports each task's buckets as one preset: 100
# held-out cases per bucket over 4 lengths (passkey 20 min, longchat 9 min); --force records a
# bucket whose gain is not shown as a finding (beats_baseline: false) instead of writing nothing.
# Usage: scripts/make-presets.sh [passkey|longchat ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=("${@:-passkey longchat}")
for task in ${tasks[*]}; do
    for f in studies/presets/smollm2-$task-*.toml; do
        .venv/bin/sra-search run "$f" --no-holdout
    done
    .venv/bin/sra-search export studies/presets/smollm2-$task-*.toml --holdout-cases 100 --range-cases 0 --to presets/ --force
done
