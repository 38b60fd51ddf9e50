"""Fault figures of the search service: what survives a killed driver, killed workers, a storage
outage, and two drivers sharing one study on PostgreSQL.

    PYTHONPATH=. .venv/bin/python -m benchmarks.reliability                     # every scenario, full counts
    PYTHONPATH=. .venv/bin/python -m benchmarks.reliability --only driver --driver-kills 20
    PYTHONPATH=. .venv/bin/python -m benchmarks.reliability --json              # one JSON object on stdout

Scenarios (each on a 4-layer random Llama with SmolLM2's tokenizer, real passkey and perplexity
tasks, a local Ray with 2 CPUs; PostgreSQL from scripts/postgres.sh, started and stopped here):

- ``driver``: the driver (a ``sra-search run`` subprocess) SIGKILLed at uniformly random moments,
  ``--driver-kills`` times over one study, then run once more to its budget. Checked: every trial
  seen COMPLETE/PRUNED after any kill is still so with the same value; the budget is met exactly;
  nothing is left RUNNING/WAITING; each trial failed as stale is retried at most once.
- ``worker``: a busy worker actor SIGKILLed mid-trial (after its first chunk) ``--worker-kills``
  times, each time in a different original (not retried) trial. Checked: each such trial ends FAIL
  with a ``fail_reason`` naming the dead worker, is retried exactly once with the same
  parameters, and the study completes to its budget.
- ``outage``: PostgreSQL stopped (``pg_ctl stop -m immediate``) for ``--outage-s`` seconds,
  ``--outages`` times during a study. Checked: the driver logs that the storage is unreachable and
  that it is back, completes to budget, no trial is recorded twice.
- ``shared``: two driver processes start together on the same study on an empty PostgreSQL
  database (so both create the schema). Checked: no trial duplicated (no two finished trials with
  the same parameters), none lost (every trial finished, none RUNNING), no trial failed.

The tests in tests/hardening/ run the same functions with smaller counts. Prints the command,
the machine, the counts and the measured numbers. Modules: ``servers`` (PostgreSQL, the machine),
``study`` (the tiny model and study file), ``invariants`` (what every scenario must keep),
``scenarios`` (the four faults), ``__main__`` (the command line). The scenarios read the driver
only through its public API (``Driver.in_flight()``, ``Driver.storage``).
"""

from __future__ import annotations

from benchmarks.reliability.invariants import check_study, finished_snapshot
from benchmarks.reliability.scenarios import driver_kills, shared_study, storage_outage, worker_kills
from benchmarks.reliability.servers import PG_SCRIPT, REPO, Postgres, machine
from benchmarks.reliability.study import make_tiny_model, study_text

__all__ = [
    "PG_SCRIPT", "REPO", "Postgres", "check_study", "driver_kills", "finished_snapshot", "machine",
    "make_tiny_model", "shared_study", "storage_outage", "study_text", "worker_kills",
]  # fmt: skip
