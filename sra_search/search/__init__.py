"""Search service: Optuna studies of SRA settings, evaluated by Ray worker actors, stored in SQL.

- :mod:`~sra_search.search.schema`: the study file (TOML) and its validation.
- :mod:`~sra_search.search.space`: search space -> Optuna distributions -> ``SRAConfig``.
- :mod:`~sra_search.search.samplers`: Optuna sampler and pruner of a study.
- :mod:`~sra_search.search.objective`: objective and constraint values of a trial.
- :mod:`~sra_search.search.worker`: the Ray actor that keeps the model loaded.
- :mod:`~sra_search.search.driver`: ask-and-tell loop, baselines, resume, holdout.
- :mod:`~sra_search.search.heartbeat`: trial heartbeats under ask-and-tell, stale-trial recovery.
- :mod:`~sra_search.search.storage`: Optuna RDB storage (SQLite default, PostgreSQL).
- :mod:`~sra_search.search.status`: what a storage holds.
- :mod:`~sra_search.search.examples`: the tiny study the search tests and the reliability benchmark run.

Importing this package does not import torch or ray.
"""

from __future__ import annotations

from sra_search.search.schema import StudyFile, StudyFileError, load_study_file, parse_study

__all__ = ["StudyFile", "StudyFileError", "load_study_file", "parse_study"]
