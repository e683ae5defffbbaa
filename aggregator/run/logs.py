"""Logging set-up for every command: text or JSON lines on stderr, and secrets (per-feed header
values, proxy and database passwords) masked in every line whatever wrote it: a log record, its
traceback, a command's summary or its error message."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from ..config import Config, secret_values
from ..edges.store.dsn import secrets as url_passwords

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
_MIN_SECRET = 4  # "1" or "on" would mask every digit or word


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, RFC 3339), level, logger, message[, error]."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """Another formatter's output with the known secrets masked: after formatting, so the
    arguments, the traceback and any JSON escaping are covered alike."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner
        self.secrets: tuple[str, ...] = ()

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(self.inner.format(record))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


_formatter = MaskingFormatter(logging.Formatter(TEXT_FORMAT))
_json_lines = False


def setup_logging(level: str, fmt: str = "text") -> None:
    global _json_lines
    _json_lines = fmt == "json"
    _formatter.inner = JsonFormatter() if _json_lines else logging.Formatter(TEXT_FORMAT)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # httpx logs every request at info ("HTTP Request: GET ..."), which would double each
    # fetch line: the libraries' chatter is for --log-level debug.
    chatter = logging.NOTSET if level.lower() == "debug" else logging.WARNING
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(chatter)


def report(text: str) -> None:
    """A line for the person at the terminal (a summary, an error) on stderr, whatever the log
    level; with JSON logs it is one more JSON line, so stderr stays machine-readable."""
    if _json_lines:
        record = logging.LogRecord("aggregator", logging.INFO, "", 0, text, None, None)
        print(_formatter.format(record), file=sys.stderr)
    else:
        print(_formatter.mask(text), file=sys.stderr)


def redact_secrets_of(config: Config) -> None:
    """From now on (again after a reload), mask the config's secrets in every line."""
    found = {s for s in secrets_of(config) if len(s) >= _MIN_SECRET}
    # Longest first: a secret that contains another is masked whole.
    _formatter.secrets = tuple(sorted(found, key=len, reverse=True))


def secrets_of(config: Config) -> Iterable[str]:
    """What the keys config/keys.py declares secret hold: header values, URL passwords."""
    for value in secret_values(config):
        if isinstance(value, str):  # a URL: the proxy, the database
            yield from url_passwords(value)
        elif isinstance(value, tuple):  # (name, value) pairs: headers
            yield from (pair[1] for pair in value)
        else:  # a new kind of secret: say how to find what it holds
            raise TypeError(f"no way to mask a secret {type(value).__name__}")
