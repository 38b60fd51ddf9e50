"""Run Python as if some installed packages were not: the install layers, checked in one venv.

    python tests/install/hide_modules.py optuna,ray,... -c "CODE" [ARGS]
    python tests/install/hide_modules.py optuna,ray,... -m MODULE [ARGS]

Every import finder on ``sys.meta_path`` is wrapped so that a hidden top-level package is not
found: ``import optuna`` raises ``ModuleNotFoundError`` and ``importlib.util.find_spec`` returns
None, as in a venv without it (transformers' optional probes, e.g. for scipy, then skip it).
``HIDDEN`` is a set the code may shrink to install an extra part-way through.
"""

from __future__ import annotations

import sys

HIDDEN: set[str] = set()


class _Hiding:
    def __init__(self, finder) -> None:
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return self._finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self._finder, attr)


def hide(modules) -> None:
    HIDDEN.update(modules)
    already = sorted(m for m in sys.modules if m.partition(".")[0] in HIDDEN)
    if already:
        raise RuntimeError(f"already imported, cannot hide: {already[:5]}")
    sys.meta_path[:] = [f if isinstance(f, _Hiding) else _Hiding(f) for f in sys.meta_path]


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] not in ("-c", "-m"):
        raise SystemExit(__doc__)
    hide(m for m in sys.argv[1].split(",") if m)
    sys.modules["hide_modules"] = sys.modules["__main__"]
    if sys.argv[2] == "-m":  # as `python -m MODULE ARGS` (the module is found on PYTHONPATH, not in the cwd)
        import runpy

        module = sys.argv[3]
        sys.argv = [module, *sys.argv[4:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        raise SystemExit(0)
    code = sys.argv[3]
    sys.argv = ["-c", *sys.argv[4:]]
    exec(compile(code, "<hidden-modules>", "exec"), {"__name__": "__main__", "HIDDEN": HIDDEN})
