"""Search service: Optuna studies of SRA settings, evaluated by Ray worker actors, stored in SQL.

- :mod:`~sra_search.search.schema`: the study file (TOML) and its validation; :mod:`~sra_search.search.params`
  the SRA parameter names and loop-switch rule it shares with the space.
- :mod:`~sra_search.search.space`: search space -> Optuna distributions -> ``SRAConfig``.
- :mod:`~sra_search.search.samplers`: Optuna sampler and pruner of a study (racing: ``RacingPruner``).
- :mod:`~sra_search.search.pruner_spec`: the ``[pruner]`` table and what racing needs of the study file.
- :mod:`~sra_search.search.pruning`: what is reported to the pruner after each chunk; racing's stages.
- :mod:`~sra_search.search.objective`: objective and constraint values of a trial.
- :mod:`~sra_search.search.task_params`: task parameters as workers get them (file paths, checks).
- :mod:`~sra_search.search.preflight`: the checks of a study file before anything is written (model, files, first cases).
- :mod:`~sra_search.search.toml_positions`: the line of each key of a study file; keys set twice.
- :mod:`~sra_search.search.jobs`: ``Job`` (a chunk of cases) and ``ChunkResult``, between driver and worker.
- :mod:`~sra_search.search.worker`: the Ray actor that keeps the model loaded.
- :mod:`~sra_search.search.pool`: the actors: start, death, probe, restart, map with retry.
- :mod:`~sra_search.search.baselines`: the cached no-SRA baseline and the holdout re-score.
- :mod:`~sra_search.search.trial`: one trial in flight and what its chunks add up to.
- :mod:`~sra_search.search.progress`: budget rules, ETA, progress snapshots.
- :mod:`~sra_search.search.driver`: open or resume the study; the ask-and-tell loop.
- :mod:`~sra_search.search.definition`: a stored study's definition: create, resume, refuse, or replace one that never ran.
- :mod:`~sra_search.search.results`: best feasible trial, Pareto front, trial summaries.
- :mod:`~sra_search.search.heartbeat`: trial heartbeats under ask-and-tell, stale-trial recovery.
- :mod:`~sra_search.search.storage`: Optuna RDB storage (SQLite default, PostgreSQL); every command opens one here.
- :mod:`~sra_search.search.storage_url`: which storage URLs work on this machine (``postgresql://`` -> installed driver).
- :mod:`~sra_search.search.optuna_private`: the few Optuna internals used, in one place.
- :mod:`~sra_search.search.status`: what a storage holds.
- :mod:`~sra_search.search.export`: best trials of studies -> a preset version (held-out re-check).
- :mod:`~sra_search.search.examples`: the tiny study the search tests and the reliability benchmark run.

Importing this package does not import torch or ray.
"""

from __future__ import annotations

from sra_search.search.schema import StudyFile, StudyFileError, load_study_file, parse_study

__all__ = ["StudyFile", "StudyFileError", "load_study_file", "parse_study"]
