"""`source = "html"` without [feeds.select]: the items found from JSON-LD, page state or the
page's repeated link blocks, compared with what a person's selectors find."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.steps.sources import SourcePage, parse_select, read_html_source
from bench.autodetect import measure

NOW = datetime(2024, 1, 2, 4, 0, tzinfo=UTC)
URL = "https://site.example/list"
SELECTORS = tomllib.loads(
    (Path(__file__).parent / "fixtures" / "sources" / "selectors.toml").read_text()
)


def detect(html: str, url: str = URL) -> SourcePage:
    return read_html_source(html.encode(), url, "text/html", None, NOW)


def links(page: SourcePage) -> list[str | None]:
    return [e.link for e in page.feed.entries]


def linked(page: SourcePage) -> list[tuple[str, str | None]]:
    """(title, link) of the entries with a link: autodetect finds items by their links."""
    return [(e.title, e.link) for e in page.feed.entries if e.link]


@pytest.mark.parametrize("name", sorted(SELECTORS))
def test_finds_what_the_persons_selectors_find(fixtures: Path, name: str) -> None:
    spec = SELECTORS[name]
    body = (fixtures / "sources" / f"{name}.html").read_bytes()
    manual = read_html_source(body, spec["url"], "", parse_select("html", spec["select"]), NOW)
    auto = read_html_source(body, spec["url"], "", None, NOW)
    assert linked(auto) == linked(manual)


def test_measure_counts_pages_found(fixtures: Path) -> None:
    rows = measure(fixtures / "sources")
    assert [r.page for r in rows] == list(SELECTORS)
    assert all(r.found and r.recall == 1.0 and r.precision == 1.0 for r in rows)


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("jsonld-list", "JSON-LD"),
        ("nextjs-blog", "page state"),
        ("zaker-channel", "page state"),  # any window.X = {...}, here window.WinPageData
        ("wordpress-home", "link blocks"),
        ("cn-portal", "link blocks"),
    ],
)
def test_where_the_items_were_found(fixtures: Path, name: str, method: str) -> None:
    body = (fixtures / "sources" / f"{name}.html").read_bytes()
    page = read_html_source(body, SELECTORS[name]["url"], "", None, NOW)
    assert page.detected == method


def test_link_blocks_read_the_fields_around_each_link(fixtures: Path) -> None:
    body = (fixtures / "sources" / "wordpress-home.html").read_bytes()
    page = read_html_source(body, "https://blog.example.org/", "", None, NOW)
    first = page.feed.entries[0]
    assert first.title == "The winter release: faster search and a dark mode"
    assert first.published == datetime(2024, 1, 2, 8, 30, tzinfo=UTC)
    assert first.image_urls == (
        "https://blog.example.org/wp-content/uploads/winter-release-1200x675.jpg",
    )
    assert first.content_html == (
        "Faster search, dark mode and a new editor for every site on the network."
    )
    assert page.next_page is None  # no rel=next on this theme's pager


def test_json_ld_single_article_is_not_a_list() -> None:
    article = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "One story",
               "url": URL + "/one"}  # fmt: skip
    html = f'<script type="application/ld+json">{json.dumps(article)}</script><p>text</p>'
    with pytest.raises(ParseError, match=r"no items found without \[feeds.select\]"):
        detect(html)


def test_json_ld_articles_in_a_graph() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "url": URL},
            *(
                {
                    "@type": ["BlogPosting"],
                    "headline": f"Post {n}",
                    "url": f"/p/{n}",
                    "datePublished": f"2023-12-0{n}T10:00:00Z",
                    "image": {"url": f"/i/{n}.png"},
                    "author": [{"@type": "Person", "name": "Ann"}],
                }
                for n in (1, 2, 3)
            ),
        ],
    }
    html = f'<script type="application/ld+json">{json.dumps(graph)}</script>'
    page = detect(html)
    assert page.detected == "JSON-LD"
    first = page.feed.entries[0]
    assert (first.title, first.link) == ("Post 1", "https://site.example/p/1")
    assert first.published == datetime(2023, 12, 1, 10, tzinfo=UTC)
    assert (first.image_urls, first.author) == (("https://site.example/i/1.png",), "Ann")


def test_page_state_objects_of_objects_and_rendered_titles() -> None:
    state = {
        "ROOT_QUERY": {"posts": {"__ref": "x"}},
        **{
            f"Post:{n}": {
                "__typename": "Post",
                "title": {"rendered": f"Story &amp; {n}"},
                "link": f"https://site.example/s/{n}",
                "date": "2023-12-01T00:00:00",
            }
            for n in range(4)
        },
    }
    html = f"<script>window.__APOLLO_STATE__ = {json.dumps(state)};</script><div id=app></div>"
    page = detect(html)
    assert page.detected == "page state"
    assert links(page) == [f"https://site.example/s/{n}" for n in range(4)]
    assert page.feed.entries[0].title == "Story &amp; 0"  # HTML, as the state holds it


def test_a_small_list_in_state_does_not_beat_the_page() -> None:
    crumbs = {"breadcrumbs": [{"name": "Home section", "url": "/"},
                              {"name": "Science section", "url": "/science"}]}  # fmt: skip
    stories = "".join(
        f'<div class="story"><h3><a href="/science/{n}">A long enough headline {n}</a></h3></div>'
        for n in range(8)
    )
    page = detect(f"<script>window.__INITIAL_STATE__ = {json.dumps(crumbs)}</script>{stories}")
    assert page.detected == "link blocks"
    assert len(page.feed.entries) == 8


def test_navigation_is_not_a_list() -> None:
    nav = "".join(f'<a href="/section/{n}">A section with a long name {n}</a>' for n in range(9))
    html = f"<header><nav>{nav}</nav></header><main><p>Nothing listed today.</p></main>"
    with pytest.raises(ParseError, match="no items found"):
        detect(html)


def test_short_links_are_not_headlines() -> None:
    html = "<div>" + "".join(f'<a href="/t/{n}">tag {n}</a>' for n in range(30)) + "</div>"
    with pytest.raises(ParseError, match="no items found"):
        detect(html)


def test_rel_next_is_the_next_page() -> None:
    stories = "".join(
        f'<li class="row"><a href="/n/{n}">Some headline that is long {n}</a></li>'
        for n in range(5)
    )
    html = f'<link rel="next" href="/list?page=2"><ul>{stories}</ul>'
    assert detect(html).next_page == "https://site.example/list?page=2"


def test_a_page_nested_too_deeply() -> None:
    with pytest.raises(ParseError, match="nests too deeply"):
        detect("<div>" * 20_000)


def test_a_large_page_is_bounded() -> None:
    row = '<div class="row"><h2><a href="/a/{0}">A headline of some length {0}</a></h2></div>'
    page = detect("<main>" + "".join(row.format(n) for n in range(20_000)) + "</main>")
    assert page.detected == "link blocks"
    # links looked at are capped (blocks.MAX_LINKS), and so the items
    assert 1000 <= len(page.feed.entries) <= 5000


TAG_SOUP = st.lists(
    st.sampled_from(
        [
            '<a href="/x">',
            '<a href="/y/1">A long headline here</a>',
            "<div class=i>",
            "</div>",
            "<li>",
            "<time datetime='2024-01-01'>",
            "<script>window.X = {",
            "title: 'T', url: '/u'}",
            '<script type="application/ld+json">{"@type": "ItemList", "itemListElement": [',
            "</script>",
            "<header>",
            "<nav>",
            "<p>Some words that make a summary.</p>",
            "]}",
        ]
    ),
    max_size=40,
)


@given(TAG_SOUP)
def test_detect_raises_only_parse_error(parts: list[str]) -> None:
    try:
        page = detect("".join(parts))
    except ParseError as e:
        assert e.subject == URL
    else:
        assert page.detected in ("JSON-LD", "page state", "link blocks")
        assert all(e.link for e in page.feed.entries)
