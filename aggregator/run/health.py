"""Optional ``[daemon] health = "127.0.0.1:PORT"``: /healthz and Prometheus text /metrics.

A deliberately small HTTP/1.0 responder on asyncio streams: two read-only GET endpoints do not
justify a web framework.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import Counter
from datetime import UTC, datetime

from ..edges.store import Store
from ..models import FeedOutcome, Outcome

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_MAX_REQUEST = 8192


class Metrics:
    """In-process counters, rendered as Prometheus text."""

    def __init__(self) -> None:
        self.fetches: Counter[str] = Counter()
        self.articles: Counter[str] = Counter()
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def record(self, outcome: FeedOutcome, seconds: float) -> None:
        self.fetches[outcome.status] += 1
        for kind, count in outcome.counts.items():
            self.articles[kind.value] += count
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def render(self, due: int, disabled: int, backing_off: int) -> str:
        lines = ["# TYPE aggregator_fetches_total counter"]
        lines += [
            f'aggregator_fetches_total{{outcome="{k}"}} {v}'
            for k, v in sorted(self.fetches.items())
        ]
        lines.append("# TYPE aggregator_articles_total counter")
        lines += [
            f'aggregator_articles_total{{outcome="{o.value}"}} {self.articles[o.value]}'
            for o in Outcome
        ]
        lines.append("# TYPE aggregator_fetch_seconds histogram")
        cumulative = 0
        for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), self.buckets, strict=True):
            cumulative += count
            lines.append(f'aggregator_fetch_seconds_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f"aggregator_fetch_seconds_sum {self.latency_sum:.6f}")
        lines.append(f"aggregator_fetch_seconds_count {cumulative}")
        for name, value in (("due", due), ("disabled", disabled), ("backing_off", backing_off)):
            lines.append(f"# TYPE aggregator_feeds_{name} gauge")
            lines.append(f"aggregator_feeds_{name} {value}")
        return "\n".join(lines) + "\n"


class HealthServer:
    def __init__(self, address: str, metrics: Metrics, store: Store) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.metrics = metrics
        self.store = store
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        log.info("health endpoint on http://%s:%d/healthz", self.host, self.port)

    async def close(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            path = request[:_MAX_REQUEST].split(b" ", 2)[1].decode("ascii", "replace")
            status, body = await self._respond(path)
            head = (
                f"HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            IndexError,
            ConnectionError,
        ):
            pass
        finally:
            writer.close()

    async def _respond(self, path: str) -> tuple[str, bytes]:
        if path == "/healthz":
            return "200 OK", b"ok\n"
        if path == "/metrics":
            states = await self.store.feed_states()
            now = datetime.now(UTC)
            active = [s for s in states if s.in_config and s.enabled and not s.disabled_reason]
            due = sum(1 for s in active if s.next_check_at is None or s.next_check_at <= now)
            disabled = len(states) - len(active)
            backing_off = sum(1 for s in active if s.error_count > 0)
            return "200 OK", self.metrics.render(due, disabled, backing_off).encode()
        return "404 Not Found", b"not found\n"
