"""Where studies live: Optuna's RDB storage (SQLite by default, PostgreSQL when shared) with
retries (``rdb``), a stored study's definition (create, resume, refuse), trial heartbeats and
stale-trial recovery (``heartbeat``), and the few Optuna internals used (``optuna_private``).
Which storage URLs work on this machine is the study file's check (``studyfile/storage_url.py``)."""
