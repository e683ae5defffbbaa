"""A programmable HTTP server on 127.0.0.1, a workspace that runs the real ``aggregator``
CLI against it (config, data folder, subprocess), and ``wait_until`` for what runs meanwhile.

The server is a ``ThreadingHTTPServer`` on an ephemeral loopback port in a daemon thread. Routes
map a path to a handler ``(Request) -> Reply`` and can be changed between runs; every request is
logged (method, path, headers) so tests can assert what the aggregator asked for. Nothing here
listens on, or talks to, any address but 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
HOST = "127.0.0.1"
CLI_TIMEOUT = 60  # seconds: a hung run fails its test instead of hanging the suite
LAST_MODIFIED = "Wed, 03 Jul 2024 12:00:00 GMT"


# -- the server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    at: float  # time.monotonic() when it arrived
    peer: tuple[str, int] = ("", 0)  # the client's address: one per TCP connection

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A reply written by hand instead (status line, headers, body), for servers that stall,
    # drip or never end: called with the request handler and an event set when the server
    # stops (so that no such reply outlives its test).
    raw: Callable[[BaseHTTPRequestHandler, threading.Event], None] | None = None


Handler = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: when dozens of feeds connect at once, the
    # kernel drops the SYNs beyond it and the client retries after 1 s, then 3 s.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a timeout, a killed run) is what many tests want.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Program it per test: ``server.routes["/feed.xml"] = FeedResource(body)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.stopping = threading.Event()
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = _Server((HOST, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def feed(self, name: str, path: str, **keys: object) -> dict[str, object]:
        """The ``[[feeds]]`` table of a feed served here at ``path``."""
        return {"name": name, "url": self.url(path), **keys}

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _respond(self, request: Request) -> Reply:
        with self._lock:
            self._requests.append(request)
            handler = self.routes.get(request.path)
        if handler is None:
            return Reply(404, b"no such route", {"Content-Type": "text/plain"})
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(
                    "GET", self.path, headers, time.monotonic(), tuple(self.client_address)
                )
                reply = server._respond(request)
                if reply.raw is not None:
                    self.close_connection = True
                    reply.raw(self, server.stopping)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request log is the record; keep the test output clean

        return _Handler


@contextmanager
def running_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- handlers -----------------------------------------------------------------------------


@dataclass
class FeedResource:
    """A feed document. With ``validators`` it sends ETag + Last-Modified and answers a
    matching If-None-Match / If-Modified-Since with 304. ``body`` may be replaced between runs
    (the ETag follows the bytes). ``gzip`` encodes the body when the client accepts it."""

    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    validators: bool = True
    gzip: bool = False

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    def __call__(self, request: Request) -> Reply:
        headers = {"Content-Type": self.content_type}
        if self.validators:
            headers |= {"ETag": self.etag, "Last-Modified": LAST_MODIFIED}
            if self._not_modified(request):
                return Reply(304, b"", {"ETag": self.etag})
        body = self.body
        if self.gzip and "gzip" in (request.header("Accept-Encoding") or ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Reply(200, body, headers)

    def _not_modified(self, request: Request) -> bool:
        if_none_match = request.header("If-None-Match")
        if if_none_match is not None:  # RFC 9110 13.2.2: it takes precedence
            return self.etag in [t.strip() for t in if_none_match.split(",")]
        return request.header("If-Modified-Since") == LAST_MODIFIED


def redirect(location: str, status: int = 301) -> Handler:
    def handle(request: Request) -> Reply:
        return Reply(status, b"", {"Location": location})

    return handle


def status(code: int, retry_after: str | None = None) -> Handler:
    headers = {"Content-Type": "text/plain"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after

    def handle(request: Request) -> Reply:
        return Reply(code, f"status {code}".encode(), dict(headers))

    return handle


def in_turn(*handlers: Handler) -> Handler:
    """The n-th request gets the n-th handler; the last one answers every request after."""
    lock = threading.Lock()
    count = 0

    def handle(request: Request) -> Reply:
        nonlocal count
        with lock:
            index = min(count, len(handlers) - 1)
            count += 1
        return handlers[index](request)

    return handle


# -- waiting ------------------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str] = "",
    *,
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned), or fail after
    ``timeout`` seconds saying what was awaited: ``message``, or a callable that tells it
    at that moment (a log's tail)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {text or predicate.__name__}"
            )
        time.sleep(interval)
    return value


# -- the CLI ------------------------------------------------------------------------------


def untraced(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without coverage's request to measure the process (.ci/run measures the
    processes tests start), for a run whose timing or memory a test checks: the tracer slows
    each process and grows it."""
    return {k: v for k, v in env.items() if not k.startswith("COVERAGE_PROCESS_")}


