"""The real pipeline over the pages: a loopback server, a feed of one-sentence summaries with
``full_text = true``, ``aggregator fetch`` in a subprocess, then the stored articles."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from .pages import Page

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 900.0  # seconds for the whole fetch: 94 pages take well under a minute


@dataclass(frozen=True, slots=True)
class PipelineRun:
    stored: dict[str, str]  # link -> stored content (sanitized HTML)
    seconds: float  # wall time of `aggregator fetch`, feed and pages and all
    returncode: int
    stderr_tail: str


def summary_of(page: Page) -> str:
    """The feed's description: one sentence, so full text shows in the score."""
    return f"The page {page.name} from the Readability test suite."


def page_url(base: str, page: Page) -> str:
    return f"{base}/pages/{page.name}.html"


def run_pipeline(pages: Sequence[Page], work: Path) -> tuple[str, PipelineRun]:
    """(base URL the pages were served from, the run)."""
    with serve(pages) as base:
        config = write_config(work, f"{base}/feed.xml")
        cmd = [sys.executable, "-m", "aggregator", "--config", str(config)]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [*cmd, "fetch", "--no-progress"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            returncode, stderr = done.returncode, done.stderr
        except subprocess.TimeoutExpired as e:
            # Its output is bytes here even with text=True.
            partial = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else ""
            returncode, stderr = -1, f"timed out after {TIMEOUT:.0f} s\n{partial}"
        seconds = time.perf_counter() - started
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    return base, PipelineRun(stored_articles(work / "db.sqlite"), seconds, returncode, tail)


def write_config(work: Path, feed_url: str) -> Path:
    config = work / "config.toml"
    config.write_text(
        "[fetch]\nallow_private = true\n\n"
        f'[storage]\ndatabase = "{work / "db.sqlite"}"\n\n'
        f'[output]\nposts_dir = "{work / "posts"}"\natom_path = "{work / "atom.xml"}"\n\n'
        f'[[feeds]]\nname = "pages"\nurl = "{feed_url}"\nfull_text = true\n',
        encoding="utf-8",
    )
    return config


def stored_articles(database: Path) -> dict[str, str]:
    if not database.is_file():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return {link: content for link, content in db.execute(_QUERY) if link}


_QUERY = "SELECT link, content FROM articles"


def feed_xml(pages: Sequence[Page], base: str) -> bytes:
    """RSS 2.0, newest first, one item per page with a one-sentence description."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = []
    for i, page in enumerate(pages):
        url = escape(page_url(base, page))
        items.append(
            f"<item><title>{escape(page.title)}</title><link>{url}</link>"
            f'<guid isPermaLink="true">{url}</guid>'
            f"<pubDate>{format_datetime(start - timedelta(hours=i))}</pubDate>"
            f"<description>{escape(summary_of(page))}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Article pages</title><link>{base}/</link><description>Extraction bench"
        f"</description>{''.join(items)}</channel></rss>"
    ).encode()


@contextmanager
def serve(pages: Sequence[Page]) -> Iterator[str]:
    """Serves /feed.xml and /pages/<name>.html on 127.0.0.1 (an ephemeral port); yields the
    base URL. The pages are sent as UTF-8, which they are: qq's <meta> says gb2312."""
    routes: dict[str, tuple[bytes, str]] = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    routes["/feed.xml"] = (feed_xml(pages, base), "application/rss+xml")
    for page in pages:
        routes[f"/pages/{page.name}.html"] = (page.source, "text/html; charset=utf-8")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _handler(routes: dict[str, tuple[bytes, str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body, content_type = routes.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a request log per page would bury the report

    return Handler
