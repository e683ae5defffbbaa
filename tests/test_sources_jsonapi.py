"""read_json_source: a JSON API response + `[feeds.select]` dotted paths -> entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import ParseError
from aggregator.steps.normalize import clean_title
from aggregator.steps.sources import SourcePage, parse_select, read_json_source
from aggregator.steps.sources.embedded import MAX_NESTING

NOW = datetime(2024, 1, 3, tzinfo=UTC)
URL = "https://blog.example.org/wp-json/wp/v2/posts"
# The table docs/sources.md gives for WordPress (aggregator/steps/sources/jsonapi.py).
WORDPRESS = {
    "items": "[*]",
    "title": "title.rendered",
    "link": "link",
    "date": "date_gmt",
    "timezone": "UTC",
    "summary": "excerpt.rendered",
    "id": "id",
}


def read(body: bytes | str, table: dict[str, Any], url: str = URL) -> SourcePage:
    raw = body.encode() if isinstance(body, str) else body
    return read_json_source(raw, url, "application/json", parse_select("json", table), NOW)


def test_wordpress_rest_api(fixtures: Path) -> None:
    page = read((fixtures / "sources" / "wp-posts.json").read_bytes(), WORDPRESS)
    first, second = page.feed.entries
    assert first.guid == "4821"
    assert first.link == "https://blog.example.org/2024/01/winter-release/"
    assert clean_title(first.title) == "The winter release – what’s new"
    assert first.published == datetime(2024, 1, 2, 8, 30, tzinfo=UTC)  # date_gmt, not date
    assert first.content_html == "<p>Faster search, dark mode &amp; a new editor.</p>"
    assert second.content_html.startswith(
        '<p>Twelve releases, 3,400 commits <a href="/changelog/">'
    )
    assert second.base_url == URL
    assert (page.skipped, page.next_page, page.feed.warning) == (0, None, None)


def test_nested_items_with_pagination_and_tags() -> None:
    doc = {
        "data": {
            "list": [
                {"t": "One", "u": "/n/1", "ts": 1704153600, "labels": ["a", "b", "a"]},
                {"t": "Two", "u": "https://cdn.example/n/2", "ts": "2024-01-01 08:00:00"},
                {"t": "", "u": ""},
            ],
            "next": "?cursor=abc",
        }
    }
    table = {
        "items": "data.list",
        "title": "t",
        "link": "u",
        "date": "ts",
        "tags": "labels",
        "timezone": "Asia/Shanghai",
        "next_page": "data.next",
    }
    page = read(json.dumps(doc), table, "https://api.example/v1/news")
    first, second = page.feed.entries
    assert first.link == "https://api.example/n/1"
    assert first.tags == ("a", "b")
    assert first.published == datetime(2024, 1, 2, tzinfo=UTC)
    assert second.published == datetime(2024, 1, 1, tzinfo=UTC)  # 08:00 in Shanghai
    assert page.skipped == 1
    assert page.next_page == "https://api.example/v1/news?cursor=abc"


def test_lists_become_text_joined_or_tags_whole() -> None:
    doc = [{"title": "T", "authors": [{"n": "Ann"}, {"n": "Bo"}], "cats": [{"n": "x"}, {"n": "y"}]}]
    table = {"items": "[*]", "title": "title", "author": "authors[*].n", "tags": "cats[*].n"}
    (entry,) = read(json.dumps(doc), table).feed.entries
    assert (entry.author, entry.tags) == ("Ann, Bo", ("x", "y"))


def test_numbers_and_odd_values() -> None:
    doc = {"items": [{"id": 7, "title": 2024, "link": None, "date": True}]}
    (entry,) = read(json.dumps(doc), {"items": "items", "title": "title", "id": "id"}).feed.entries
    assert (entry.guid, entry.title, entry.link, entry.published) == ("7", "2024", None, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Service Unavailable</html>", "not a JSON document"),
        ("", "not a JSON document"),
        ('{"items": []}', "0 items for `items` (items)"),
        ('{"other": [1]}', "0 items for `items` (items)"),
        ('{"items": {"a": {"title": "x"}}}', "an object, not a list"),
        ('"just a string"', "0 items for `items` (items)"),
        ('{"items": [1, 2, 3]}', "3 items for `items` (items) but none has a title or a link"),
        ('{"items": [{"title": "x"}', "the data never ends"),
    ],
)
def test_documents_that_give_no_entries(body: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        read(body, {"items": "items", "title": "title"})
    assert caught.value.subject == URL
    assert message in caught.value.message


def test_deeply_nested_json_is_a_clear_error() -> None:
    body = '{"items": ' + "[" * 200_000 + "]" * 200_000 + "}"
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_NESTING} levels"):
        read(body, {"items": "items", "title": "title"})


def test_a_bom_and_invalid_bytes_do_not_fail_the_document() -> None:
    body = b'\xef\xbb\xbf{"items": [{"title": "caf\xe9 \xc3\xa9"}]}'
    (entry,) = read(body, {"items": "items", "title": "title"}).feed.entries
    assert entry.title == "caf\ufffd é"


def test_a_page_number_is_not_a_next_page() -> None:
    doc = {"items": [{"title": "T", "url": "/t"}], "meta": {"next": 2, "next_url": "?page=2"}}
    table = {"items": "items", "title": "title", "link": "url"}
    assert read(json.dumps(doc), {**table, "next_page": "meta.next"}).next_page is None
    page = read(json.dumps(doc), {**table, "next_page": "meta.next_url"})
    assert page.next_page == URL + "?page=2"
