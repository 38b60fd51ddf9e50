"""Drivers that share a study draw their own random streams (a fresh-clone CI run found two equal trials)."""

from __future__ import annotations

from sra_search.search.tuning import samplers, space
from sra_search.search.driver import Driver
from sra_search.search.studyfile.schema import load_study_file


def test_two_drivers_opening_an_empty_study_at_once_sample_different_parameters(tiny_model_dir, write_study, study_text, tmp_path):
    # Both open the study before either has asked a trial: the joiner sees 0 trials, as the
    # second of two drivers started together can. The old offset (seed + trials so far) gave it
    # the creator's seed, so both asked the same parameters.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    spec = load_study_file(write_study(study_text(tiny_model_dir, name="shared", storage=url,
                                                  extra="enqueue_paper_public = false")))
    first, second = Driver(spec), Driver(spec)
    first._driver_id, second._driver_id = "host-a:100", "host-b:100"  # two processes
    study_a = first.open_study()
    study_b = second.open_study()
    assert first._created and not second._created
    dists = space.distributions(spec.search_space)
    a = [study_a.ask(dists).params for _ in range(3)]
    b = [study_b.ask(dists).params for _ in range(3)]
    assert all(pa != pb for pa in a for pb in b)


def test_joined_seed_depends_on_seed_trials_and_driver():
    base = samplers.joined_seed(3, 0, "h:1")
    assert 0 <= base < 2**32 and base == samplers.joined_seed(3, 0, "h:1")
    assert len({base, samplers.joined_seed(4, 0, "h:1"), samplers.joined_seed(3, 1, "h:1"),
                samplers.joined_seed(3, 0, "h:2"), 3}) == 5
