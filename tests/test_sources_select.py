"""`[feeds.select]` validation (SelectError names the key) and the dotted path language."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config.paths import evaluate, parse_path
from aggregator.config.select import (
    KEYS,
    MAX_PAGES,
    SelectError,
    SourceSelect,
    is_js_target,
    parse_select,
    split_selector,
)

ZAKER = {
    "script": "window.WinPageData",
    "items": "data.article",
    "title": "title",
    "link": "url",
    "date": "date",
    "date_format": "%m月%d日",
    "timezone": "Asia/Shanghai",
    "tags": "tag[*].tag",
}


def test_record_holds_exactly_the_contract_keys() -> None:
    names = {f.name for f in dataclasses.fields(SourceSelect)}
    assert names == {"kind", *KEYS}
    assert set(KEYS) >= {
        "items", "title", "link", "date", "summary", "image", "author", "id",
        "date_format", "timezone", "script", "next_page", "pages",
    }  # fmt: skip


def test_full_html_table_is_kept_as_written() -> None:
    table = {
        "items": "div.article-item",
        "title": "h2 a",
        "link": "h2 a@href",
        "date": "time@datetime",
        "summary": "p.desc",
        "image": "img@data-src",
        "author": ".byline",
        "id": "@data-id",
        "date_format": "%m月%d日",
        "timezone": "Asia/Shanghai",
        "next_page": "a.next@href",
        "pages": 3,
    }
    select = parse_select("html", table)
    assert dataclasses.asdict(select) == {
        **dict.fromkeys(KEYS),
        **table,
        "kind": "html",
    }
    assert not select.uses_paths
    assert select.tz == ZoneInfo("Asia/Shanghai")


def test_script_and_json_use_paths_and_default_to_utc() -> None:
    assert parse_select("html", ZAKER).uses_paths
    select = parse_select("json", {"items": "[*]", "title": "title.rendered"})
    assert select.uses_paths
    assert (select.tz, select.pages) == (UTC, 1)


@pytest.mark.parametrize(
    ("kind", "table", "key", "expected"),
    [
        ("html", {"title": "h2"}, "items", "required"),
        ("html", {"items": "div", "titel": "h2"}, "titel", "unknown key"),
        ("html", {"items": "div["}, "items", "valid CSS selector"),
        ("html", {"items": "div@href"}, "items", "without @attribute"),
        ("html", {"items": "div", "title": "h2 >"}, "title", "valid CSS selector"),
        ("html", {"items": "div", "link": "a@"}, "link", "valid CSS selector"),
        ("html", {"items": "div", "title": 3}, "title", "a string"),
        ("html", {"items": "div", "title": ""}, "title", "non-empty single line"),
        ("html", {"items": "div", "title": "a\nb"}, "title", "non-empty single line"),
        ("html", {"items": "div", "pages": 0}, "pages", f"from 1 to {MAX_PAGES}"),
        ("html", {"items": "div", "pages": MAX_PAGES + 1}, "pages", f"from 1 to {MAX_PAGES}"),
        ("html", {"items": "div", "pages": True}, "pages", "whole number"),
        ("html", {"items": "div", "pages": "2"}, "pages", "whole number"),
        ("html", {"items": "div", "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ("html", {"items": "div", "timezone": "../etc/passwd"}, "timezone", "IANA"),
        ("html", {"items": "div", "date_format": "%Q"}, "date_format", "strptime"),
        ("html", {"items": "div", "date_format": "yesterday"}, "date_format", "% directives"),
        ("html", {"items": "div", "script": "script#["}, "script", "JavaScript name"),
        ("json", {"items": "a", "title": "t", "script": "window.X"}, "script", "only for"),
        ("json", {"items": "a..b", "title": "t"}, "items", "dotted path"),
        ("json", {"items": "a", "title": "tags[x]"}, "title", "dotted path"),
        ("json", {"items": "a", "title": "t", "link": "url["}, "link", "dotted path"),
        ("json", {"items": "a"}, "title", "`title` or `link`"),
        ("feed", {"items": "a"}, "source", '"html" or "json"'),
    ],
)
def test_bad_tables_name_the_key(kind: str, table: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(SelectError) as caught:
        parse_select(kind, table)
    assert caught.value.key == key
    assert expected in caught.value.expected
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{key}: ")


def test_html_without_title_or_link_is_valid() -> None:
    # The reader then takes each item's first link (see test_sources_html).
    assert parse_select("html", {"items": "li.story"}).title is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h2 a@href", ("h2 a", "href")),
        ("@data-id", (None, "data-id")),
        ("p.desc", ("p.desc", None)),
        ("img@data-src", ("img", "data-src")),
        ('a[href$="@x"]', ('a[href$="@x"]', None)),
        ("svg use@xlink:href", ("svg use", "xlink:href")),
    ],
)
def test_split_selector(text: str, expected: tuple[str | None, str | None]) -> None:
    assert split_selector(text) == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("window.WinPageData", True),
        ("__INITIAL_STATE__", True),
        ("window.__NUXT__", True),
        ("script#__NEXT_DATA__", False),
        ('script[type="application/ld+json"]', False),
        ("script.data", False),
    ],
)
def test_script_is_a_js_name_or_a_css_selector(script: str, expected: bool) -> None:
    assert is_js_target(script) is expected
    assert parse_select("html", {"items": "a", "title": "t", "script": script}).script == script


DOC = {
    "data": {
        "items": [
            {"title": "One", "tags": [{"name": "a"}, {"name": "b"}], "links": ["x", "y"]},
            {"title": "Two", "tags": [], "links": []},
        ]
    },
    "meta": {"title": "Feed"},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("meta.title", "Feed"),
        ("data.items[0].title", "One"),
        ("data.items[-1].title", "Two"),
        ("data.items.1.title", "Two"),
        ("data.items[0].links[1]", "y"),
        ("data.items[0].tags[*].name", ["a", "b"]),
        ("data.items[*].title", ["One", "Two"]),
        ("data.items[*].tags[*].name", ["a", "b"]),
        ("data.items[5].title", None),
        ("data.nothing.deeper", None),
        ("meta.title.length", None),
        ("data.items[*].missing", []),
    ],
)
def test_dotted_paths(path: str, expected: object) -> None:
    assert evaluate(parse_path(path), DOC) == expected


def test_a_list_at_the_top() -> None:
    assert evaluate(parse_path("[*]"), [1, 2]) == [1, 2]
    assert evaluate(parse_path("[1]"), [1, 2]) == 2


@given(st.text(max_size=30))
def test_parse_path_raises_only_value_error(text: str) -> None:
    try:
        path = parse_path(text)
    except ValueError:
        return
    evaluate(path, DOC)  # any valid path evaluates without raising
