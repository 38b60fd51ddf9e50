"""What a published preset records of where it was made: the git revision and package versions."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("sra-search", "torch", "transformers", "optuna", "ray", "sqlalchemy", "scipy", "statsmodels")


def git_revision() -> str | None:
    """The commit the project is at, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a measurement depends on."""
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out
