"""Optional layers of the install: which extra brings which module, and a clear error when one is missing.

``pip install sra-search`` is the core: the runtime, the presets and the registry (applying a
preset to a model). The rest comes with extras, as ``pyproject.toml`` declares them:

- ``stats``: SciPy and statsmodels -- the paired tests of ``sra_search.statistics`` (``paired``, ``power``) (``export``'s
  gate, ``regress``, the verdicts); ``search`` and ``report`` include it.
- ``search``: Optuna (and its dashboard), Ray, SQLAlchemy with the PostgreSQL driver
  -- ``run``, ``status``, ``dashboard``, ``export``.
- ``tasks``: the data-set libraries and metrics of the real tasks (``datasets``, ``rouge-score``,
  ``jieba``); the synthetic tasks need none of them.
- ``serve``: FastAPI and uvicorn -- ``serve``.
- ``report``: matplotlib and the part of ``search`` that reading a study needs -- ``report``.
- ``all``: every one of them (``scripts/setup.sh`` installs it).

Library code that needs an extra calls :func:`require` before using it; the CLI turns a
:class:`MissingExtraError` -- or a plain ``ModuleNotFoundError`` of a module listed here --
into a one-line error naming the extra (see :func:`sra_search.cli.app.main`).
"""

from __future__ import annotations

import importlib.util

# extra -> top-level modules it provides (import names, not distribution names). A module in
# two extras (report reads studies with search's Optuna) belongs first to the earlier one.
EXTRAS: dict[str, tuple[str, ...]] = {
    "stats": ("scipy", "statsmodels", "patsy"),
    "search": ("optuna", "optuna_dashboard", "ray", "sqlalchemy", "psycopg2", "alembic", "scipy", "statsmodels", "patsy"),
    "tasks": ("datasets", "rouge_score", "jieba", "pyarrow", "nltk"),
    "serve": ("fastapi", "uvicorn", "starlette"),
    "report": ("matplotlib", "optuna", "sqlalchemy", "psycopg2", "alembic", "scipy", "statsmodels", "patsy"),
}

MODULE_EXTRA: dict[str, str] = {}
for _extra, _modules in EXTRAS.items():
    for _module in _modules:
        MODULE_EXTRA.setdefault(_module, _extra)
del _extra, _modules, _module


def install_hint(extra: str) -> str:
    return f"pip install 'sra-search[{extra}]'"


class MissingExtraError(ImportError):
    """A module of an optional extra is not installed.

    ``extra`` names the extra to install, ``name`` the missing module (as for ImportError).
    """

    def __init__(self, extra: str, module: str, what: str | None = None) -> None:
        self.extra = extra
        self.what = what
        where = f"{what} needs" if what else "this needs"
        super().__init__(
            f"{where} the [{extra}] extra (module '{module}' is not installed): {install_hint(extra)}",
            name=module,
        )


def extra_for(module: str | None, prefer: str | None = None) -> str | None:
    """The extra that provides ``module`` (a dotted name is read by its top level), or None.

    ``prefer``: an extra to name when it provides the module too (``report`` for Optuna when the
    command is ``report``), so the user installs the one extra the command needs.
    """
    if not module:
        return None
    top = module.split(".")[0]
    if prefer in EXTRAS and top in EXTRAS[prefer]:
        return prefer
    return MODULE_EXTRA.get(top)


def missing_extra(exc: BaseException, prefer: str | None = None) -> tuple[str, str] | None:
    """``(extra, module)`` when ``exc``, or an error it was raised ``from``, says that a module of
    an extra is not installed; None for any other error (a missing module no extra provides is
    a bug, not an install choice)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MissingExtraError):
            return extra_for(exc.name, prefer) or exc.extra, exc.name or "?"
        if isinstance(exc, ModuleNotFoundError):
            extra = extra_for(exc.name, prefer)
            if extra:
                return extra, exc.name.split(".")[0]
        exc = exc.__cause__  # explicit chains only: an error raised while handling one is another error
    return None


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def require(extra: str, *modules: str, what: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` is installed.

    ``modules``: the ones this caller needs (default: all the extra provides). ``what``: the
    feature, for the message, e.g. ``"the 'rouge' metric"``.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; one of {', '.join(EXTRAS)}")
    for module in modules or EXTRAS[extra]:
        if not is_installed(module):
            raise MissingExtraError(extra, module, what)
