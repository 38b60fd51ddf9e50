"""Storage URLs are recorded in presets and printed in logs: never with their password."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(?P<head>://[^/@:]+):[^/@]*@")


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return _PASSWORD.sub(r"\g<head>:***@", url)
