"""`benchmarks/heldout_scores.py`: held-out re-scores kept on disk and reused by a later run."""

import pytest

from benchmarks.heldout_scores import HeldOut

SRA = {"tau_in": 1.5, "s_in": 2.0}


def _held(path, **over):
    args = {"model_name": "smollm2-135m", "task": "niah", "params": {"length": 512, "needle": "multikey"}, "n": 200}
    args.update(over)
    return HeldOut(args.pop("model_name"), args.pop("task"), args.pop("params"), args.pop("n"), cache=path)


def test_a_later_run_reads_the_scores_back_without_loading_the_model(tmp_path):
    path = tmp_path / "heldout.pkl"
    first = _held(path)
    first.baseline, first.baseline_s = "baseline outcomes", 480.0
    first.cache['{"s_in": 2.0, "tau_in": 1.5}'] = "comparison"
    first._write()
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, then moved into place
    later = _held(path)
    assert (later.baseline, later.baseline_s) == ("baseline outcomes", 480.0)
    assert later.compare(SRA) == "comparison" and later.scored_now == 0  # cached: no model loaded, nothing scored
    assert later._model is None


@pytest.mark.parametrize("field,value", [("n", 100), ("params", {"length": 1024, "needle": "multikey"}), ("task", "passkey")])
def test_scores_of_other_cases_are_refused(tmp_path, field, value):
    path = tmp_path / "heldout.pkl"
    first = _held(path)
    first.baseline = "b"
    first._write()
    with pytest.raises(SystemExit, match="--heldout-cache .*give another file"):
        _held(path, **{field: value})


def test_without_a_cache_nothing_is_written(tmp_path):
    held = _held(None)
    held._write()
    assert held.path is None and not list(tmp_path.iterdir())
