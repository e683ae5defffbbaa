"""``aggregator add URL``: discovery over a real HTTP server on 127.0.0.1, the config edited in
place (comments kept), duplicates refused, and the added feed fetched by ``aggregator fetch``."""

from __future__ import annotations

import tomllib

import pytest
from server import FEEDS_DIR, FeedResource, LoopbackServer, Workspace

from aggregator.config import load_config

RSS = (FEEDS_DIR / "rss2.xml").read_bytes()
ATOM = (FEEDS_DIR / "atom.xml").read_bytes()

CONFIG = """\
# aggregator config -- comments and layout must survive `aggregator add`.
[storage]
database = "{database}"  # beside the posts

[output]
posts_dir = "{posts}"
atom_path = "{atom}"

[fetch]
allow_private = true   # the test server is on loopback
retries = 0

# Feeds, by hand:
[[feeds]]
name = "Existing"
url = "{existing}"
categories = ["old"]
"""


@pytest.fixture
def site(loopback: LoopbackServer) -> LoopbackServer:
    """A blog home page advertising its Atom feed, and an older RSS feed already configured."""
    loopback.routes["/"] = FeedResource(
        b'<!doctype html><html><head><title>Blog</title><link rel="alternate" '
        b'type="application/atom+xml" title="Posts" href="/atom.xml"></head>'
        b"<body><p>Hello.</p></body></html>",
        "text/html; charset=utf-8",
        validators=False,
    )
    loopback.routes["/atom.xml"] = FeedResource(ATOM, "application/atom+xml")
    loopback.routes["/existing.xml"] = FeedResource(RSS)
    return loopback


def commented_config(ws: Workspace, site: LoopbackServer) -> str:
    return ws.write_config_text(CONFIG, existing=site.url("/existing.xml"))


def test_add_discovers_the_feed_of_a_page_and_appends_it(
    ws: Workspace, site: LoopbackServer
) -> None:
    old = commented_config(ws, site)
    result = ws.run("add", site.url("/"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'added "Loopback Atom": {site.url("/atom.xml")}\n'
    new = ws.config_path.read_text(encoding="utf-8")
    assert new.startswith(old)  # every byte before, comments included, is kept
    assert tomllib.loads(new[len(old) :]) == {
        "feeds": [{"name": "Loopback Atom", "url": site.url("/atom.xml")}]
    }
    assert new[len(old) - 1 : len(old) + 1] == "\n\n"  # one blank line before the new table


def test_the_added_feed_is_fetched(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    assert ws.run("add", site.url("/"), "--category", "blogs").returncode == 0
    site.clear_log()
    result = ws.fetch("--feed", "Loopback Atom")
    assert result.returncode == 0, result.stderr
    assert "1 ok" in result.stderr and "2 new" in result.stderr
    assert [r.path for r in site.requests] == ["/atom.xml"]
    assert len(ws.posts()) == 2
    assert all(b"- blogs\n" in post for post in ws.posts().values())


def test_name_and_categories_from_the_command_line(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    result = ws.run(
        "add", site.url("/"), "--name", "My Blog", "--category", "Tech", "--category", "Blogs"
    )
    assert result.returncode == 0, result.stderr
    feed = load_config(ws.config_path).feed("My Blog")
    assert feed is not None
    assert (feed.url, feed.categories) == (site.url("/atom.xml"), ("Tech", "Blogs"))


def test_config_after_the_command(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    result = ws.run("add", site.url("/atom.xml"), config_first=False)
    assert result.returncode == 0, result.stderr
    assert load_config(ws.config_path).feed("Loopback Atom") is not None


def test_a_title_already_taken_gets_a_number(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    site.routes["/other.xml"] = FeedResource(RSS.replace(b"Loopback RSS", b"Existing"))
    result = ws.run("add", site.url("/other.xml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('added "Existing (2)"')


def test_a_configured_url_exits_2_before_any_request(ws: Workspace, site: LoopbackServer) -> None:
    old = commented_config(ws, site)
    typed = site.url("/existing.xml").replace("http://", "HTTP://")
    result = ws.run("add", typed)
    assert result.returncode == 2
    assert result.stderr == (
        f"aggregator: {typed} is already configured as feed 'Existing' "
        f"(as {site.url('/existing.xml')}) in {ws.config_path}\n"
    )
    assert site.requests == []
    assert ws.config_path.read_text(encoding="utf-8") == old


def test_a_discovered_url_already_configured_exits_2(ws: Workspace, site: LoopbackServer) -> None:
    old = commented_config(ws, site)
    site.routes["/blog"] = FeedResource(
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/existing.xml">',
        "text/html",
        validators=False,
    )
    result = ws.run("add", site.url("/blog"))
    assert result.returncode == 2
    assert result.stderr == (
        f"aggregator: {site.url('/blog')} leads to the feed {site.url('/existing.xml')}, "
        f"which is already configured as feed 'Existing' in {ws.config_path}\n"
    )
    assert ws.config_path.read_text(encoding="utf-8") == old


def test_a_name_already_taken_exits_2(ws: Workspace, site: LoopbackServer) -> None:
    old = commented_config(ws, site)
    result = ws.run("add", site.url("/"), "--name", "Existing")
    assert result.returncode == 2
    assert result.stderr == f"aggregator: a feed named 'Existing' is already in {ws.config_path}\n"
    assert ws.config_path.read_text(encoding="utf-8") == old


def test_a_page_without_a_feed_exits_1_and_changes_nothing(
    ws: Workspace, site: LoopbackServer
) -> None:
    old = commented_config(ws, site)
    site.routes["/plain"] = FeedResource(
        b"<!doctype html><title>No feed</title>", "text/html", validators=False
    )
    del site.routes["/atom.xml"]  # a common path: discovery would find it
    result = ws.run("add", site.url("/plain"))
    assert result.returncode == 1
    assert site.url("/plain") in result.stderr and "tried:" in result.stderr
    assert ws.config_path.read_text(encoding="utf-8") == old


def test_an_unsupported_scheme_exits_2(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    result = ws.run("add", "ftp://example.org/feed")
    assert result.returncode == 2
    assert "expected an http(s) URL or a local file" in result.stderr


def test_a_local_feed_file(ws: Workspace, site: LoopbackServer) -> None:
    commented_config(ws, site)
    local = ws.root / "local.xml"
    local.write_bytes(RSS)
    result = ws.run("add", str(local))
    assert result.returncode == 0, result.stderr
    feed = load_config(ws.config_path).feed("Loopback RSS")
    assert feed is not None and feed.url == local.as_uri()


def test_add_without_a_config_file_creates_a_starter_one(
    ws: Workspace, site: LoopbackServer
) -> None:
    result = ws.run("add", site.url("/"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'added "Loopback Atom": {site.url("/atom.xml")}\n'
    assert f"created {ws.config_path}: a starter config" in result.stderr
    config = load_config(ws.config_path)
    assert [(f.name, f.url) for f in config.feeds] == [("Loopback Atom", site.url("/atom.xml"))]
    assert config.output.posts_dir == ws.root / "data" / "posts"


def test_add_that_fails_without_a_config_file_creates_nothing(
    ws: Workspace, site: LoopbackServer
) -> None:
    site.routes["/plain"] = FeedResource(
        b"<!doctype html><title>No feed</title>", "text/html", validators=False
    )
    del site.routes["/atom.xml"]
    result = ws.run("add", site.url("/plain"))
    assert result.returncode == 1
    assert not ws.config_path.exists()
