"""Pure: the ``[storage] database`` value: which backend, and how messages may name it.

A PostgreSQL URL may carry a password (``postgresql://user:secret@host/db`` or
``?password=secret``); no error or log line shows it: messages use ``display_database`` and
library errors go through ``scrub``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

POSTGRES_SCHEMES = ("postgresql", "postgres")

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<rest>.*)$", re.S)
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#]*)")


def scheme(database: str) -> str:
    """The URL scheme, lower-cased; '' for a file path."""
    match = _URL.match(database)
    return match["scheme"].lower() if match else ""


def is_postgres(database: str) -> bool:
    return scheme(database) in POSTGRES_SCHEMES


def display_database(database: str) -> str:
    """The database as messages may name it: a URL's password replaced by ***."""
    match = _URL.match(database)
    if not match:
        return database
    userinfo, at, host = match["netloc"].rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    netloc = f"{userinfo}@{host}" if at else host
    rest = _QUERY_PASSWORD.sub(r"\1***", match["rest"])
    return f"{match['scheme']}://{netloc}{rest}"


def secrets(database: str) -> list[str]:
    """The URL's passwords, as written and percent-decoded, longest first."""
    match = _URL.match(database)
    if not match:
        return []
    userinfo, at, _ = match["netloc"].rpartition("@")
    found = [userinfo.partition(":")[2]] if at and ":" in userinfo else []
    found += [m[2] for m in _QUERY_PASSWORD.finditer(match["rest"])]
    both = {s for raw in found if raw for s in (raw, unquote(raw))}
    return sorted(both, key=len, reverse=True)


def scrub(text: str, database: str) -> str:
    """``text`` (a library's error message) with the database's passwords replaced by ***."""
    for secret in secrets(database):
        text = text.replace(secret, "***")
    return text
