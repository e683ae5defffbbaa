"""The fetcher: one httpx.AsyncClient per pass, global and per-host limits, conditional GET,
a size cap enforced while streaming, a whole-request timeout, bounded retries with backoff
and Retry-After. Local paths and file: URLs are read with the same cap (the offline example).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import time
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from ...config import FeedConfig, FetchConfig
from ...errors import DeferredError, FetchError, RefusedError
from ...models import FetchResult
from . import backend
from .decode import BoundedDecoder, DecodeError, UnsupportedEncoding
from .guard import Guard, RefusedAddress, own_headers, strip_foreign_headers
from .policy import (
    RETRY_STATUSES,
    THROTTLE_STATUSES,
    backoff_delay,
    describe_status,
    is_permanent_move,
    parse_retry_after,
)
from .robots import RobotsCache

log = logging.getLogger(__name__)

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, "
    "application/feed+json, application/json;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.8"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# What a feed's `source` asks for: a web page, a JSON API, else a feed document.
SOURCE_ACCEPT = {"html": PAGE_ACCEPT, "json": "application/json, */*;q=0.5"}
_CHUNK = 64 * 1024


class Fetcher:
    """Use as ``async with Fetcher(config, trusted=feed_urls) as fetcher``: one client, shared
    limits. ``trusted``: the configured feed URLs, whose servers (host and port) are the
    user's choice and may be on their own network; every other server (article pages,
    discovered feeds, redirect targets) goes through the address guard unless allow_private."""

    def __init__(self, config: FetchConfig, trusted: Iterable[str] = ()) -> None:
        self.config = config
        self._global = asyncio.Semaphore(config.concurrency)
        # Per-host limits, dropped once no request holds or awaits them: article links are
        # the feeds' choice, and a daemon would otherwise keep one per host ever seen.
        self._hosts: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary()
        )
        self._guard = None if config.allow_private else Guard()
        self.trust(trusted)
        self._client = _client(config, self._guard)
        self.robots = RobotsCache(self._robots_txt)

    def trust(self, feed_urls: Iterable[str]) -> None:
        """The configured feeds' servers (host and port), exempt from the address guard
        (again after a reload)."""
        if self._guard is not None:
            self._guard.trust(feed_urls)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def fetch_feed(
        self, url: str, feed: FeedConfig, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed (or a source's page). Raises FetchError (or DeferredError) naming
        the URL."""
        if urlsplit(url).scheme.lower() == "file":
            return await asyncio.to_thread(read_local_feed, url, etag, self.config.max_bytes)
        headers = {"Accept": SOURCE_ACCEPT.get(feed.source, ACCEPT)}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._polite(url, feed, headers)

    async def fetch_page(self, url: str, feed: FeedConfig) -> FetchResult:
        """Fetch an article page linked from ``feed``: http(s) only, robots.txt honoured, the
        address guard applied; the feed's User-Agent, timeout and (on its own origin) headers."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise FetchError(url, "not an http(s) page", status=0)
        try:
            allowed = await self.robots.allowed(url, feed.user_agent or self.config.user_agent)
        except RefusedError as e:  # found on the way to robots.txt: the page's host is refused
            raise RefusedError(url, e.message) from None
        if not allowed:
            raise FetchError(url, "disallowed by robots.txt", status=0)
        return await self._polite(url, feed, {"Accept": PAGE_ACCEPT})

    async def _robots_txt(self, url: str) -> FetchResult:
        async with self._host_limit(url), self._global:
            return await self._attempt(url, {"Accept": "text/plain, */*;q=0.5"}, {}, None)

    async def _polite(self, url: str, feed: FeedConfig, headers: dict[str, str]) -> FetchResult:
        """Within the global and per-host limits, with retries. The feed's own headers (an
        access key) go only to the origin of its configured URL, redirects included."""
        if feed.user_agent:
            headers["User-Agent"] = feed.user_agent
        headers |= dict(feed.headers)
        extensions = own_headers(feed.url, [name for name, _ in feed.headers])
        timeout = feed.timeout or self.config.timeout
        async with self._host_limit(url), self._global:
            return await self._with_retries(url, headers, extensions, timeout)

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).hostname or ""
        limit = self._hosts.get(host)
        if limit is None:
            limit = self._hosts[host] = asyncio.Semaphore(self.config.per_host)
        return limit

    async def _with_retries(
        self, url: str, headers: dict[str, str], extensions: dict[str, Any], timeout: float
    ) -> FetchResult:
        started = _monotonic()
        attempt = 0
        while True:
            try:
                return await self._attempt(url, headers, extensions, timeout)
            except FetchError as e:
                wait = self._retry_wait(e, attempt)
                if wait is None:
                    if attempt == 0:
                        raise
                    # The last attempt's words alone hide the retries: "timed out after 30 s"
                    # when the feed took 92 s in all.
                    raise _after_attempts(e, attempt + 1, _monotonic() - started) from None
            attempt += 1
            log.debug("retrying %s in %.1fs (attempt %d)", url, wait, attempt)
            await asyncio.sleep(wait)

    def _retry_wait(self, error: FetchError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None to give up (and re-raise)."""
        transient = error.status is None or error.status in RETRY_STATUSES
        if not transient or isinstance(error, DeferredError):
            return None
        if error.retry_after is not None and error.retry_after > self.config.max_retry_wait:
            raise DeferredError(
                error.url,
                f"{error.message}; server asks to wait {error.retry_after:.0f}s",
                status=error.status,
                retry_after=error.retry_after,
            ) from error
        if attempt >= self.config.retries:
            return None
        if error.retry_after is not None:
            return error.retry_after
        return backoff_delay(attempt, self.config.max_retry_wait)

    async def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        extensions: dict[str, Any],
        timeout: float | None,
    ) -> FetchResult:
        timeout = timeout or self.config.timeout
        try:
            async with asyncio.timeout(timeout):
                return await self._request(url, headers, extensions)
        except RefusedAddress as e:
            raise RefusedError(url, str(e)) from None
        except TimeoutError:
            raise FetchError(url, f"timed out after {timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise FetchError(
                url, f"more than {self.config.max_redirects} redirects", status=0
            ) from None
        except httpx.InvalidURL as e:
            raise FetchError(url, f"invalid URL: {e}", status=0) from None
        except httpx.TransportError as e:
            raise FetchError(url, f"{type(e).__name__}: {e or 'connection failed'}") from None

    async def _request(
        self, url: str, headers: dict[str, str], extensions: dict[str, Any]
    ) -> FetchResult:
        stream = self._client.stream("GET", url, headers=headers, extensions=extensions)
        async with stream as response:
            status = response.status_code
            final_url = str(response.url)
            moved = is_permanent_move([r.status_code for r in response.history])
            if status == 304:
                # A 304 has no body, but httpcore only pools a connection whose body was read:
                # without this every conditional GET would open a new connection.
                await response.aread()
                return self._result(response, final_url, None, moved)
            if status >= 400 or status < 200 or status == 204:
                retry_after = (
                    parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                    if status in THROTTLE_STATUSES
                    else None
                )
                raise FetchError(
                    url, describe_status(status), status=status, retry_after=retry_after
                )
            body = await self._read_capped(response, url)
            return self._result(response, final_url, body, moved)

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        """The body, decoded in bounded pieces and cut off at max_bytes (bombs included)."""
        cap = self.config.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(url, f"body of {declared} bytes exceeds max_bytes ({cap})", status=0)
        try:
            decoder = BoundedDecoder(response.headers.get("Content-Encoding"))
        except UnsupportedEncoding as e:
            raise FetchError(url, f"unsupported Content-Encoding {e}", status=0) from None
        body = bytearray()
        try:
            async for raw in response.aiter_raw(_CHUNK):
                for piece in decoder.feed(raw):
                    body += piece
                    if len(body) > cap:
                        raise FetchError(
                            url, f"body exceeds max_bytes ({cap}) after decompression", status=0
                        )
            for piece in decoder.flush():
                body += piece
        except DecodeError as e:
            raise FetchError(url, f"corrupt compressed body: {e}", status=0) from None
        if len(body) > cap:
            raise FetchError(url, f"body exceeds max_bytes ({cap}) after decompression", status=0)
        return bytes(body)

    @staticmethod
    def _result(
        response: httpx.Response, final_url: str, body: bytes | None, moved: bool
    ) -> FetchResult:
        h = response.headers
        return FetchResult(
            url=final_url,
            status=response.status_code,
            body=body,
            content_type=h.get("Content-Type", ""),
            etag=h.get("ETag"),
            last_modified=h.get("Last-Modified"),
            cache_control=h.get("Cache-Control"),
            expires=h.get("Expires"),
            permanent_url=final_url if moved else None,
        )


