"""Storage URLs are printed in logs and recorded in presets: never with their password.

One function, :func:`redact_url`, for every URL shown anywhere. It parses nothing with a
database library (the core install has none) and assumes nothing about where a secret sits:
the password of the user part (which may itself hold ``/``, ``@`` or ``:``), and the value of
any query parameter named like a secret. A string it cannot read as ``scheme://...`` shows its
scheme only. :func:`scrub_secrets` removes the same secrets from a library's error message
about the URL (a driver or HTTP client may quote it).
"""

from __future__ import annotations

import re

MASK = "***"
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$", re.DOTALL)
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


def _redact_query(query: str) -> str:
    parts = []
    for item in query.split("&"):
        key, sep, _value = item.partition("=")
        parts.append(f"{key}={MASK}" if sep and _SECRET_KEY.search(key) else item)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db?sslpassword=x`` -> ``postgresql://user:***@host/db?sslpassword=***``."""
    text = str(url)
    m = _SCHEME.match(text)
    if m is None:
        scheme = text.split(":", 1)[0] if ":" in text else ""
        return f"{scheme}:{MASK}" if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme or "-") else MASK
    scheme, rest = m.group("scheme"), m.group("rest")
    body, qmark, query = rest.partition("?")
    # The user part ends at the last '@' before the query: a password may hold '/' and '@'.
    at = body.rfind("@")
    if at >= 0:
        userinfo, hostpart = body[:at], body[at + 1 :]
        user, colon, _password = userinfo.partition(":")
        if colon:
            body = f"{user}:{MASK}@{hostpart}"
    return f"{scheme}://{body}" + (f"?{_redact_query(query)}" if qmark else "")


def url_secrets(url: str) -> list[str]:
    """What :func:`redact_url` hides in ``url``: the password and secret-named query values, each
    as written and percent-decoded (a driver may quote either in its error message)."""
    from urllib.parse import unquote

    m = _SCHEME.match(str(url))
    if m is None:
        return []
    body, _, query = m.group("rest").partition("?")
    found = []
    at = body.rfind("@")
    if at >= 0:
        _user, colon, password = body[:at].partition(":")
        if colon:
            found.append(password)
    for item in query.split("&") if query else []:
        key, sep, value = item.partition("=")
        if sep and _SECRET_KEY.search(key):
            found.append(value)
    return [s for raw in found if raw for s in dict.fromkeys((raw, unquote(raw)))]


def scrub_secrets(text: str, url: str) -> str:
    """``text`` (an error message of a driver or an HTTP client) without any secret of ``url``.

    A secret of fewer than 4 characters cannot be masked without mangling the rest of the text,
    so a message that contains one is replaced as a whole."""
    out = str(text)
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        if secret in out:
            if len(secret) < 4:
                return "(details hidden: they contain the URL's password)"
            out = out.replace(secret, MASK)
    return out
