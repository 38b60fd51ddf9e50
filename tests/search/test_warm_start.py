"""Warm start: a new study runs the configs of earlier presets first (after the paper's)."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sra_search.presets import publish
from sra_search.search.tuning import space
from sra_search.search.driver import Driver, RunOptions
from sra_search.search.studyfile.schema import StudyFileError, load_study_file
from tests.presets.conftest import LONG, SHORT, make_preset


def _driver(tmp_path, tiny_model_dir, write_study, study_text, warm: str) -> Driver:
    url = f"sqlite:///{tmp_path / 'warm.db'}"
    path = write_study(study_text(tiny_model_dir, name="warm", storage=url, extra=f"warm_start = {warm}"))
    return Driver(load_study_file(path), RunOptions(base_dir=str(path.parent)))  # as `run` sets it


def test_a_new_study_enqueues_every_bucket_of_the_named_presets(tiny_model_dir, write_study, study_text, tmp_path):
    _, preset_path = publish(make_preset(), tmp_path / "presets")  # inside the study file's folder  # buckets SHORT [0-60], LONG [61-200]
    d = _driver(tmp_path, tiny_model_dir, write_study, study_text, f'["{preset_path}"]')
    d.check_tasks()
    study = d.open_study()
    d._enqueue_first(study)
    waiting = study.get_trials(states=[TrialState.WAITING])
    assert [t.user_attrs["origin"] for t in waiting] == [
        "paper_public", "warm_start:tiny-llama/passkey v1 [0-60]", "warm_start:tiny-llama/passkey v1 [61-200]",
    ]
    # The study's space fixes s_ou = 5 and offers c_e in [8, 16, 32]: the varying values are enqueued.
    asked = [study.ask(space.distributions(d.spec.search_space)) for _ in range(3)]
    for t, cfg in zip(asked[1:], (SHORT, LONG)):
        assert t.params == {"tau_in": cfg.tau_in, "tau_ou": cfg.tau_ou, "s_in": cfg.s_in, "c_s": cfg.c_s, "c_e": cfg.c_e}
    # Only the creator of a new study enqueues: a resumed one adds nothing.
    again = _driver(tmp_path, tiny_model_dir, write_study, study_text, f'["{preset_path}"]')
    again.check_tasks()
    again._enqueue_first(again.open_study())
    assert len(optuna.load_study(study_name="warm", storage=d.url).trials) == 3


@pytest.mark.parametrize("make, said", [
    (lambda tmp: str(tmp / "nope.json"), r"warm_start\[0\]: no such file"),
    (lambda tmp: (tmp / "x.json").write_text("{}") and str(tmp / "x.json"), r"warm_start\[0\]: .* is not a preset file"),
])  # fmt: skip
def test_a_bad_warm_start_entry_is_named_before_anything_is_stored(make, said, tiny_model_dir, write_study, study_text, tmp_path):
    d = _driver(tmp_path, tiny_model_dir, write_study, study_text, f'["{make(tmp_path)}"]')
    with pytest.raises(StudyFileError, match=said):
        d.check_tasks()
    assert not (tmp_path / "warm.db").exists()


def test_a_config_the_study_already_ran_is_pruned_before_any_case(tiny_model_dir, ray_local, write_study, study_text, tmp_path):
    """A sampler that proposes a config again (TPE's seeded start-up draws repeat those of the
    study a warm-start preset came from) costs a trial number, not cases: the repeat is pruned
    with ``duplicate_of``; a sampler with nothing new left stops the run."""
    from sra_search.search.progress import MAX_REPEATS_IN_ROW

    url = f"sqlite:///{tmp_path / 'repeat.db'}"
    text = study_text(tiny_model_dir, name="repeat", storage=url, trials=MAX_REPEATS_IN_ROW + 5,
                      extra="enqueue_paper_public = false")  # fmt: skip
    # One point in the whole space: every proposal after the first is a repeat.
    for line in ("tau_in = { low = 0.05, high = 2.0, log = true }", "tau_ou = { low = 0.05, high = 2.0, log = true }",
                 "s_in = { low = 1.0, high = 8.0 }", "c_s = { low = 0, high = 8 }", "c_e = { choices = [8, 16, 32] }"):  # fmt: skip
        name = line.split(" ")[0]
        text = text.replace(line, {"c_e": "c_e = { choices = [8] }"}.get(name, f"{name} = {{ fixed = 1.0 }}" if name != "c_s" else "c_s = { fixed = 2 }"))
    summary = Driver(load_study_file(write_study(text)), RunOptions(holdout=False)).run()
    trials = optuna.load_study(study_name="repeat", storage=url).trials
    assert trials[0].state == TrialState.COMPLETE and "duplicate_of" not in trials[0].user_attrs
    repeats = trials[1:]
    assert len(repeats) == MAX_REPEATS_IN_ROW  # then the run stopped, short of its trial budget
    assert all(t.state == TrialState.PRUNED and t.user_attrs["duplicate_of"] == 0 for t in repeats)
    assert all(not t.intermediate_values and "outcomes" not in t.user_attrs for t in repeats)  # no case was scored
    assert summary.trials["complete"] == 1 and summary.trials["pruned"] == MAX_REPEATS_IN_ROW