_monotonic = time.monotonic  # a seam for tests that fake the waits


def _after_attempts(error: FetchError, attempts: int, seconds: float) -> FetchError:
    """The same error (class, status, Retry-After) saying how many attempts and how long."""
    total = f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"
    again = copy.copy(error)
    again.message = f"{error.message}, {attempts} attempts, {total} s in all"
    again.args = (error.subject, again.message)
    return again


def _client(config: FetchConfig, guard: Guard | None) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=config.concurrency, max_keepalive_connections=config.concurrency
    )
    transport = httpx.AsyncHTTPTransport(limits=limits, proxy=config.proxy)
    hooks: list[Any] = [strip_foreign_headers]
    if not config.proxy:
        backend.install(transport)
    if guard is not None and config.proxy:
        hooks.append(guard.check_request)  # the proxy connects: check each hop's name here
    elif guard is not None:
        guard.install(transport)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=config.max_redirects,
        timeout=httpx.Timeout(config.timeout),
        headers={"User-Agent": config.user_agent},
        event_hooks={"request": hooks},
        trust_env=False,  # only the configured proxy; never one from the environment
    )


def read_local_feed(url: str, etag: str | None, max_bytes: int) -> FetchResult:
    """A file: URL, with the file's size and mtime as its ETag (unchanged file = 304)."""
    path = Path(url2pathname(unquote(urlsplit(url).path)))
    try:
        stat = path.stat()
        validator = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if etag == validator:
            return FetchResult(url=url, status=304, body=None, etag=validator)
        if stat.st_size > max_bytes:
            raise FetchError(
                url, f"file of {stat.st_size} bytes exceeds max_bytes ({max_bytes})", status=0
            )
        with path.open("rb") as f:
            body = f.read(max_bytes + 1)
    except OSError as e:
        raise FetchError(url, f"cannot read local feed: {e.strerror}", status=0) from None
    if len(body) > max_bytes:
        raise FetchError(url, f"file exceeds max_bytes ({max_bytes})", status=0)
    content_type = "application/feed+json" if path.suffix.lower() == ".json" else ""
    return FetchResult(url=url, status=200, body=body, content_type=content_type, etag=validator)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]
