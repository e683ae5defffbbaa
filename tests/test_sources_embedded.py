"""embedded_data: data in a page found by a bounded scan and read as data (JSON or a JavaScript
object literal), never run; every failure is a ParseError naming the URL and the `script`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.steps.sources.embedded import MAX_DATA, MAX_NESTING, embedded_data

URL = "https://site.example/list"


def page(script: str) -> str:
    return f"<html><head><title>t</title></head><body><p>x</p><script>{script}</script></body>"


@pytest.mark.parametrize(
    "script",
    [
        'window.X = {"a": [1, 2]};',
        'window.X={"a":[1,2]}',
        "window.X = {a: [1, 2,],};",  # unquoted key, trailing commas
        "window.X = {'a': [1, 2]}",  # single quotes
        'window["X"] = {"a": [1, 2]};',
        "var X = {a: [1, 2]};",
        "window.X = window.X || {}; window.X = {a: [1, 2]};",  # the first literal wins
        'window.X = JSON.parse("{\\"a\\":[1,2]}");',
        "window.X = JSON.parse('{\"a\":[1,2]}');",
        "if (window.X == null) {} window.X = {a: /* note */ [1, 2]}",
    ],
)
def test_assignment_forms(script: str) -> None:
    assert embedded_data(page(script), "window.X", URL) == {"a": [1, 2]}


def test_strings_hold_brackets_quotes_and_escapes() -> None:
    script = r"""window.X = {t: "a } ] { \" ' // not a comment", u: 'it\'s', v: "\u00e9"};"""
    assert embedded_data(page(script), "window.X", URL) == {
        "t": "a } ] { \" ' // not a comment",
        "u": "it's",
        "v": "é",
    }


def test_json_parse_string_decodes_javascript_escapes() -> None:
    script = r"""window.S = JSON.parse("{\"k\":\"\x41\u00e9 \ud83d\ude00\"}");"""
    assert embedded_data(page(script), "window.S", URL) == {"k": "Aé 😀"}


@pytest.mark.parametrize(
    "script", ["window.__NUXT__ = {a: 1}", "var __NUXT__ = {a: 1}", "__NUXT__={a: 1}"]
)
def test_a_bare_name_is_a_global(script: str) -> None:
    assert embedded_data(page(script), "__NUXT__", URL) == {"a": 1}


def test_other_names_do_not_match() -> None:
    script = 'window.XY = {"a": 1}; foo.X = {"b": 2}; window.X = {"c": 3};'
    assert embedded_data(page(script), "window.X", URL) == {"c": 3}


def test_script_element_by_css(fixtures: Path) -> None:
    html = (fixtures / "sources" / "nextjs-blog.html").read_text()
    data = embedded_data(html, "script#__NEXT_DATA__", URL)
    assert data["page"] == "/blog"
    assert [p["slug"] for p in data["props"]["pageProps"]["posts"]] == [
        "design-system",
        "edge-caching",
        "postgres",
    ]


def test_zaker_page_data(fixtures: Path) -> None:
    html = (fixtures / "sources" / "zaker-channel.html").read_text()
    data = embedded_data(html, "window.WinPageData", URL)
    assert data["data"]["article"][1]["title"] == "华为发布鸿蒙 OS 2.0 手机开发者 Beta 版"
    assert data["data"]["article"][0]["url"] == "//www.myzaker.com/article/60ad9a2b8e9f0946a4212d3e"


@pytest.mark.parametrize(
    ("html", "script", "message"),
    [
        ("<p>no data</p>", "window.X", "`script` window.X: no `window.X = {...}` in the page"),
        (page("window.X = 5;"), "window.X", "no `window.X = {...}`"),
        ("<p>x</p>", "script#__NEXT_DATA__", "`script` script#__NEXT_DATA__: no element matches"),
        ('<script id="d">nothing here</script>', "script#d", "no {...} or [...] data"),
        (page("window.X = {a: 1 2 3 = ;}"), "window.X", "neither JSON nor a JavaScript"),
        ('<script>window.X = {"a": "open', "window.X", "the data never ends"),
        (page('window.X = JSON.parse(\'{"a": 1}'), "window.X", "never ends"),
        (page("window.X = JSON.parse('not json');"), "window.X", "no {...} or [...] data"),
    ],
)
def test_failures_are_parse_errors_naming_the_script(html: str, script: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        embedded_data(html, script, URL)
    assert caught.value.subject == URL
    assert message in caught.value.message


def test_a_script_that_never_closes() -> None:
    # No </script>, no closing brace, megabytes of text: a ParseError, promptly.
    html = "<html><body><script>window.X = {items: [" + '{"t": "x"},' * 200_000
    with pytest.raises(ParseError, match="never ends"):
        embedded_data(html, "window.X", URL)
    with pytest.raises(ParseError, match=r"no element matches|never ends"):
        embedded_data(html, "script#data", URL)


def test_a_script_element_that_never_closes_is_still_read() -> None:
    html = '<html><body><script id="data" type="application/json">{"a": [1]}'
    assert embedded_data(html, "script#data", URL) == {"a": [1]}


@pytest.mark.parametrize("opener", ["[", '{"a":', "{a:"])
def test_deep_nesting_is_a_clear_error(opener: str) -> None:
    depth = 100_000
    html = page("window.X = " + opener * depth + "1" + "}]"[opener == "["] * depth)
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_NESTING} levels"):
        embedded_data(html, "window.X", URL)


def test_nesting_up_to_the_limit_is_read() -> None:
    html = page("window.X = " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING)
    value = embedded_data(html, "window.X", URL)
    for _ in range(MAX_NESTING):
        value = value[0]
    assert value == 1


def test_data_larger_than_the_cap_is_refused() -> None:
    big = '{"s": "' + "x" * MAX_DATA + '"}'
    with pytest.raises(ParseError, match="larger than"):
        embedded_data(page(f"window.X = {big}"), "window.X", URL)


def test_a_large_literal_under_the_cap_is_read() -> None:
    items = [{"title": f"item {i}", "url": f"/a/{i}"} for i in range(20_000)]
    html = page("window.X = " + json.dumps({"items": items}) + ";")
    assert len(embedded_data(html, "window.X", URL)["items"]) == 20_000


HOSTILE = st.text(alphabet="{}[]\"'`/\\*:,ax1 \n=<>;", max_size=200)


@given(HOSTILE)
def test_scan_raises_only_parse_error(tail: str) -> None:
    try:
        value = embedded_data("<script>window.X = " + tail, "window.X", URL)
    except ParseError as e:
        assert e.subject == URL
    else:
        assert isinstance(value, dict | list)


@given(HOSTILE)
def test_element_scan_raises_only_parse_error(body: str) -> None:
    try:
        value = embedded_data(f'<script id="d">{body}', "script#d", URL)
    except ParseError as e:
        assert e.subject == URL
    else:
        assert isinstance(value, dict | list)
