"""Storage URLs are printed in logs and recorded in presets: never with their password."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(?P<head>://[^/@:]+):[^/@]*@")


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: still never show what looks like a password
        return _PASSWORD.sub(r"\g<head>:***@", url)
