#!/usr/bin/env bash
# Re-creates the shipped SmolLM2 presets: runs each length-bucket study in studies/presets/
# (7-20 minutes each on a 2-core CPU), then exports each task's buckets as one preset through the
# gate: held-out cases per bucket over 4 lengths (passkey 20 min, longchat 9 min, niah-multikey
# ~25 min), 48 more on the template the search never saw; --force records a bucket whose gain is
# not shown as a finding (beats_baseline: false) instead of writing nothing. Each export is an
# attempt in presets/<model>/<task>/attempts.json: re-running it unchanged re-uses its held-out
# cases and writes nothing new; any change is a new attempt on new cases.
# Usage: scripts/make-presets.sh [passkey|longchat|niah-multikey ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=("${@:-passkey longchat niah-multikey}")
for task in ${tasks[*]}; do
    for f in studies/presets/smollm2-$task-*.toml; do
        .venv/bin/sra-search run "$f" --no-holdout
    done
    case $task in
        # Free answers with room: the bucket's lengths are chosen from search cases first.
        niah-multikey) range=(--range-cases 12) ;;
        # The primed passkey and longchat studies were exported over their whole range.
        *) range=(--range-cases 0) ;;
    esac
    .venv/bin/sra-search export studies/presets/smollm2-$task-*.toml --holdout-cases 100 "${range[@]}" --to presets/ --force
done
