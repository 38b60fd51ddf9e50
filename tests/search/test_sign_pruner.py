"""Racing's sign-test pruner for 0/1 outcomes: exact, calibrated by simulation, wired by the study file."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sra_search.search.strategies.registry import make_pruner
from sra_search.search.strategies.wilcoxon_pruner import RacingPruner
from sra_search.search.studyfile.schema import StudyFileError, load_study_file, parse_study
from sra_search.search.strategies.race_simulation import false_prune_rate
from sra_search.search.strategies.sign_pruner import SignTestPruner, looks, sign_p_value

STAGES = [8, 16, 32]


def test_exact_sign_p_values():
    assert sign_p_value(0, 4) == pytest.approx(1 / 16)
    assert sign_p_value(3, 3) == pytest.approx(42 / 64)  # P(X >= 3), X ~ Binomial(6, 1/2)
    assert sign_p_value(0, 0) == 1.0 and sign_p_value(5, 0) == 1.0
    assert looks(32, 4) == 7 and looks(16, 4) == 3 and looks(4, 4) == 1


@pytest.mark.parametrize("discordance", [0.05, 0.2, 0.5, 0.9])
def test_a_trial_as_good_as_the_incumbent_is_pruned_at_most_alpha_of_the_time(discordance):
    # Bonferroni over the looks bounds it by alpha; measured, it is well below.
    rate = false_prune_rate(discordance, STAGES, 4, 0.1, sims=8000, seed=1)
    assert rate <= 0.1
    # ... and alpha is what decides: a far looser rule (alpha spent at every look) prunes more.
    assert false_prune_rate(discordance, STAGES, 4, 0.1 * looks(32, 4), sims=8000, seed=1) >= rate


def test_a_trial_that_breaks_what_the_incumbent_answers_is_pruned():
    # Half the cases discordant, all against the trial: pruned in nearly every race.
    assert false_prune_rate(0.5, STAGES, 4, 0.1, worse_by=1.0, sims=4000) > 0.95
    assert false_prune_rate(0.3, STAGES, 4, 0.1, worse_by=1.0, sims=4000) > 0.6


def _study_with_incumbent(gains: list[float]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    inc = optuna.trial.create_trial(
        value=sum(gains) / len(gains), intermediate_values=dict(enumerate(gains)), state=TrialState.COMPLETE,
        user_attrs={"sra": {}}, system_attrs={},
    )  # fmt: skip
    study.add_trial(inc)
    return study


def test_the_pruner_pairs_a_trial_with_the_incumbent_case_by_case():
    study = _study_with_incumbent([1.0] * 8)  # the incumbent fixed all 8 cases
    pruner = SignTestPruner(0.1, looks(32, 4))  # 0.1 / 7 per look
    broke7 = optuna.trial.create_trial(value=0.0, intermediate_values={i: (0.0 if i < 7 else 1.0) for i in range(8)})
    broke6 = optuna.trial.create_trial(value=0.0, intermediate_values={i: (0.0 if i < 6 else 1.0) for i in range(8)})
    assert pruner.prune(study, broke7)  # 7 of 7 discordant against: p = 1/128 <= 0.0143
    assert not pruner.prune(study, broke6)  # p = 1/64 > 0.0143


STUDY = """
name = "s"
model = "m"
[[tasks]]
name = "passkey"
cases = {{ search = 32 }}
chunk = 4
[search_space]
s_in = {{ low = 1.0, high = 2.0 }}
[objective]
target = "delta"
[pruner]
{pruner}
[budget]
trials = 2
"""


def test_the_study_file_chooses_the_sign_test():
    spec = parse_study(STUDY.format(pruner='kind = "racing"\ntest = "sign"\np_threshold = 0.05'))
    pruner = make_pruner(spec)
    assert isinstance(pruner, SignTestPruner) and pruner.looks == 7 and pruner.per_look == pytest.approx(0.05 / 7)
    assert isinstance(make_pruner(parse_study(STUDY.format(pruner='kind = "racing"'))), RacingPruner)
    with pytest.raises(StudyFileError, match="n_startup_steps: not used by test = 'sign'"):
        parse_study(STUDY.format(pruner='kind = "racing"\ntest = "sign"\nn_startup_steps = 2'))
    with pytest.raises(StudyFileError, match="test: only for kind = 'racing'"):
        parse_study(STUDY.format(pruner='kind = "median"\ntest = "sign"'))


def test_studies_that_do_not_name_a_test_keep_their_definition_hash():
    # The hash decides whether a stored study may resume; racing studies made before `test`
    # existed must still match (measured on the commit before it).
    assert load_study_file("studies/smollm2-passkey.toml").definition_hash() == "f79386a7010008a7"
