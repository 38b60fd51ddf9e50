"""Search service: Optuna studies of SRA settings, evaluated by Ray worker actors, stored in SQL.

Laid out by what the parts do, lowest first (an import goes to the same level or a lower one;
``tests/architecture/test_layers.py`` checks it):

1. :mod:`~sra_search.search.studyfile`: the study file (TOML), its validation, the storage URLs
   this machine can open, and the preflight checks run before anything is written.
2. :mod:`~sra_search.search.storage`: Optuna's RDB storage, a stored study's definition,
   heartbeats and stale-trial recovery. :mod:`~sra_search.search.tuning`: the search space,
   the sampler, warm-start configs. :mod:`~sra_search.search.execution`: jobs, the Ray worker
   actor and its pool.
3. The trial loop's records: :mod:`~sra_search.search.results` (ranking, best feasible trial,
   the user-attribute names), :mod:`~sra_search.search.objective`,
   :mod:`~sra_search.search.baselines`, :mod:`~sra_search.search.trial`,
   :mod:`~sra_search.search.progress`, :mod:`~sra_search.search.status`.
4. :mod:`~sra_search.search.strategies`: how a trial's cases are scheduled, when it stops and
   how trials are ranked (fixed chunks with Optuna's pruners; racing), behind one interface.
5. :mod:`~sra_search.search.decisions`: what a finished search decides (export to a preset
   version: plan, measure, gate, publish; the best trial's evidence).
6. :mod:`~sra_search.search.driver`: opens or resumes the study; the ask-and-tell loop.

Importing this package does not import torch or ray.
"""

from __future__ import annotations

from sra_search.search.studyfile.schema import StudyFile, StudyFileError, load_study_file, parse_study

__all__ = ["StudyFile", "StudyFileError", "load_study_file", "parse_study"]
