"""config.toml: every contract key loads; every mistake names the file, the key and what was
expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aggregator.config import Config, load_config, parse_duration
from aggregator.errors import ConfigError

MINIMAL = """
[[feeds]]
name = "A"
url = "https://a.example/feed.xml"
"""

FULL = """
[output]
posts_dir = "site/source/_posts"
atom_path = "site/atom.xml"
atom_limit = 50
atom_title = "My aggregator"
atom_id = "urn:uuid:0b6b3a2c-1111-4d6e-9a6a-1d2e3f405060"
atom_url = "https://blog.example/atom.xml"
json_feed_path = "site/feed.json"
json_feed_url = "http://blog.example:8080/feed.json"
placeholder_image = "https://img.example/{n}.jpg"
leading_blank_line = false
atom_every = "2m"
on_change = ["hexo", "generate"]
on_change_cwd = "site"
on_change_timeout = "5m"

[fetch]
concurrency = 8
per_host = 2
timeout = "45s"
max_bytes = 1048576
user_agent = "test-agent/1"
max_redirects = 5
max_retry_wait = "10s"
allow_private = true
proxy = "http://127.0.0.1:3128"
backlog = 20

[schedule]
interval = "1h"
min_interval = "10m"
max_interval = "2d"
adaptive = false
max_failures = 3
tick = "1s"
lease = "10m"

[storage]
database = "db/agg.sqlite3"
keep_days = 30

[daemon]
grace = "5s"
health = "127.0.0.1:8088"

[dedupe]
near_duplicates = false
threshold = 0.75
containment = 1
min_tokens = 25

[filters]
include = ["title:(?i)python"]
exclude = ["content:casino"]

[[feeds]]
name = "A"
url = "https://a.example/feed.xml"
categories = ["news", "tech"]
author = "Alice"
interval = "15m"
adaptive = true
enabled = false
full_text = true
content_selector = "article"
remove_selectors = [".ad", "nav"]
headers = { "X-Access-Key" = "secret" }
user_agent = "feed-agent/2"
timeout = 12
backlog = 5
include = ["author:Alice", "link:example"]
exclude = ["title:(?i)sponsored", "category:ads"]
dedupe = false
source = "feed"

[[feeds]]
name = "Local"
url = "feeds/local.xml"

[[feeds]]
name = "ZAKER 科技"
url = "https://www.myzaker.com/channel/13"
source = "html"
[feeds.select]
script = "window.WinPageData"
items = "data.article"
title = "title"
link = "url"
date = "date"
date_format = "%m月%d日"
timezone = "Asia/Shanghai"
pages = 2

[[feeds]]
name = "API"
url = "https://blog.example.org/wp-json/wp/v2/posts"
source = "json"
select = { items = "[*]", title = "title.rendered", link = "link" }

[[feeds]]
name = "Page"
url = "https://press.example/news/"
source = "html"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def config_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value), "the error must name the file"
    return info.value


