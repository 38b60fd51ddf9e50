"""The study file (TOML): its schema and validation, the ``[pruner]`` and search-space tables,
the storage URLs this machine can open, task parameters as workers get them, and the checks run
before anything is written (preflight)."""
