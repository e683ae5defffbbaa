"""Include / exclude rules and the backlog cap: pure rules first, then the real CLI against a
loopback server (never stored, counted, a changed rule applies at the next pass)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from feeds import rss, rss_item
from server import FeedResource, LoopbackServer, Workspace

from aggregator.config import FilterRule
from aggregator.models import Article
from aggregator.steps.filters import Filters, newest


def rule(text: str) -> FilterRule:
    field, _, pattern = text.partition(":")
    return FilterRule(field, re.compile(pattern))


def article(**fields: object) -> Article:
    base: dict[str, object] = dict(
        id="1",
        feed_name="F",
        entry_key="guid:1",
        canonical_url=None,
        link="https://news.example/world/1",
        title="Election results are in",
        author="Jane Doe",
        content="<p>The <b>votes</b> were counted overnight.</p>",
        image=None,
        published=None,
        updated=None,
        fingerprint="",
        content_hash="",
        tags=("Politics", "World"),
    )
    return Article(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("include", "exclude", "kept"),
    [
        ((), (), True),
        (("title:(?i)election",), (), True),
        (("title:^Sport",), (), False),
        (("title:^Sport", "author:Doe"), (), True),  # any include rule
        ((), ("content:votes were",), True),  # the visible text, not the markup
        ((), ("content:votes</b>",), True),
        ((), ("content:votes",), False),
        ((), ("link:/world/",), False),
        ((), ("category:^Politics$",), False),  # the entry's own categories
        ((), ("category:^Local$",), False),  # the feed's configured categories
        ((), ("category:^Sport$",), True),
        (("title:Election",), ("author:Jane",), False),  # exclude wins
    ],
)
def test_rules(include: tuple[str, ...], exclude: tuple[str, ...], kept: bool) -> None:
    filters = Filters(tuple(map(rule, include)), tuple(map(rule, exclude)))
    assert filters.admits(article(), feed_categories=("Local",)) is kept


def test_rules_fingerprint_changes_with_any_rule() -> None:
    a = Filters((rule("title:x"),), ())
    assert Filters().fingerprint() == ""
    assert a.fingerprint() != Filters((), (rule("title:x"),)).fingerprint()
    assert a.fingerprint() != Filters((rule("title:y"),), ()).fingerprint()
    assert a.fingerprint() == Filters((rule("title:x"),), ()).fingerprint()


def test_newest_keeps_document_order() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    items = [("a", t), ("b", t + timedelta(days=2)), ("c", None), ("d", t + timedelta(days=1))]
    assert newest(items, 2, lambda i: i[1]) == [("b", items[1][1]), ("d", items[3][1])]
    assert newest(items, 9, lambda i: i[1]) == items


# -- against a real server --------------------------------------------------------------------

START = datetime(2024, 3, 1, tzinfo=UTC)


def numbered(
    n: int, title: str = "Story {i}", extra: dict[int, str] | None = None, site: str = "news"
) -> bytes:
    """n items, item i published i hours after START (the newest last in time, first in the
    document); ``extra`` replaces some titles."""
    items = [
        rss_item(
            f"urn:{site}:{i}",
            (extra or {}).get(i, title.format(i=i)),
            f"https://{site}.example/{i}",
            f"Body {i}",
            published=START + timedelta(hours=i),
            categories=["Sport" if i % 10 == 0 else "News"],
        )
        for i in reversed(range(n))
    ]
    return rss(*items)


def stored_titles(ws: Workspace) -> set[str]:
    return {r[0] for r in ws.query("SELECT title FROM articles")}


def feeds_json(ws: Workspace) -> dict[str, dict[str, object]]:
    result = ws.run("feeds", "--json")
    assert result.returncode == 0, result.stderr
    return {f["name"]: f for f in json.loads(result.stdout)}


def test_filtered_entries_are_never_stored_and_are_counted(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    sponsored = {3: "Sponsored: buy now", 7: "SPONSORED deal"}
    loopback.routes["/f.xml"] = FeedResource(numbered(20, extra=sponsored))
    ws.write_config(
        [{"name": "F", "url": loopback.url("/f.xml"), "exclude": ["category:^Sport$"]}],
    )
    config = ws.config_path.read_text() + '\n[filters]\nexclude = ["title:(?i)sponsored"]\n'
    ws.config_path.write_text(config)
    result = ws.fetch("--json")
    assert result.returncode == 0, result.stderr
    titles = stored_titles(ws)
    assert len(titles) == 20 - 2 - 2  # 2 sponsored, 2 in Sport (0 and 10)
    assert not any("ponsored" in t.lower() for t in titles)
    assert {"Story 0", "Story 10"}.isdisjoint(titles)
    report = json.loads(result.stdout)
    assert report["summary"]["filtered"] == 4
    assert report["feeds"][0]["filtered"] == 4
    assert "filtered" in result.stderr.lower()
    assert feeds_json(ws)["F"]["filtered"] == 4


def test_a_changed_rule_applies_at_the_next_pass(loopback: LoopbackServer, ws: Workspace) -> None:
    feed = FeedResource(numbered(5))
    loopback.routes["/f.xml"] = feed
    entry = {"name": "F", "url": loopback.url("/f.xml"), "include": ["title:Story [0-2]$"]}
    ws.write_config([entry])
    assert ws.fetch().returncode == 0
    assert stored_titles(ws) == {"Story 0", "Story 1", "Story 2"}
    ws.write_config([entry | {"include": ["title:Story [0-3]$"]}])
    loopback.clear_log()
    assert ws.fetch().returncode == 0
    assert stored_titles(ws) == {"Story 0", "Story 1", "Story 2", "Story 3"}
    (request,) = loopback.requests_for("/f.xml")
    assert request.header("If-None-Match") is None, "the unchanged document was read again"
    loopback.clear_log()
    assert ws.fetch().returncode == 0
    (request,) = loopback.requests_for("/f.xml")
    assert request.header("If-None-Match") == feed.etag, "then conditional again"


def test_an_invalid_regex_exits_2_naming_feed_and_key(ws: Workspace) -> None:
    ws.write_config([{"name": "F", "url": "http://127.0.0.1:9/f", "exclude": ["title:(unclosed"]}])
    result = ws.run("check")
    assert result.returncode == 2
    assert 'feeds[0] "F".exclude' in result.stderr and "regex" in result.stderr


def test_backlog_keeps_the_newest_on_first_fetch_only(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/f.xml"] = FeedResource(numbered(200))
    ws.write_config([{"name": "F", "url": loopback.url("/f.xml")}], fetch={"backlog": 50})
    assert ws.fetch().returncode == 0
    assert stored_titles(ws) == {f"Story {i}" for i in range(150, 200)}
    assert len(ws.posts()) == 50

    # Two new entries later: both are stored, and none of the 150 older ones comes back.
    loopback.routes["/f.xml"] = FeedResource(numbered(202))
    assert ws.fetch().returncode == 0
    assert stored_titles(ws) == {f"Story {i}" for i in range(150, 202)}


def test_a_feeds_backlog_overrides_the_global_one(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/a.xml"] = FeedResource(numbered(30))
    loopback.routes["/b.xml"] = FeedResource(numbered(30, title="Other {i}", site="other"))
    ws.write_config(
        [
            {"name": "A", "url": loopback.url("/a.xml"), "backlog": 0},
            {"name": "B", "url": loopback.url("/b.xml"), "backlog": 3},
        ],
        fetch={"backlog": 10},
    )
    assert ws.fetch().returncode == 0
    counts = dict(
        ws.query(
            "SELECT f.name, count(a.id) FROM feeds f JOIN articles a ON a.feed_id = f.id"
            " GROUP BY f.name"
        )
    )
    assert counts == {"A": 30, "B": 3}