def test_every_contract_key_loads(tmp_path: Path) -> None:
    c = load(tmp_path, FULL)
    base = tmp_path.resolve()
    o = c.output
    assert o.posts_dir == base / "site/source/_posts"
    assert o.atom_path == base / "site/atom.xml"
    assert (o.atom_limit, o.atom_title) == (50, "My aggregator")
    assert o.atom_id == "urn:uuid:0b6b3a2c-1111-4d6e-9a6a-1d2e3f405060"
    assert o.json_feed_path == base / "site/feed.json"
    assert o.atom_url == "https://blog.example/atom.xml"
    assert o.json_feed_url == "http://blog.example:8080/feed.json"
    assert o.placeholder_image == "https://img.example/{n}.jpg"
    assert o.leading_blank_line is False
    assert (o.atom_every, o.on_change_timeout) == (120.0, 300.0)
    assert o.on_change == ("hexo", "generate")
    assert o.on_change_cwd == base / "site"

    f = c.fetch
    assert (f.concurrency, f.per_host, f.timeout, f.max_bytes) == (8, 2, 45.0, 1048576)
    assert (f.user_agent, f.max_redirects, f.max_retry_wait) == ("test-agent/1", 5, 10.0)
    assert (f.allow_private, f.proxy, f.backlog) == (True, "http://127.0.0.1:3128", 20)

    s = c.schedule
    assert (s.interval, s.min_interval, s.max_interval) == (3600.0, 600.0, 172800.0)
    assert (s.adaptive, s.max_failures, s.tick, s.lease) == (False, 3, 1.0, 600.0)

    assert c.storage.database == str(base / "db/agg.sqlite3")
    assert c.storage.keep_days == 30
    assert (c.daemon.grace, c.daemon.health) == (5.0, "127.0.0.1:8088")
    assert [(r.field, r.pattern.pattern) for r in c.include] == [("title", "(?i)python")]
    assert [(r.field, r.pattern.pattern) for r in c.exclude] == [("content", "casino")]

    a = c.feed("A")
    assert a is not None
    assert (a.url, a.categories, a.author, a.post_author) == (
        "https://a.example/feed.xml",
        ("news", "tech"),
        "Alice",
        "Alice",
    )
    assert (a.interval, a.adaptive, a.enabled, a.full_text) == (900.0, True, False, True)
    assert (a.content_selector, a.remove_selectors) == ("article", (".ad", "nav"))
    assert a.headers == (("X-Access-Key", "secret"),)
    assert (a.user_agent, a.timeout, a.backlog) == ("feed-agent/2", 12.0, 5)
    assert [r.field for r in a.include] == ["author", "link"]
    assert [r.field for r in a.exclude] == ["title", "category"]
    assert a.exclude[0].pattern.search("A SPONSORED post")
    assert (a.dedupe, a.source, a.select) == (False, "feed", None)

    d = c.dedupe
    assert (d.near_duplicates, d.threshold, d.containment, d.min_tokens) == (False, 0.75, 1.0, 25)
    assert isinstance(d.containment, float)

    zaker = c.feed("ZAKER 科技")
    assert zaker is not None and zaker.select is not None
    assert (zaker.source, zaker.dedupe) == ("html", True)
    s = zaker.select
    assert (s.kind, s.script, s.items, s.title, s.link) == (
        "html",
        "window.WinPageData",
        "data.article",
        "title",
        "url",
    )
    assert (s.date, s.date_format, s.timezone, s.pages) == ("date", "%m月%d日", "Asia/Shanghai", 2)
    api = c.feed("API")
    assert api is not None and api.select is not None
    assert (api.source, api.select.kind, api.select.items) == ("json", "json", "[*]")
    page = c.feed("Page")
    assert page is not None
    assert (page.source, page.select) == ("html", None), "no select table: the page autodetects"


def test_defaults(tmp_path: Path) -> None:
    c = load(tmp_path, MINIMAL)
    base = tmp_path.resolve()
    assert c.output.atom_limit == 100
    assert c.output.atom_title == "aggregator"
    assert c.output.atom_id is None
    assert c.output.json_feed_path is None
    assert (c.output.atom_url, c.output.json_feed_url) == (None, None)
    assert c.output.placeholder_image == "https://picsum.photos/400/300?random={n}"
    assert c.output.leading_blank_line is True
    assert c.output.atom_every == 60.0
    assert c.output.on_change_timeout == 120.0
    assert c.fetch.max_redirects == 10
    assert c.fetch.max_retry_wait == 30.0
    assert c.fetch.allow_private is False
    assert c.fetch.proxy is None
    assert c.fetch.backlog == 0
    assert (c.schedule.interval, c.schedule.min_interval, c.schedule.max_interval) == (
        1800.0,
        300.0,
        86400.0,
    )
    assert c.schedule.adaptive is True
    assert (c.schedule.max_failures, c.schedule.tick, c.schedule.lease) == (10, 5.0, 300.0)
    assert c.storage.keep_days == 0
    assert c.daemon.grace == 20.0
    assert c.daemon.health is None
    assert (c.dedupe.near_duplicates, c.dedupe.threshold, c.dedupe.containment) == (True, 0.6, 0.8)
    assert c.dedupe.min_tokens == 40
    [feed] = c.feeds
    assert (feed.enabled, feed.headers, feed.backlog, feed.post_author) == (True, (), None, "A")
    assert (feed.source, feed.select, feed.dedupe) == ("feed", None, True)
    assert c.output.posts_dir.is_relative_to(base)
    assert Path(c.storage.database).is_relative_to(base)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (30, 30.0),
        (1.5, 1.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        (" 2h ", 7200.0),
        ("250ms", 0.25),
        (0, 0.0),
    ],
    ids=["str-number", "int", "float", "s", "m", "h", "d", "spaces", "ms", "zero"],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    [True, "", "soon", "15 minutes", "1w", "-5", -5, "1h30m", None, [30]],
    ids=[
        "bool",
        "empty",
        "word",
        "long-unit",
        "weeks",
        "neg-str",
        "neg-int",
        "compound",
        "none",
        "list",
    ],
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("30", 30.0),
        ('"90s"', 90.0),
        ('"15m"', 900.0),
        ('"2h"', 7200.0),
        ('"1d"', 86400.0),
    ],
    ids=["int", "int-again", "s", "m", "h", "d"],
)
def test_every_duration_key_takes_every_form(tmp_path: Path, value: str, seconds: float) -> None:
    text = f"""
[output]
atom_every = {value}
on_change_timeout = {value}
[fetch]
timeout = {value}
max_retry_wait = {value}
[schedule]
interval = {value}
min_interval = {value}
max_interval = {value}
tick = {value}
lease = {value}
[daemon]
grace = {value}
[[feeds]]
name = "A"
url = "https://a.example/"
interval = {value}
timeout = {value}
"""
    c = load(tmp_path, text)
    feed = c.feeds[0]
    values = {
        c.output.atom_every,
        c.output.on_change_timeout,
        c.fetch.timeout,
        c.fetch.max_retry_wait,
        c.schedule.interval,
        c.schedule.min_interval,
        c.schedule.max_interval,
        c.schedule.tick,
        c.schedule.lease,
        c.daemon.grace,
        feed.interval,
        feed.timeout,
    }
    assert values == {seconds}


