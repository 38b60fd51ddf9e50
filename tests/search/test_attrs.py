"""Every user attribute the search stores is declared once, in ``search/storage/attrs.py``."""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from sra_search.search.storage import attrs

ROOT = Path(__file__).resolve().parents[2]
BARE = re.compile(r"""(set_user_attr\(\s*["']|user_attrs\.get\(\s*["']|user_attrs\[\s*["'])""")


def _declared() -> list[attrs.Attr]:
    return [v for v in vars(attrs).values() if isinstance(v, attrs.Attr)]


def test_keys_are_unique_and_documented():
    keys = [a.key for a in _declared()]
    assert len(keys) == len(set(keys)), f"a key declared twice: {sorted(keys)}"
    assert len(keys) >= 20 and all(a.doc for a in _declared())


def test_no_module_writes_or_reads_an_attribute_by_a_bare_string():
    hits = []
    for folder in ("sra_search", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "attrs.py":
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if BARE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, "declare the attribute in search/storage/attrs.py and use it:\n" + "\n".join(hits)


def test_typed_reader_round_trips_on_a_study_and_its_trials():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    attrs.CONFIG.set(trial, {"tau_in": 0.5})
    attrs.PERPLEXITY_RATIO.set(trial, 1.02)
    frozen = study.tell(trial, 0.1)
    assert attrs.CONFIG.get(frozen) == {"tau_in": 0.5} and attrs.PERPLEXITY_RATIO.get(frozen) == 1.02
    assert attrs.RACING.get(frozen) is None and not attrs.RACING.is_on(frozen) and attrs.RACING.get(frozen, {}) == {}
    attrs.FAILED_EARLY.set(study, None)
    assert attrs.FAILED_EARLY.is_on(study) and attrs.FAILED_EARLY.get(study) is None
    study.set_user_attr(f"{attrs.BASELINE_PREFIX}passkey:search:x", {"score": 0.5})
    study.set_user_attr(f"{attrs.BASELINE_PREFIX}broken", "not a record")
    assert list(attrs.baselines_of(study)) == [f"{attrs.BASELINE_PREFIX}passkey:search:x"]
    stored = study.user_attrs  # read once, then every attribute from it
    assert attrs.baselines_of(stored) == attrs.baselines_of(study)
    assert attrs.FAILED_EARLY.is_on(stored) and attrs.MODEL.get(stored, "none") == "none"