def toml_value(value: object) -> str:
    """Enough TOML for test configs: strings, booleans, numbers, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def _toml_table(header: str, values: Mapping[str, object]) -> list[str]:
    return [header, *(f"{k} = {toml_value(v)}" for k, v in values.items()), ""]


Section = Mapping[str, object]  # one table of config.toml


@dataclass
class Workspace:
    """One data folder (database, posts, Atom) and its config.toml, all under ``root``.
    ``defaults``: per section, values every ``write_config`` of this workspace starts from
    (a suite's rhythm, say), under the ones a test gives."""

    root: Path
    defaults: Mapping[str, Section] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def posts_dir(self) -> Path:
        return self.root / "data" / "posts"

    @property
    def atom_path(self) -> Path:
        return self.root / "data" / "atom.xml"

    @property
    def database(self) -> Path:
        return self.root / "data" / "aggregator.sqlite3"

    def write_config(
        self,
        feeds: Sequence[Section],
        *,
        output: Section | None = None,
        fetch: Section | None = None,
        schedule: Section | None = None,
        daemon: Section | None = None,
        storage: Section | None = None,
    ) -> Path:
        # Fast tests: one retry, short waits. Loopback is private, so allow it explicitly.
        fast = {"max_retry_wait": "2s", "retries": 1, "timeout": "20s", "allow_private": True}
        base: dict[str, Section] = {
            "storage": {"database": str(self.database)},
            "output": {"posts_dir": str(self.posts_dir), "atom_path": str(self.atom_path)},
            "fetch": fast,
        }
        given = dict(storage=storage, output=output, fetch=fetch, schedule=schedule, daemon=daemon)
        lines = []
        for name, values in given.items():
            merged = {**base.get(name, {}), **self.defaults.get(name, {}), **(values or {})}
            if merged:  # [schedule] and [daemon] only when something sets them
                lines += _toml_table(f"[{name}]", merged)
        for feed in feeds:
            lines += _toml_table("[[feeds]]", feed)
        self.config_path.write_text("\n".join(lines), encoding="utf-8")
        return self.config_path

    def write_config_text(self, template: str, **values: object) -> str:
        """A config written by hand (its comments and layout are what a test looks at), with
        ``{database}``, ``{posts}``, ``{atom}`` and ``values`` filled in; returns the text."""
        paths = {"database": self.database, "posts": self.posts_dir, "atom": self.atom_path}
        text = template.format(**paths, **values)
        self.config_path.write_text(text, encoding="utf-8")
        return text

    def run(
        self, *args: str, config_first: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The CLI with ``--config`` before the command (or after it), run from an empty
        folder so that only the option can lead it to the config. ``env`` adds variables."""
        outside = ("AGGREGATOR_CONFIG", "AGGREGATOR_DATABASE_URL")
        env = {k: v for k, v in os.environ.items() if k not in outside} | dict(env or {})
        config = ["--config", str(self.config_path)]
        argv = [*config, *args] if config_first else [*args, *config]
        cwd = self.root / "cwd"
        cwd.mkdir(exist_ok=True)
        return subprocess.run(
            [sys.executable, "-m", "aggregator", *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=CLI_TIMEOUT,
            check=False,
        )

    def fetch(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("fetch", "--no-progress", *args)

    def posts(self) -> dict[str, bytes]:
        if not self.posts_dir.exists():
            return {}
        return {p.name: p.read_bytes() for p in sorted(self.posts_dir.iterdir()) if p.is_file()}

    def stamps(self) -> dict[str, tuple[int, int]]:
        """(inode, mtime_ns) of every post and of the Atom document: an atomic rewrite changes
        both, so equal stamps prove a run wrote nothing."""
        files = [p for p in self.posts_dir.iterdir() if p.is_file()] + [self.atom_path]
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.database)) as db:
            return list(db.execute(sql, params))


# -- the fixture feeds --------------------------------------------------------------------

FEEDS_DIR = Path(__file__).parent / "fixtures" / "feeds"


@dataclass(frozen=True)
class FixtureFeed:
    name: str
    file: str  # in tests/fixtures/feeds, served at /<file>
    content_type: str
    categories: tuple[str, ...]
    titles: tuple[str, ...]  # the entries' titles as the posts must show them
    gzip: bool = False


FIXTURE_FEEDS = (
    FixtureFeed(
        "RSS Two",
        "rss2.xml",
        "application/rss+xml; charset=utf-8",
        ("rss", "Tech #1"),
        ("RSS first story", "RSS second story & more"),
        gzip=True,
    ),
    FixtureFeed(
        "Atom Feed",
        "atom.xml",
        "application/atom+xml",
        ("atom",),
        ("Atom first entry", "Atom second entry"),
    ),
    FixtureFeed(
        "RDF Feed",
        "rdf.xml",
        "application/rdf+xml",
        ("rdf", "yes"),
        ("RDF item one", "RDF item two"),
    ),
    FixtureFeed(
        "JSON Feed",
        "jsonfeed.json",
        "application/feed+json",
        ("json",),
        ("JSON note one", "JSON note two"),
    ),
)


def serve_fixture_feeds(
    server: LoopbackServer, feeds: Sequence[FixtureFeed] = FIXTURE_FEEDS
) -> list[dict[str, object]]:
    """Route every fixture feed on ``server``; returns their ``[[feeds]]`` config tables."""
    tables: list[dict[str, object]] = []
    for feed in feeds:
        path = f"/{feed.file}"
        body = (FEEDS_DIR / feed.file).read_bytes()
        server.routes[path] = FeedResource(body, feed.content_type, gzip=feed.gzip)
        tables.append(
            {"name": feed.name, "url": server.url(path), "categories": list(feed.categories)}
        )
    return tables