def test_string_number_duration(tmp_path: Path) -> None:
    c = load(tmp_path, '[schedule]\ninterval = "30"\n' + MINIMAL)
    assert c.schedule.interval == 30.0


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "etc" / "agg"
    conf_dir.mkdir(parents=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(
        conf_dir,
        """
[output]
posts_dir = "posts"
atom_path = "../atom.xml"
[storage]
database = "agg.sqlite3"
[[feeds]]
name = "L"
url = "feeds/l.xml"
""",
    )
    c = load_config(path)
    base = conf_dir.resolve()
    assert c.output.posts_dir == base / "posts"
    assert c.output.atom_path.resolve() == (base.parent / "atom.xml")
    assert c.storage.database == str(base / "agg.sqlite3")
    assert c.feeds[0].url == (base / "feeds/l.xml").as_uri()


def test_relative_config_path_still_resolves_against_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", '[output]\nposts_dir = "p"\n' + MINIMAL)
    monkeypatch.chdir(tmp_path)
    c = load_config(Path("sub/config.toml"))
    assert c.output.posts_dir == (tmp_path / "sub").resolve() / "p"


def test_absolute_paths_and_database_urls_kept(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "posts"
    c = load(
        tmp_path,
        f'[output]\nposts_dir = "{target.as_posix()}"\n'
        '[storage]\ndatabase = "postgresql://u@localhost/agg"\n' + MINIMAL,
    )
    assert c.output.posts_dir == target
    assert c.storage.database == "postgresql://u@localhost/agg"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("feeds/x.xml", "{base}/feeds/x.xml"),
        ("x.xml", "{base}/x.xml"),
        ("/srv/feeds/x.xml", "file:///srv/feeds/x.xml"),
        ("file:///srv/feeds/x.xml", "file:///srv/feeds/x.xml"),
        ("https://a.example/feed", "https://a.example/feed"),
        ("HTTP://A.example/", "HTTP://A.example/"),
    ],
    ids=["relative", "bare-name", "absolute", "file-url", "https", "upper-scheme"],
)
def test_local_paths_and_file_urls_are_feed_urls(tmp_path: Path, url: str, expected: str) -> None:
    c = load(tmp_path, f'[[feeds]]\nname = "X"\nurl = "{url}"\n')
    assert c.feeds[0].url == expected.format(base=tmp_path.resolve().as_uri())


