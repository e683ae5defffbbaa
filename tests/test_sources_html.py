"""read_html_source: a list page + `[feeds.select]` -> entries, skipped items, the next page.
Fixtures in tests/fixtures/sources/ (ZAKER-like page data, a server-rendered list with
pagination, a Next.js page, a Nuxt page with a JavaScript literal, a GB2312 page with relative
Chinese dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import ParseError
from aggregator.models import ParsedEntry
from aggregator.steps.normalize import clean_title
from aggregator.steps.sources import MAX_ITEMS, SourcePage, parse_select, read_html_source

NOW = datetime(2024, 1, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")

ZAKER_SELECT = {
    "script": "window.WinPageData",
    "items": "data.article",
    "title": "title",
    "link": "url",
    "summary": "desc",
    "author": "author_name",
    "date": "date",
    "date_format": "%m月%d日",
    "timezone": "Asia/Shanghai",
    "image": "thumbnail_mpic",
    "tags": "tag[*].tag",
    "id": "pk",
    "next_page": "next_url.value",
}
LIST_SELECT = {
    "items": "div.article-item",
    "title": "h2 a",
    "link": "h2 a@href",
    "date": "time@datetime",
    "summary": "p.desc",
    "image": "img.thumb",
    "author": ".byline",
    "id": "@data-id",
    "tags": "ul.tags li",
    "next_page": "a.next@href",
    "pages": 3,
}


def read(
    fixtures: Path, name: str, url: str, table: dict[str, Any] | None, content_type: str = ""
) -> SourcePage:
    body = (fixtures / "sources" / name).read_bytes()
    select = parse_select("html", table) if table is not None else None
    return read_html_source(body, url, content_type or "text/html", select, NOW)


def read_text(html: str, table: dict[str, Any], url: str = "https://site.example/") -> SourcePage:
    return read_html_source(html.encode(), url, "text/html", parse_select("html", table), NOW)


def test_zaker_channel_from_page_data(fixtures: Path) -> None:
    page = read(fixtures, "zaker-channel.html", "https://www.myzaker.com/channel/13", ZAKER_SELECT)
    entries = page.feed.entries
    assert page.feed.title == "科技频道_ZAKER新闻"
    assert page.skipped == 1  # the advert slot: no title, no url
    assert len(entries) == 5
    first = entries[0]
    assert first == ParsedEntry(
        guid="60ad9a2b8e9f0946a4212d3e",
        # protocol-relative `//www.myzaker.com/...`, with JSON's escaped slashes
        link="https://www.myzaker.com/article/60ad9a2b8e9f0946a4212d3e",
        title='敢为人先上"云端" 数聚黔中成"良田"——贵州在实施数字经济战略上抢新机',
        author="贵州日报",
        content_html="发展大数据是贵州一项具有划时代意义的重大战略选择，"
        "作为全国第一个提出大数据战略行动并付诸实践的省份。",
        base_url="https://www.myzaker.com/channel/13",
        published=datetime(2023, 5, 26, tzinfo=SHANGHAI),  # `05月26日`: last year's
        updated=None,
        image_urls=("https://zkres3.myzaker.com/202105/60ad9a2b8e9f0946a4212d3e_320.jpg",),
        tags=("大数据", "贵州"),
    )
    assert entries[1].title == "华为发布鸿蒙 OS 2.0 手机开发者 Beta 版"  # \\u escapes
    assert entries[3].image_urls == ()  # an empty thumbnail
    assert entries[4].published == datetime(2023, 12, 31, tzinfo=SHANGHAI)
    assert page.next_page == (
        "https://www.myzaker.com/news/next_new.php?f=myzaker_com&url=https%3A%2F%2F"
        "iphone.myzaker.com%2Fzaker%2Fblog2news.php%3Fapp_id%3D13&_version=6.5"
    )
    assert page.feed.warning is None


def test_server_rendered_list(fixtures: Path) -> None:
    page = read(fixtures, "list-page1.html", "https://press.example/news/", LIST_SELECT)
    first, second, third = page.feed.entries
    assert page.skipped == 1  # the sponsored block
    assert page.feed.title == "News & Notes — Example Press"
    # <base href> and relative links
    assert first.link == "https://press.example/news/2024/01/solar-roads"
    assert first.guid == "n-301"
    assert first.title == "Solar roads, ten years on"
    assert first.published == datetime(2024, 1, 1, 17, 30, tzinfo=UTC)
    assert first.author == "Ada Park"
    assert first.tags == ("energy", "roads")
    # img without @attribute: the lazy-loading data-src before the placeholder src
    assert first.image_urls == ("https://press.example/img/solar.jpg",)
    # the summary is inner HTML, its relative URLs resolved later against the page's base
    assert first.content_html.startswith(
        'A decade after the first pilot, <a href="/topics/energy">energy</a>'
    )
    assert first.base_url == "https://press.example/news/"
    # text that looks like markup stays text
    assert second.title == "The 5 &lt;best&gt; trains &amp; why"
    assert clean_title(second.title) == "The 5 <best> trains & why"
    assert second.link == "https://other.example/story?id=9&ref=press"
    # a javascript: link is dropped; the item keeps its title
    assert (third.title, third.link) == ("A link that runs script", None)
    assert page.next_page == "https://press.example/news/?page=2"


def test_second_page_ends_the_pagination(fixtures: Path) -> None:
    page = read(fixtures, "list-page2.html", "https://press.example/news/?page=2", LIST_SELECT)
    assert [e.guid for e in page.feed.entries] == ["n-298", "n-297"]
    assert page.next_page is None
    # a configured key that matched in no item is said, not silently empty
    assert page.feed.warning is not None
    assert "`image` (img.thumb) matched in none of 2 items" in page.feed.warning
    assert "`tags` (ul.tags li) matched in none of 2 items" in page.feed.warning


def test_next_js_page_data(fixtures: Path) -> None:
    table = {
        "script": "script#__NEXT_DATA__",
        "items": "props.pageProps.posts",
        "title": "title",
        "link": "url",
        "date": "date",
        "summary": "excerpt",
        "image": "coverImage.url",
        "author": "author.name",
        "tags": "tags[*].name",
        "next_page": "props.pageProps.pagination.next",
    }
    page = read(fixtures, "nextjs-blog.html", "https://eng.example.dev/blog", table)
    first, second, third = page.feed.entries
    assert first.link == "https://eng.example.dev/blog/design-system"
    assert first.guid is None  # no `id`: the entry key is the link
    assert first.published == datetime(2024, 1, 3, 10, tzinfo=UTC)
    assert first.image_urls == ("https://eng.example.dev/_next/static/media/ds.4f1c.jpg",)
    assert first.tags == ("design", "frontend")
    assert first.content_html.endswith("<strong>why tokens came first</strong>.")
    assert (second.image_urls, second.tags, second.author) == ((), ("performance",), "Jon Bell")
    assert third.link == "https://eng.example.dev/blog/postgres"
    assert page.next_page == "https://eng.example.dev/blog/page/2"


def test_nuxt_javascript_literal(fixtures: Path) -> None:
    table = {
        "script": "window.__NUXT__",
        "items": "data[0].articles",
        "title": "title",
        "link": "link",
        "date": "ctime",
        "author": "author.nick",
        "image": "cover",
        "id": "id",
    }
    page = read(fixtures, "nuxt-literal.html", "https://www.example.cn/news", table)
    first, second = page.feed.entries
    assert (first.guid, first.link) == ("90211", "https://www.example.cn/p/90211")
    assert first.published == datetime(2024, 1, 2, tzinfo=UTC)  # epoch milliseconds
    assert second.published == datetime(2024, 1, 1, 12, tzinfo=UTC)  # epoch seconds
    assert first.image_urls == ("https://img.example.cn/90211.jpg",)
    assert second.author == "李华"


def test_gb2312_page_with_relative_chinese_dates(fixtures: Path) -> None:
    table = {
        "items": "ul.news-list li",
        "title": "a.title",
        "link": "a.title@href",
        "date": "span.time",
        "author": "span.src",
        "timezone": "Asia/Shanghai",
        "next_page": "a.next",
    }
    page = read(fixtures, "cn-relative.html", "https://news.example.cn/tech/", table)
    entries = page.feed.entries
    assert entries[0].title == "国产大飞机 C919 第三架交付"
    assert entries[0].author == "新浪科技"
    assert [e.published or e.updated for e in entries] == [
        NOW,  # 刚刚
        NOW - timedelta(minutes=5),
        NOW - timedelta(hours=3),
        datetime(2024, 1, 1, 10, 20, tzinfo=SHANGHAI),  # 昨天 10:20
        datetime(2023, 12, 31, 8, 0, tzinfo=SHANGHAI),  # 前天 08:00
        NOW - timedelta(days=2),
        datetime(2023, 12, 28, 16, 45, tzinfo=SHANGHAI),  # 12-28 16:45
        datetime(2023, 12, 25, tzinfo=SHANGHAI),  # 12月25日
    ]
    # An age moves with the reading: an estimate (`updated`), not the item's own date, so that
    # the next pass does not see every aged item as changed. A day and a clock time stay put.
    assert [e.published is None for e in entries] == [1, 1, 1, 0, 0, 1, 0, 0]
    # `a.next` without @href: a link's href
    assert page.next_page == "https://news.example.cn/tech/list_2.html"


def test_zero_items_fails_naming_the_selector(fixtures: Path) -> None:
    table = {**LIST_SELECT, "items": "div.article-card"}
    with pytest.raises(ParseError) as caught:
        read(fixtures, "list-page1.html", "https://press.example/news/", table)
    assert caught.value.subject == "https://press.example/news/"
    assert caught.value.message == "0 items for `items` (div.article-card)"


def test_zero_items_in_page_data(fixtures: Path) -> None:
    with pytest.raises(ParseError, match=r"0 items for `items` \(data.articles\)"):
        read(
            fixtures,
            "zaker-channel.html",
            "https://z.example/",
            {**ZAKER_SELECT, "items": "data.articles"},
        )
    with pytest.raises(ParseError, match=r"an object, not a list .*`data\[\*\]`"):
        read(
            fixtures, "zaker-channel.html", "https://z.example/", {**ZAKER_SELECT, "items": "data"}
        )


def test_markup_that_changed_fails_loudly(fixtures: Path) -> None:
    table = {**LIST_SELECT, "title": "h3 a", "link": "h3 a@href"}
    with pytest.raises(ParseError, match=r"4 items for `items` .* but none has a title or a link"):
        read(fixtures, "list-page1.html", "https://press.example/news/", table)


def test_without_title_and_link_each_items_first_link() -> None:
    html = """<ul><li class=s><span>new</span> <a href="/a">First story</a> <a href="/x">more</a>
    </li><li class=s><a href="/b">Second <b>story</b></a></li><li class=s>no link</li></ul>"""
    page = read_text(html, {"items": "li.s"})
    assert [(e.title, e.link) for e in page.feed.entries] == [
        ("First story", "https://site.example/a"),
        ("Second story", "https://site.example/b"),
    ]
    assert page.skipped == 1


def test_items_that_are_links_themselves() -> None:
    html = (
        '<div><a class="card" href="/p/1" data-id="1">One</a>'
        '<a class="card" href="/p/2">Two</a></div>'
    )
    page = read_text(html, {"items": "a.card", "link": "@href", "id": "@data-id"})
    assert [(e.title, e.link, e.guid) for e in page.feed.entries] == [
        ("One", "https://site.example/p/1", "1"),
        ("Two", "https://site.example/p/2", None),
    ]


def test_an_item_whose_only_link_runs_script_is_skipped() -> None:
    html = '<p class=i><a href="javascript:go()"></a></p><p class=i><a href="/b">B</a></p>'
    page = read_text(html, {"items": "p.i", "title": "a", "link": "a@href"})
    assert [e.link for e in page.feed.entries] == ["https://site.example/b"]
    assert page.skipped == 1


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>",
     "vbscript:x", "mailto:a@b.example", "http://[oops"],
)  # fmt: skip
def test_non_http_links_are_dropped(href: str) -> None:
    html = f'<div class=i><a href="{href}">Title</a><img src="{href}"></div>'
    page = read_text(html, {"items": "div.i", "link": "a@href", "image": "img@src"})
    (entry,) = page.feed.entries
    assert (entry.link, entry.image_urls, entry.title) == (None, (), "Title")


def test_next_page_pointing_at_itself_or_elsewhere_than_http_is_none() -> None:
    html = '<div class=i><a href="/a">A</a></div><a class=next href="javascript:next()">›</a>'
    assert read_text(html, {"items": "div.i", "next_page": "a.next"}).next_page is None
    html = '<div class=i><a href="/a">A</a></div><a class=next href="/list">›</a>'
    page = read_text(html, {"items": "div.i", "next_page": "a.next"}, "https://site.example/list")
    assert page.next_page is None


def test_item_count_is_capped() -> None:
    html = "".join(f'<p class=i><a href="/{n}">Story {n}</a></p>' for n in range(MAX_ITEMS + 50))
    page = read_text(html, {"items": "p.i"})
    assert len(page.feed.entries) == MAX_ITEMS
    assert page.feed.entries[-1].title == f"Story {MAX_ITEMS - 1}"
    assert page.feed.warning == f"{MAX_ITEMS + 50} items: only the first {MAX_ITEMS} were read"


def test_a_huge_page_is_read_within_the_caps() -> None:
    # About the default [fetch] max_bytes (16 MiB): bigger pages never reach the reader.
    item = (
        '<div class="item"><a href="/a/{0}">Title {0}</a><p>A summary of some length.</p></div>\n'
    )
    html = "<html><body>" + "".join(item.format(n) for n in range(150_000)) + "</body></html>"
    page = read_text(html, {"items": "div.item", "summary": "p"})
    assert len(page.feed.entries) == MAX_ITEMS
    assert page.feed.entries[0].content_html == "A summary of some length."


def test_a_script_that_never_closes_in_a_css_page() -> None:
    html = '<div class=i><a href="/a">A</a></div><script>var x = {"' + "a: [1, '{'], " * 200_000
    page = read_text(html, {"items": "div.i"})
    assert [e.link for e in page.feed.entries] == ["https://site.example/a"]
    # Tags in the unclosed script might be markup to a parser: the page is refused, promptly.
    with pytest.raises(ParseError, match="nests too deeply"):
        read_text(html + "<div class=i>" * 50_000, {"items": "div.i"})


def test_a_page_nested_too_deeply_is_a_parse_error() -> None:
    html = "<div>" * 20_000 + '<p class=i><a href="/a">A</a></p>'
    with pytest.raises(ParseError, match="nests too deeply"):
        read_text(html, {"items": "p.i"})


def test_undated_items_have_no_date_and_unreadable_dates_are_said() -> None:
    html = '<p class=i><a href="/a">A</a><time>someday</time></p><p class=i><a href="/b">B</a></p>'
    page = read_text(html, {"items": "p.i", "date": "time"})
    assert [e.published for e in page.feed.entries] == [None, None]
    assert page.feed.warning == "`date` (time): 1 of 2 dates not understood (date_format?)"


def test_time_element_prefers_its_datetime_attribute() -> None:
    html = (
        '<p class=i><a href="/a">A</a><time datetime="2023-12-30T10:00:00Z">3 days ago</time></p>'
    )
    (entry,) = read_text(html, {"items": "p.i", "date": "time"}).feed.entries
    assert entry.published == datetime(2023, 12, 30, 10, tzinfo=UTC)
