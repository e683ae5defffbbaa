"""One error hierarchy.

    AggregatorError              an expected, operational failure; says who and what
     +-- ConfigError             config.toml: file, key, what was expected      (exit 2)
     +-- UsageError              a command asked for what is not there or is     (exit 2)
     |                           already there: a feed name, a configured URL
     +-- OpmlError               an OPML file that cannot be imported            (exit 2)
     +-- FetchError              one feed or page: URL, status or cause          (feed failed)
     |    +-- DeferredError      Retry-After longer than we wait: deferred, not failed
     |    +-- RefusedError       the crawl guard refused a page's address (never retried)
     |    +-- DiscoveryError     a web page that leads to no feed: what was tried
     +-- ParseError              a document that is not a feed we can read       (feed failed)
     +-- StoreError              the database refused: locked, full, read-only   (exit 4)
     +-- OutputError             a post, Atom, JSON Feed or config file could   (exit 4)
          +-- PublishError       not be written (run/publish.py: every output
                                 that could be written was)

Anything else raised inside the pipeline is a bug: it is logged with its traceback and the
command exits 3. Library exceptions become ours at the border (``raise FetchError(...) from e``).
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every expected failure. ``subject`` names the culprit (feed, URL, file, key)."""

    def __init__(self, subject: str, message: str) -> None:
        super().__init__(subject, message)
        self.subject = subject
        self.message = message

    def __str__(self) -> str:
        text = f"{self.subject}: {self.message}" if self.subject else self.message
        cause = self.__cause__
        if cause is not None and str(cause) and str(cause) not in text:
            text += f" ({type(cause).__name__}: {cause})"
        return text


class ConfigError(AggregatorError):
    """A config file that cannot be used. ``subject`` is ``file`` or ``file: key``."""

    def __init__(self, path: str, message: str, key: str | None = None) -> None:
        super().__init__(f"{path}: {key}" if key else path, message)
        self.path = path
        self.key = key


class UsageError(AggregatorError):
    """A command that cannot do what it was asked, though the config is fine: a feed name that
    is not there (``prune``, ``enable``, ``fetch --feed``), a URL or name already configured
    (``add``). Its own words, never "config error"."""

    def __init__(self, message: str) -> None:
        super().__init__("", message)


class FetchError(AggregatorError):
    """A feed or page could not be fetched."""

    def __init__(
        self, url: str, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(url, message)
        self.url = url
        self.status = status
        self.retry_after = retry_after


class DeferredError(FetchError):
    """The server asked us to come back later than we are willing to wait now (Retry-After)."""


class RefusedError(FetchError):
    """A page host resolving to a loopback, private or otherwise non-public address."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(url, message, status=0)


class ParseError(AggregatorError):
    """A document that is not a feed we can read."""


class StoreError(AggregatorError):
    """The database refused the work (locked, disk full, read-only, newer schema)."""


class OutputError(AggregatorError):
    """A post, Atom or JSON Feed file could not be written."""


class DiscoveryError(FetchError):
    """A page that is not a feed and links to none we could read; says what was tried."""


class OpmlError(AggregatorError):
    """An OPML file that cannot be imported. ``subject`` is ``file`` or ``file: outline``."""