MISTAKES = [
    ("colour = 1\n" + MINIMAL, "colour", "expected one of"),
    ("[output]\npost_dir = 'x'\n" + MINIMAL, "output.post_dir", "expected one of"),
    ("[fetch]\nretry = 1\n" + MINIMAL, "fetch.retry", "expected one of"),
    ("[schedule]\nevery = 1\n" + MINIMAL, "schedule.every", "expected one of"),
    ("[storage]\npath = 'x'\n" + MINIMAL, "storage.path", "expected one of"),
    ("[daemon]\npid = 'x'\n" + MINIMAL, "daemon.pid", "expected one of"),
    ("[filters]\nblock = []\n" + MINIMAL, "filters.block", "expected one of"),
    (MINIMAL + "categorie = ['a']\n", 'feeds[0] "A".categorie', "expected one of"),
    ("output = 3\n" + MINIMAL, "output", "expected a table"),
    ("feeds = 3\n", "feeds", "expected an array"),
    ("feeds = [1]\n", "feeds[0]", "expected a table"),
    ("[fetch]\nconcurrency = '8'\n" + MINIMAL, "fetch.concurrency", "positive integer"),
    ("[fetch]\nconcurrency = 0\n" + MINIMAL, "fetch.concurrency", "positive integer"),
    ("[fetch]\nconcurrency = true\n" + MINIMAL, "fetch.concurrency", "positive integer"),
    ("[fetch]\nmax_bytes = 1.5\n" + MINIMAL, "fetch.max_bytes", "positive integer"),
    ("[fetch]\nallow_private = 'yes'\n" + MINIMAL, "fetch.allow_private", "true or false"),
    ("[fetch]\ntimeout = 'soon'\n" + MINIMAL, "fetch.timeout", "a duration"),
    ("[fetch]\ntimeout = 0\n" + MINIMAL, "fetch.timeout", "expected a duration above zero, got 0"),
    ("[fetch]\ntimeout = '-30s'\n", "fetch.timeout", "expected a duration above zero, got '-30s'"),
    ("[fetch]\nmax_retry_wait = -5\n", "fetch.max_retry_wait", "of zero or more, got -5"),
    ("[daemon]\ngrace = '-1m'\n", "daemon.grace", "expected a duration of zero or more, got"),
    ("[fetch]\ntimeout = inf\n", "fetch.timeout", 'duration (seconds or a string like "90s"'),
    (
        '[[feeds]]\nname = "中文新闻"\nurl = "gopher://x"\n',
        'feeds[0] "中文新闻".url',
        "http(s) URL",
    ),
    ("[fetch]\nuser_agent = 3\n" + MINIMAL, "fetch.user_agent", "a string"),
    ("[schedule]\ninterval = '1w'\n" + MINIMAL, "schedule.interval", "a duration"),
    ("[schedule]\nmax_failures = -1\n" + MINIMAL, "schedule.max_failures", ">= 0"),
    (
        "[schedule]\nmin_interval = '2d'\nmax_interval = '1d'\n" + MINIMAL,
        "schedule.min_interval",
        "at most",
    ),
    ("[storage]\nkeep_days = 'forever'\n" + MINIMAL, "storage.keep_days", ">= 0"),
    ("[daemon]\nhealth = 8080\n" + MINIMAL, "daemon.health", "a string"),
    ("[daemon]\nhealth = 'localhost'\n" + MINIMAL, "daemon.health", "HOST:PORT"),
    ("[output]\natom_limit = 0\n" + MINIMAL, "output.atom_limit", "positive integer"),
    ("[output]\non_change = 'hexo g'\n" + MINIMAL, "output.on_change", "list of strings"),
    ("[output]\nleading_blank_line = 1\n" + MINIMAL, "output.leading_blank_line", "true or"),
    ("[output]\natom_url = 'atom.xml'\n" + MINIMAL, "output.atom_url", "absolute http(s) URL"),
    ("[output]\natom_url = '/atom.xml'\n" + MINIMAL, "output.atom_url", "absolute http(s)"),
    ("[output]\natom_url = 'ftp://a.example/x'\n" + MINIMAL, "output.atom_url", "http(s) URL"),
    ("[output]\natom_url = 'https:///atom.xml'\n" + MINIMAL, "output.atom_url", "absolute"),
    ("[output]\natom_url = 'https://a.example:x/'\n" + MINIMAL, "output.atom_url", "absolute"),
    ("[output]\natom_url = 'https://[::1/'\n" + MINIMAL, "output.atom_url", "absolute"),
    ("[output]\natom_url = 'https://a.example/a b'\n" + MINIMAL, "output.atom_url", "absolute"),
    ("[output]\natom_url = true\n" + MINIMAL, "output.atom_url", "a string"),
    ("[output]\njson_feed_url = 'feed.json'\n" + MINIMAL, "output.json_feed_url", "http(s) URL"),
    ('[[feeds]]\nurl = "https://a.example/"\n', "feeds[0].name", "missing required key"),
    ('[[feeds]]\nname = "A"\n', 'feeds[0] "A".url', "missing required key"),
    ('[[feeds]]\nname = ""\nurl = "https://a/"\n', "feeds[0].name", "non-empty"),
    ('[[feeds]]\nname = 3\nurl = "https://a/"\n', "feeds[0].name", "a string"),
    ('[[feeds]]\nname = "A\\nB"\nurl = "https://a/"\n', "feeds[0].name", "single line"),
    ('[[feeds]]\nname = "A"\nurl = "ftp://a/x"\n', 'feeds[0] "A".url', "http(s) URL"),
    ('[[feeds]]\nname = "A"\nurl = ["x"]\n', 'feeds[0] "A".url', "a string"),
    (MINIMAL + "categories = 'news'\n", 'feeds[0] "A".categories', "list of strings"),
    (MINIMAL + "categories = ['a', 1]\n", 'feeds[0] "A".categories', "list of strings"),
    (MINIMAL + "enabled = 'no'\n", 'feeds[0] "A".enabled', "true or false"),
    (MINIMAL + "headers = ['X: y']\n", 'feeds[0] "A".headers', "table of string"),
    (MINIMAL + "headers = { X = 1 }\n", 'feeds[0] "A".headers', "table of string"),
    (MINIMAL + 'headers = { "Bad Name" = "x" }\n', 'feeds[0] "A".headers', "HTTP header names"),
    (MINIMAL + 'headers = { "X-Key\\n" = "x" }\n', 'feeds[0] "A".headers', "HTTP header names"),
    (MINIMAL + 'headers = { X = "a\\r\\nInjected: 1" }\n', 'feeds[0] "A".headers', "single line"),
    (MINIMAL + 'user_agent = "a\\nb"\n', 'feeds[0] "A".user_agent', "single line"),
    ('[fetch]\nuser_agent = "a\\nb"\n' + MINIMAL, "fetch.user_agent", "single line"),
    (MINIMAL + "backlog = -1\n", 'feeds[0] "A".backlog', ">= 0"),
    (MINIMAL + 'author = "a\\nb"\n', 'feeds[0] "A".author', "single line"),
    (MINIMAL + "exclude = ['title:(']\n", 'feeds[0] "A".exclude', "valid regex"),
    (MINIMAL + "include = ['body:x']\n", 'feeds[0] "A".include', "field:regex"),
    (MINIMAL + "include = ['nocolon']\n", 'feeds[0] "A".include', "field:regex"),
    (MINIMAL + "include = 'title:x'\n", 'feeds[0] "A".include', "list of strings"),
    ("[filters]\nexclude = ['content:[a-']\n" + MINIMAL, "filters.exclude", "valid regex"),
    (
        MINIMAL + '[[feeds]]\nname = "A"\nurl = "https://b.example/"\n',
        'feeds[1] "A".name',
        "unique name",
    ),
    (
        MINIMAL + '[[feeds]]\nname = "B"\nurl = "https://a.example/feed.xml"\n',
        'feeds[1] "B".url',
        "unique URL",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "expected"), [pytest.param(*row, id=row[1]) for row in MISTAKES]
)
def test_mistakes_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    error = config_error(tmp_path, text)
    message = str(error)
    assert error.key == key
    assert f": {key}: " in message, message
    assert expected in message, message


