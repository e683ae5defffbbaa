"""Logging set-up for every command: text or JSON lines on stderr, and secrets (per-feed header
values, proxy credentials) masked in every record whatever logged it."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from .config import Config

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"


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


class Redactor(logging.Filter):
    """Masks known secret strings in a record's message (arguments merged first)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, MASK)
            if masked != message:
                record.msg, record.args = masked, None
        return True


_redactor = Redactor()
_json_lines = False


def setup_logging(level: str, fmt: str = "text") -> None:
    global _json_lines
    _json_lines = fmt == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if _json_lines else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def report(text: str) -> None:
    """A line for the person at the terminal (a command's summary) on stderr, whatever the log
    level; with JSON logs it is one more JSON line, so stderr stays machine-readable."""
    if _json_lines:
        record = logging.LogRecord("aggregator.summary", logging.INFO, "", 0, text, None, None)
        text = JsonFormatter().format(record)
    print(text, file=sys.stderr)


def redact_secrets_of(config: Config) -> None:
    """From now on, mask the config's secrets in every log record."""
    _redactor.secrets = tuple(sorted(set(secrets_of(config)), key=len, reverse=True))


def secrets_of(config: Config) -> Iterable[str]:
    for feed in config.feeds:
        for _, value in feed.headers:
            if len(value) >= 4:  # "1" or "on" would mask every digit or word
                yield value
    if config.fetch.proxy:
        password = urlsplit(config.fetch.proxy).password
        if password:
            yield password
