"""robots.txt for crawled article pages (never for the feeds the user configured), fetched once
per origin and kept for an hour. Rules per RFC 9309: a missing file (4xx) allows everything;
an unreachable one (5xx, network error) disallows everything until it is fetched again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from protego import Protego

from ...errors import FetchError, RefusedError
from ...models import FetchResult

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 512 * 1024  # what Google reads of a robots.txt; the rest is ignored
KEEP_SECONDS = 3600.0
KEEP_UNREACHABLE_SECONDS = 300.0  # a server error is retried sooner
MAX_ORIGINS = 4096

Rules = Callable[[str, str], bool]  # (url, user agent) -> allowed


def allow_all(url: str, agent: str) -> bool:
    return True


def disallow_all(url: str, agent: str) -> bool:
    return False


def rules_from(body: bytes) -> Rules:
    """A robots.txt body as a rule. Undecodable bytes are replaced: a rule line stays a rule."""
    parser = Protego.parse(body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace"))

    def allowed(url: str, agent: str) -> bool:
        return bool(parser.can_fetch(url, product_token(agent)))

    return allowed


def product_token(user_agent: str) -> str:
    """The name robots.txt groups match against: "aggregator" of "aggregator/1.0 (+url)"."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0] or user_agent


class RobotsCache:
    """Per-origin robots.txt rules, fetched through ``fetch(url)`` (the page client, so the
    address guard and size cap apply). Concurrent pages of one origin wait for one fetch."""

    def __init__(self, fetch: Callable[[str], Awaitable[FetchResult]]) -> None:
        self._fetch = fetch
        self._rules: OrderedDict[str, tuple[float, Rules]] = OrderedDict()
        # One lock per origin being loaded, gone when nobody waits on it (refused origins are
        # not cached: a dict would keep their locks for ever).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def allowed(self, url: str, agent: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        return (await self._rules_for(origin))(url, agent)

    async def _rules_for(self, origin: str) -> Rules:
        lock = self._locks.get(origin)
        if lock is None:
            lock = self._locks[origin] = asyncio.Lock()
        async with lock:
            kept = self._rules.get(origin)
            if kept is not None and kept[0] > time.monotonic():
                self._rules.move_to_end(origin)
                return kept[1]
            rules, keep = await self._load(origin)
            self._rules[origin] = (time.monotonic() + keep, rules)
            self._rules.move_to_end(origin)
            while len(self._rules) > MAX_ORIGINS:
                self._rules.popitem(last=False)
        return rules

    async def _load(self, origin: str) -> tuple[Rules, float]:
        url = origin + "/robots.txt"
        try:
            result = await self._fetch(url)
        except RefusedError:
            raise  # not a robots.txt answer: the host itself is refused
        except FetchError as e:
            if e.status is not None and 400 <= e.status < 500:
                return allow_all, KEEP_SECONDS
            log.info("robots.txt unreachable, not crawling %s for now: %s", origin, e)
            return disallow_all, KEEP_UNREACHABLE_SECONDS
        return rules_from(result.body or b""), KEEP_SECONDS