def test_wrong_type_message_shows_the_value(tmp_path: Path) -> None:
    message = str(config_error(tmp_path, "[fetch]\nconcurrency = 'eight'\n" + MINIMAL))
    assert "'eight'" in message


def test_unknown_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    message = str(config_error(tmp_path, MINIMAL + "urll = 'x'\n"))
    assert 'feeds[0] "A".urll' in message
    assert "url" in message and "categories" in message


@pytest.mark.parametrize(
    "text",
    ["[[feeds]\nname = 'A'", "a = = 1", "[output]\nposts_dir = 'x'\n[output]\n", 'x = "\\q"'],
    ids=["bracket", "double-equals", "table-twice", "bad-escape"],
)
def test_invalid_toml(tmp_path: Path, text: str) -> None:
    error = config_error(tmp_path, text)
    assert "invalid TOML" in str(error)
    assert re.search(r"line \d+", str(error)), "the TOML error says where"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "no such config file" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[[feeds]]\nname = "\xff"\nurl = "https://a/"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_no_feeds_is_fine(tmp_path: Path) -> None:
    assert load(tmp_path, "").feeds == ()


def test_the_environment_database_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", "postgresql://agg:pw@127.0.0.1/agg")
    c = load(tmp_path, '[storage]\ndatabase = "local.sqlite3"\n' + MINIMAL)
    assert c.storage.database == "postgresql://agg:pw@127.0.0.1/agg"
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", "")
    c = load(tmp_path, '[storage]\ndatabase = "local.sqlite3"\n' + MINIMAL)
    assert c.storage.database == str(tmp_path.resolve() / "local.sqlite3"), "empty: not set"
