"""Every config.toml key, declared once, as Miniflux declares its options in one table.

Each section of config.toml is a frozen record; each of its fields is declared with ``key()``:
the default as config.toml would write it, the check, whether the value is a secret (masked in
every log line), and the line docs/config.md shows for it. config.py reads every section with
one generic reader that walks these declarations; tests/test_configkeys.py checks that
docs/config.md lists every key with its default (``python tests/config_docs.py`` rewrites the
tables there from this file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from . import checks as c
from .checks import FilterRule, config_record, key

if TYPE_CHECKING:
    from .select import SourceSelect

DATABASE_ENV = "AGGREGATOR_DATABASE_URL"  # overrides [storage] database (keeps secrets out)
DEFAULT_USER_AGENT = f"aggregator/{__version__} (+https://github.com/aggregator-dev/aggregator)"
DEFAULT_PLACEHOLDER = "https://picsum.photos/400/300?random={n}"
SOURCE_KINDS = ("feed", "html", "json")

_FROM_SCHEDULE = "from `[schedule]`"
_FROM_FETCH = "from `[fetch]`"


@config_record
class StorageConfig:
    database: str = key(
        c.string,
        "SQLite file (created with its folder), or a PostgreSQL URL "
        '`"postgresql://user@host:5432/db"` for several workers sharing one database. The '
        f"environment variable `{DATABASE_ENV}`, when set, takes its place (keep a password "
        "out of config.toml).",
        in_folder="data/aggregator.sqlite3",
        resolve=c.database_in,
        env=DATABASE_ENV,
        secret=True,
    )
    keep_days: int = key(
        c.non_negative_int, "Retention in days for the daemon (0 keeps everything).", default=0
    )


@config_record
class OutputConfig:
    posts_dir: Path = key(
        c.string,
        "One `.md` post per article (see post-format.md).",
        in_folder="data/posts",
        resolve=c.path_in,
    )
    atom_path: Path = key(
        c.string,
        "The Atom document of the newest articles.",
        in_folder="data/atom.xml",
        resolve=c.path_in,
    )
    atom_limit: int = key(
        c.positive_int, "How many articles the Atom document carries.", default=100
    )
    atom_title: str = key(c.string, "The Atom feed's title.", default="aggregator")
    atom_id: str | None = key(
        c.string,
        "The Atom feed's id.",
        default=None,
        shown="a `urn:uuid:` made once and kept in the database",
    )
    atom_url: str | None = key(
        c.http_url,
        "Where the Atom document is served, an absolute `http(s)` URL (e.g. "
        '`"https://blog.example/atom.xml"`, see hexo.md). When set, the document carries '
        '`<link rel="self" href="…">`, which feed readers and validators expect.',
        default=None,
    )
    json_feed_path: Path | None = key(
        c.string,
        "Also write the same newest articles as JSON Feed 1.1.",
        default=None,
        resolve=c.path_in,
    )
    json_feed_url: str | None = key(
        c.http_url,
        "Where the JSON Feed is served, an absolute `http(s)` URL: the JSON Feed's `feed_url`.",
        default=None,
    )
    placeholder_image: str = key(
        c.string,
        "headimg/thumbnail when an article has no image; `{n}` is 1..10000, stable per "
        "article; a template without `{n}` is used as is.",
        default=DEFAULT_PLACEHOLDER,
    )
    leading_blank_line: bool = key(
        c.boolean,
        "The seed's blank line before `---`; `false` for tools that need `---` on line 1.",
        default=True,
    )
    atom_every: float = key(
        c.parse_duration,
        "Daemon: regenerate the Atom / JSON Feed, apply retention and run `on_change` at most "
        "this often.",
        default="60s",
    )
    on_change: tuple[str, ...] = key(
        c.strings,
        'A command (argv list, e.g. `["hexo", "generate"]`) run after a pass or `render` that '
        "changed outputs; in the daemon at most once per `atom_every`. Its stdin is a JSON "
        'manifest: `added`, `updated`, `removed` (each `{"id", "path"}`), `feeds_changed`, '
        "`posts_dir`, `atom_path`, `json_feed_path`. Output is logged; failures never stop "
        "fetching.",
        default=[],
        shown="none",
    )
    on_change_cwd: Path | None = key(
        c.string,
        "Working folder for `on_change`.",
        default=None,
        shown="the current folder",
        resolve=c.path_in,
    )
    on_change_timeout: float = key(
        c.parse_duration, "The command is killed after this long.", default="120s"
    )
    allow_data_images: bool = key(
        c.boolean,
        "Keep images inlined as `data:image/png`, `gif`, `jpeg` or `webp` URLs in `<img src>` "
        "(and `<video poster>`) of article content; other `data:` URLs (SVG, HTML) are always "
        "removed. Off, such images are dropped, as a `data:` URL makes posts and feeds heavy.",
        default=False,
    )


@config_record
class FetchConfig:
    concurrency: int = key(c.positive_int, "Requests in flight overall.", default=32)
    per_host: int = key(c.positive_int, "Requests in flight per host.", default=4)
    timeout: float = key(
        c.positive_duration,
        "Seconds for a whole request (connect, headers and body).",
        default=30,
    )
    max_bytes: int = key(
        c.positive_int,
        "Body cap, enforced while streaming, after decompression.",
        default=16 * 1024 * 1024,
    )
    user_agent: str = key(
        c.one_line,
        "The `User-Agent` of every request.",
        default=DEFAULT_USER_AGENT,
        shown="`aggregator/<version> (+project URL)`",
    )
    max_redirects: int = key(c.non_negative_int, "Longer chains fail the feed.", default=10)
    max_retry_wait: float = key(
        c.parse_duration,
        "Longest backoff or Retry-After waited inside one pass; a longer Retry-After defers "
        "the feed (not a failure).",
        default="30s",
    )
    retries: int = key(
        c.non_negative_int,
        "Retries of transient failures (connection errors, timeouts, 408/425/429/5xx).",
        default=2,
    )
    allow_private: bool = key(
        c.boolean,
        "Nothing but the servers of configured feeds is fetched from loopback, private, "
        "link-local, site-local, multicast or reserved addresses: article pages (full text), "
        "robots.txt, discovered feeds and every redirect target are checked after DNS, on every "
        "hop. A configured feed's server (its host *and* port) is your choice and is not "
        "checked. `true` turns the check off (tests, an intranet).",
        default=False,
    )
    proxy: str | None = key(
        c.string,
        "An HTTP(S) proxy URL for feeds and pages; environment proxy variables are ignored. "
        "Its password never appears in logs.",
        default=None,
        secret=True,
    )
    backlog: int = key(
        c.non_negative_int,
        "On a feed's first fetch keep only its newest N entries (0 = all); the older ones are "
        "remembered as seen and never come back as new. A feed's own `backlog` overrides it.",
        default=0,
    )


@config_record
class ScheduleConfig:
    interval: float = key(c.positive_duration, "How often to check a feed.", default="30m")
    min_interval: float = key(
        c.positive_duration,
        "Lower bound for adaptive intervals and backoff; at most `max_interval`.",
        default="5m",
    )
    max_interval: float = key(
        c.positive_duration, "Upper bound for adaptive intervals and backoff.", default="1d"
    )
    adaptive: bool = key(c.boolean, "Adapt to how often a feed publishes.", default=True)
    max_failures: int = key(
        c.non_negative_int,
        "Consecutive failures before the daemon disables a feed.",
        default=10,
    )
    tick: float = key(
        c.positive_duration, "Daemon dispatch rhythm: how often it claims due feeds.", default="5s"
    )
    lease: float = key(
        c.positive_duration,
        "How long a worker's claim on a feed lasts before another worker may take it (see "
        "scaling.md).",
        default="5m",
    )


@config_record
class DaemonConfig:
    grace: float = key(
        c.parse_duration, "In-flight feeds finish within it on SIGTERM.", default="20s"
    )
    health: str | None = key(
        c.host_port,
        '`"127.0.0.1:PORT"`: serve `/healthz` and `/metrics` there (see running.md).',
        default=None,
    )


@config_record
class DedupeConfig:
    near_duplicates: bool = key(
        c.boolean,
        "Merge near-duplicate stories across feeds (wire copy, edited copy, a teaser and its "
        "story), beyond the exact URL and text matches.",
        default=True,
    )
    threshold: float = key(
        c.fraction,
        "The Jaccard similarity of two texts' word shingles at or above which they are one "
        "story (0 < x ≤ 1).",
        default=0.6,
    )
    containment: float = key(
        c.fraction,
        "The share of a shorter text contained in a longer one for the shorter (a teaser) to be "
        "that story (0 < x ≤ 1).",
        default=0.8,
    )
    min_tokens: int = key(
        c.positive_int,
        "Texts shorter than this many tokens (words; one per Chinese or Japanese character) are "
        "never merged by similarity alone.",
        default=40,
    )


@config_record
class FiltersConfig:
    """`[filters]`: Config keeps them as ``include`` and ``exclude``."""

    include: tuple[FilterRule, ...] = key(
        c.rules,
        '`"field:regex"` rules for every feed: when there are any, an entry is kept only if it '
        "matches one.",
        default=[],
    )
    exclude: tuple[FilterRule, ...] = key(
        c.rules,
        '`"field:regex"` rules for every feed: an entry that matches one is dropped.',
        default=[],
    )


@config_record
class FeedConfig:
    name: str = key(
        c.name, "The feed's identity: renaming makes a new feed; changing `url` does not."
    )
    url: str = key(
        c.feed_url,
        "`http(s)://…`, a `file:` URL, or a local path (relative to the config file).",
        resolve=c.feed_url_in,
    )
    categories: tuple[str, ...] = key(
        c.strings, "The post's categories (Hexo makes the list a hierarchy).", default=[]
    )
    author: str | None = key(
        c.one_line, "The post's author.", default=None, shown="the feed's `name`"
    )
    interval: float | None = key(
        c.positive_duration, "How often to check this feed.", default=None, shown=_FROM_SCHEDULE
    )
    adaptive: bool | None = key(
        c.boolean,
        "Adapt this feed's interval to how often it publishes.",
        default=None,
        shown=_FROM_SCHEDULE,
    )
    enabled: bool = key(c.boolean, "`false` skips the feed.", default=True)
    full_text: bool = key(
        c.boolean,
        "Fetch each new (or changed) article's page once and use its body instead of the "
        "feed's summary. robots.txt is honoured for pages (per host, an hour); failures keep "
        "the feed's content and are logged. At most 100 pages per feed and pass: the others, "
        "and pages that failed for a passing reason (network, timeout, 5xx, 429; up to 3 "
        "tries), wait in the store and are fetched on the next passes whatever the feed answers "
        "then (their posts are rewritten with the full text); `aggregator feeds` shows how many "
        "wait.",
        default=False,
    )
    content_selector: str | None = key(
        c.selector,
        "CSS selector (selectolax) of the article body on the page; without one a generic "
        "extractor (readability-lxml, trafilatura as fallback) finds it.",
        default=None,
    )
    remove_selectors: tuple[str, ...] = key(
        c.selectors,
        "CSS selectors removed from the page first (share buttons, related links).",
        default=[],
    )
    headers: tuple[tuple[str, str], ...] = key(
        c.headers,
        "Extra request headers (e.g. an access key), sent to the feed's own host only (also "
        "for its full-text pages there), never to other sites; values never appear in logs or "
        "in `feeds`.",
        default={},
        secret=True,
    )
    user_agent: str | None = key(
        c.one_line,
        "This feed's `User-Agent`, for the feed and its crawled pages.",
        default=None,
        shown=_FROM_FETCH,
    )
    timeout: float | None = key(
        c.positive_duration,
        "This feed's request timeout, for the feed and its crawled pages.",
        default=None,
        shown=_FROM_FETCH,
    )
    backlog: int | None = key(
        c.non_negative_int, "See `[fetch] backlog`.", default=None, shown=_FROM_FETCH
    )
    include: tuple[FilterRule, ...] = key(
        c.rules, "Filter rules of this feed, beside `[filters] include`.", default=[]
    )
    exclude: tuple[FilterRule, ...] = key(
        c.rules, "Filter rules of this feed, beside `[filters] exclude`.", default=[]
    )
    source: str = key(
        c.one_of(*SOURCE_KINDS),
        '`"feed"` (RSS, Atom, RDF, JSON Feed), `"html"` (a web page) or `"json"` (a JSON API): '
        "see [sources.md](sources.md).",
        default="feed",
    )
    select: SourceSelect | None = key(
        c.table,
        "The `[feeds.select]` table: where a page's or an API's items and their fields are "
        '(see [sources.md](sources.md)). Required for `source = "json"`; an `html` source '
        'without one finds its items itself; not allowed with `source = "feed"`.',
        default=None,
    )
    dedupe: bool = key(
        c.boolean,
        "`false`: this feed's articles are never merged with another feed's, nor others' with "
        "it (see `[dedupe]`).",
        default=True,
    )

    @property
    def post_author(self) -> str:
        return self.author or self.name


# config.toml's tables, in the order docs/config.md lists them; [[feeds]] is an array of them.
SECTIONS: dict[str, type] = {
    "storage": StorageConfig,
    "output": OutputConfig,
    "fetch": FetchConfig,
    "schedule": ScheduleConfig,
    "daemon": DaemonConfig,
    "dedupe": DedupeConfig,
    "filters": FiltersConfig,
}
FEEDS = "feeds"
