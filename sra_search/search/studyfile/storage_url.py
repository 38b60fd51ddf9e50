"""Which storage URLs work on this machine, and the URL SQLAlchemy is given for one.

Every command that opens a storage goes through :func:`usable_url` (``resolve_storage_url`` checks
a URL with it before anything runs, ``storage.open_storage`` before it connects), so a URL that
cannot work is refused in one line naming the URL forms that do, with the password hidden:

- ``postgresql://`` and ``postgres://`` (no driver named) mean the PostgreSQL driver that is
  installed: SQLAlchemy 2.1 maps the plain form to ``psycopg`` (version 3), while the ``[search]``
  extra installs ``psycopg2``, so the plain form would fail with an ImportError;
- a named driver that is not installed (``mysql+pymysql``), an asyncio driver (Optuna's storage
  is synchronous) or an unknown database is refused before any connection is tried;
- for commands that only read (``status``, ``dashboard``, ``report``, ``export``) a SQLite file
  that does not exist is refused instead of being created with its directories.
"""

from __future__ import annotations

from pathlib import Path

from sra_search.urls import redact_url, scrub_secrets

# Tried in this order for a URL that names no PostgreSQL driver: the [search] extra's first.
_POSTGRES_DRIVERS = ("psycopg2", "psycopg")
_PLAIN_POSTGRES = ("postgresql", "postgres")

# URL forms shown when a URL cannot be used: (SQLAlchemy drivername, the form to show).
_FORMS = (
    ("sqlite", "sqlite:///PATH"),
    ("postgresql+psycopg2", "postgresql://USER:PASSWORD@HOST:PORT/DB"),
    ("postgresql+psycopg2", "postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DB"),
    ("postgresql+psycopg", "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"),
    ("mysql+pymysql", "mysql+pymysql://USER:PASSWORD@HOST:PORT/DB"),
    ("mysql+mysqldb", "mysql+mysqldb://USER:PASSWORD@HOST:PORT/DB"),
)


class StorageURLError(ValueError):
    """A storage URL that cannot be used here; the message hides the password and names the fix."""


def _driver_installed(drivername: str) -> bool:
    """The SQLAlchemy dialect and its DB-API module import (nothing connects)."""
    from sqlalchemy.engine import make_url

    try:
        dialect = make_url(f"{drivername}://").get_dialect()
        dialect.import_dbapi()
    except Exception:  # noqa: BLE001 - a missing plugin or module both mean "not usable"
        return False
    return not getattr(dialect, "is_async", False)


def working_forms() -> str:
    """The URL forms that work on this machine, for error messages."""
    return ", ".join(form for driver, form in _FORMS if _driver_installed(driver))


def _postgres_driver() -> str | None:
    return next((d for d in _POSTGRES_DRIVERS if _driver_installed(f"postgresql+{d}")), None)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or an in-memory one)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _refuse(url: str, why: str) -> StorageURLError:
    return StorageURLError(f"storage URL {redact_url(url)!r}: {why}; URLs that work here: {working_forms()}")


def usable_url(url: str, *, must_exist: bool = False) -> str:
    """The URL to give SQLAlchemy for ``url``, or :class:`StorageURLError`.

    ``postgresql://`` gets the installed PostgreSQL driver; a driver that is not installed, an
    asyncio driver or an unknown database is refused. With ``must_exist`` a SQLite file must
    already be there (read-only commands never create one).
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - whatever SQLAlchemy cannot parse
        raise _refuse(url, "not an SQLAlchemy URL") from None
    if parsed.drivername in _PLAIN_POSTGRES:
        driver = _postgres_driver()
        if driver is None:
            raise _refuse(url, "no PostgreSQL driver is installed (pip install 'sra-search[search]')")
        parsed = parsed.set(drivername=f"postgresql+{driver}")
    try:
        dialect = parsed.get_dialect()
    except Exception:  # noqa: BLE001 - NoSuchModuleError: no such database plugin
        raise _refuse(url, f"unknown database {parsed.get_backend_name()!r}") from None
    if getattr(dialect, "is_async", False):
        raise _refuse(url, f"{dialect.driver!r} is an asyncio driver, which Optuna's storage cannot use")
    try:
        dialect.import_dbapi()
    except ImportError:
        raise _refuse(url, f"its driver {dialect.driver!r} is not installed") from None
    engine = parsed.render_as_string(hide_password=False)
    path = sqlite_path(engine)
    if must_exist and path is not None and not path.is_file():
        raise StorageURLError(f"no storage at {redact_url(url)} (run a study first, or pass --storage)")
    return engine


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message) with the secrets of ``url`` masked (``urls.scrub_secrets``)."""
    return scrub_secrets(text, url)
