"""The fetcher: one httpx.AsyncClient per pass, global and per-host limits, conditional GET,
a size cap enforced while streaming, a whole-request timeout, bounded retries with backoff
and Retry-After. Local paths and file: URLs are read with the same cap (the offline example).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from ..config import FeedConfig, FetchConfig
from ..errors import DeferredError, FetchError, RefusedError
from ..models import FetchResult
from .decode import BoundedDecoder, DecodeError, UnsupportedEncoding
from .guard import RefusedAddress, check_request, guard_transport
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
_CHUNK = 64 * 1024


class Fetcher:
    """Use as ``async with Fetcher(config) as fetcher``: one client, shared limits."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._global = asyncio.Semaphore(config.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )
        # Feeds are the user's choice and may live on their own network; article pages are
        # the feeds' choice, so their client carries the address guard (fetch/guard.py).
        self._feeds = _client(config, ACCEPT)
        self._pages = _client(config, PAGE_ACCEPT, guarded=not config.allow_private)
        self.robots = RobotsCache(self._robots_txt)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._feeds.aclose()
        await self._pages.aclose()

    async def fetch_feed(
        self, url: str, feed: FeedConfig, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed. Raises FetchError (or DeferredError) naming the URL."""
        if urlsplit(url).scheme.lower() == "file":
            return await asyncio.to_thread(read_local_feed, url, etag, self.config.max_bytes)
        headers = dict(feed.headers)
        if feed.user_agent:
            headers["User-Agent"] = feed.user_agent
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._polite(self._feeds, url, headers, feed.timeout)

    async def fetch_page(self, url: str, feed: FeedConfig) -> FetchResult:
        """Fetch an article page linked from ``feed``: http(s) only, robots.txt honoured, the
        address guard applied. The feed's User-Agent and timeout apply; its headers only on
        the feed's own host (an access key for a feed proxy must not reach article sites)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(url, "not an http(s) page", status=0)
        agent = feed.user_agent or self.config.user_agent
        try:
            allowed = await self.robots.allowed(url, agent)
        except RefusedError as e:  # found on the way to robots.txt: the page's host is refused
            raise RefusedError(url, e.message) from None
        if not allowed:
            raise FetchError(url, "disallowed by robots.txt", status=0)
        same_host = parts.hostname == urlsplit(feed.url).hostname
        headers = dict(feed.headers) if same_host else {}
        headers["User-Agent"] = agent
        return await self._polite(self._pages, url, headers, feed.timeout)

    async def _robots_txt(self, url: str) -> FetchResult:
        headers = {"Accept": "text/plain, */*;q=0.5"}
        async with self._hosts[urlsplit(url).hostname or ""], self._global:
            return await self._attempt(self._pages, url, headers, self.config.timeout)

    async def _polite(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], timeout: float | None
    ) -> FetchResult:
        """Within the global and per-host limits, with retries."""
        async with self._hosts[urlsplit(url).hostname or ""], self._global:
            return await self._with_retries(client, url, headers, timeout or self.config.timeout)

    async def _with_retries(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], timeout: float
    ) -> FetchResult:
        attempt = 0
        while True:
            try:
                return await self._attempt(client, url, headers, timeout)
            except FetchError as e:
                wait = self._retry_wait(e, attempt)
                if wait is None:
                    raise
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
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], timeout: float
    ) -> FetchResult:
        try:
            async with asyncio.timeout(timeout):
                return await self._request(client, url, headers)
        except RefusedAddress as e:
            raise RefusedError(url, str(e)) from None
        except TimeoutError:
            raise FetchError(url, f"timed out after {timeout:g}s") from None
        except httpx.TooManyRedirects:
            raise FetchError(
                url, f"more than {self.config.max_redirects} redirects", status=0
            ) from None
        except httpx.InvalidURL as e:
            raise FetchError(url, f"invalid URL: {e}", status=0) from None
        except httpx.TransportError as e:
            raise FetchError(url, f"{type(e).__name__}: {e or 'connection failed'}") from None

    async def _request(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
    ) -> FetchResult:
        async with client.stream("GET", url, headers=headers) as response:
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


def _client(config: FetchConfig, accept: str, guarded: bool = False) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=config.concurrency, max_keepalive_connections=config.concurrency
    )
    hooks: dict[str, list[Any]] = {}
    transport = httpx.AsyncHTTPTransport(limits=limits, proxy=config.proxy)
    if guarded and config.proxy:
        hooks["request"] = [check_request]
    elif guarded:
        transport = guard_transport(transport)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=config.max_redirects,
        timeout=httpx.Timeout(config.timeout),
        headers={"User-Agent": config.user_agent, "Accept": accept},
        event_hooks=hooks,
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
