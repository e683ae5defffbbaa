"""The sanitizer against classic XSS payloads (tests/fixtures/xss-payloads.txt): nothing it
returns can run, read as a browser reads it (selectolax's lexbor is an HTML5 parser). And, for
generated markup: sanitizing never adds markup, is idempotent where the nesting conforms to
HTML, and settles in a second pass where it does not."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

import aggregator.steps.extract.sanitize as sanitizer
from aggregator.config import load_config
from aggregator.errors import ConfigError
from aggregator.steps.extract import sanitize_html

BASE = "https://news.example/2024/story.html"
PAYLOADS = [
    line
    for line in (Path(__file__).parent / "fixtures" / "xss-payloads.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line and not line.startswith("# ")
]

FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
    "input", "button", "textarea", "select", "base", "meta", "link", "svg", "math", "template",
    "noscript", "marquee", "isindex", "xss",
}  # fmt: skip
URL_ATTRIBUTES = ("href", "src", "poster", "action")
# Attributes that name or run code wherever they stand: none may survive.
CODE_ATTRIBUTES = {
    "style", "srcdoc", "srcset", "formaction", "background", "dynsrc", "lowsrc", "xlink:href",
    "data", "codebase", "cite",
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto", "ftp", "tel"}
DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def scheme(url: str) -> str | None:
    """The scheme a browser reads (WHATWG URL: C0 controls and spaces trimmed, tabs and
    newlines dropped anywhere), lowercased; None for a relative URL."""
    squeezed = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", squeezed)
    return match.group(1).lower() if match else None


def assert_cannot_run(output: str, data_images: bool) -> None:
    tree = LexborHTMLParser(output)
    for node in tree.css("*"):
        assert node.tag not in FORBIDDEN_TAGS, node.html
        for name, value in node.attributes.items():
            name = name.lower()
            assert not name.startswith("on"), node.html
            assert name not in CODE_ATTRIBUTES, node.html
            if name in URL_ATTRIBUTES:
                url = re.sub(r"[\t\n\r]", "", value or "").strip(_C0_AND_SPACE).lower()
                used = scheme(url)
                data_image = data_images and used == "data" and DATA_IMAGE.match(url)
                assert used in SAFE_SCHEMES or data_image, node.html


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("data_images", [False, True], ids=["default", "data-images"])
def test_no_payload_output_can_run(payload: str, data_images: bool) -> None:
    output = sanitize_html(
        f"<p>before</p>{payload}<p>after</p>", BASE, allow_data_images=data_images
    )
    assert output.startswith("<p>before</p>")
    assert_cannot_run(output, data_images)
    assert sanitize_html(output, BASE, allow_data_images=data_images) == output


def test_the_payload_list_is_a_real_list() -> None:
    assert len(PAYLOADS) >= 60
    assert any("\t" in p for p in PAYLOADS)  # a literal tab inside "javascript:"


EVENT_HANDLERS = ("onclick", "onload", "onerror", "onmouseover", "onfocus", "onpointerdown")


def test_no_allowed_attribute_is_an_event_handler() -> None:
    """The allowlist itself: an ``on*`` attribute allowed on any tag runs script."""
    handlers = {
        tag: sorted(n for n in names if n.lower().startswith("on"))
        for tag, names in sanitizer._ATTRIBUTES.items()
    }
    assert {tag: names for tag, names in handlers.items() if names} == {}


@pytest.mark.parametrize("tag", sorted(sanitizer._TAGS))
def test_every_allowed_tag_loses_its_event_handlers(tag: str) -> None:
    attributes = " ".join(f"{name}=alert(1)" for name in EVENT_HANDLERS)
    output = sanitize_html(f"<div><{tag} id=kept {attributes}>x</{tag}></div>", BASE)
    assert_cannot_run(output, data_images=False)


def test_the_payload_list_has_handlers_on_links_images_and_divs() -> None:
    for tag in ("a", "img", "div"):
        assert any(re.search(rf"<{tag}\b[^>]*\son[a-z]+=", p, re.IGNORECASE) for p in PAYLOADS), tag


@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/webp;base64,UklGRg==",
    ],
)
def test_data_images_kept_only_when_configured(image: str) -> None:
    html = f'<p><img src="{image}" alt="inline"></p>'
    assert sanitize_html(html, BASE, allow_data_images=True) == html
    assert sanitize_html(html, BASE) == '<p><img alt="inline"></p>'


@pytest.mark.parametrize(
    "html",
    [
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        '<img src="data:text/html,x">',
        '<img src="data:,plain">',
        '<img src="data:image/pngx;base64,AA">',
        '<a href="data:image/png;base64,iVBORw0KGgo=">link</a>',
        '<video><source src="data:image/png;base64,AA"></video>',
    ],
)
def test_other_data_urls_go_even_when_data_images_are_allowed(html: str) -> None:
    assert "data:" not in sanitize_html(html, BASE, allow_data_images=True)


def test_harmless_structure_survives() -> None:
    html = (
        '<section><div id="main" class="post"><h1>T</h1><h3>S</h3><p>a <a href="https://x.example/">'
        "link</a></p><ol><li>1</li></ol><dl><dt>t</dt><dd>d</dd></dl>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>c</td></tr></tbody>"
        "<tfoot><tr><td>f</td></tr></tfoot></table>"
        '<figure><img src="https://i.example/p.jpg" alt="p"><figcaption>c</figcaption></figure>'
        "<blockquote><p>q</p></blockquote><pre><code>x &lt; 1</code></pre></div></section>"
    )
    assert sanitize_html(html, BASE) == html


# -- properties ------------------------------------------------------------------------------

# fmt: off
_ATTRIBUTES = [
    "id", "class", "title", "alt", "href", "src", "data-src", "data-original", "srcset",
    "data-srcset", "poster", "data-poster", "onclick", "onerror", "style", "width", "height",
    "action", "xlink:href", "background",
]
_VALUES = [
    "x", "/rel.jpg", "a b.png", "https://e.example/a.jpg", "//cdn.example/c.jpg", "#frag",
    "javascript:alert(1)", " JaVa\tScRiPt:alert(1)", "vbscript:x", "data:text/html,x",
    "data:image/png;base64,AA", "data:image/svg+xml,<svg onload=alert(1)>",
    "a.jpg 2x, b.jpg 800w", "blank.gif", "1", "48", "<b>\"'&amp;",
]
# Anything goes inside anything: mis-nested, unknown and forbidden elements.
_ANY_TAGS = [
    "p", "div", "span", "a", "b", "em", "ul", "li", "h2", "blockquote", "pre", "code", "figure",
    "figcaption", "section", "table", "td", "font", "script", "style", "iframe", "form",
    "object", "svg", "math", "video", "audio", "picture", "noscript", "template", "select",
    "title",
]
_VOID = ["img", "source", "br", "hr", "input", "embed", "meta", "link", "base", "wbr"]
# fmt: on
_text = st.text(st.sampled_from("ab <>&;\"'=/\u00a0长\n"), max_size=6)
_attributes = st.lists(
    st.tuples(st.sampled_from(_ATTRIBUTES), st.sampled_from(_VALUES) | st.text(max_size=6)),
    max_size=4,
)


def _start_tag(name: str, attributes: list[tuple[str, str]]) -> str:
    rendered = "".join(f' {k}="{html_lib.escape(v, quote=True)}"' for k, v in attributes)
    return f"<{name}{rendered}>"


def _elements(names: list[str], content: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of ``names`` with attributes around ``content``."""
    return st.builds(
        lambda name, attributes, inner: f"{_start_tag(name, attributes)}{inner}</{name}>",
        st.sampled_from(names),
        _attributes,
        content,
    )


def _many(item: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(item, max_size=3).map("".join)


_voids = st.builds(_start_tag, st.sampled_from(_VOID), _attributes)
wild_markup = _many(
    st.recursive(
        _text | _voids,
        lambda children: _elements(_ANY_TAGS, _many(children)) | _voids,
        max_leaves=20,
    )
)

# Conforming nesting (HTML's content models): phrasing in p and headings, li in lists, no a in
# a, table parts in place. Forbidden and unknown elements are there, where HTML allows them.
_PHRASING = ["span", "b", "em", "code", "font", "small", "abbr", "label", "big", "blink"]
_RAW = ["script", "style", "iframe", "textarea", "title", "noembed"]
_FLOW = ["div", "section", "blockquote", "figure", "object", "main", "marquee", "fieldset"]
_void_phrasing = st.builds(_start_tag, st.sampled_from(["img", "br", "wbr", "input"]), _attributes)
_raw = _elements(_RAW, st.text(st.sampled_from("ab<>&/ "), max_size=6))
_escaped_text = _text.map(html_lib.escape)
_phrasing_without_a: st.SearchStrategy[str] = st.deferred(
    lambda: _many(_escaped_text | _void_phrasing | _raw | _elements(_PHRASING, _phrasing_without_a))
)
_phrasing: st.SearchStrategy[str] = st.deferred(
    lambda: _many(
        _escaped_text
        | _void_phrasing
        | _raw
        | _elements(_PHRASING, _phrasing)
        | _elements(["a"], _phrasing_without_a)
    )
)


def _flow_children(flow: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    cell = _elements(["td", "th"], flow)
    table = _elements(["table"], _elements(["tbody"], _many(_elements(["tr"], _many(cell)))))
    media = _elements(
        ["video", "audio"], _many(st.builds(_start_tag, st.just("source"), _attributes))
    )
    return _many(
        _phrasing
        | _elements(["p", "h2", "pre"], _phrasing)
        | _elements(_FLOW, flow)
        | _elements(["ul", "ol", "menu"], _many(_elements(["li"], flow)))
        | _elements(["form"], _elements(["div"], _phrasing))
        | table
        | media
        | _elements(["picture"], st.builds(_start_tag, st.just("img"), _attributes))
    )


conforming_markup = st.recursive(_phrasing, _flow_children, max_leaves=20)


def elements(html: str) -> list[str]:
    """Element names of ``html`` parsed as the sanitizer parses it: a fragment inside a div."""
    return [node.tag or "" for node in LexborHTMLParser(html, is_fragment=True).css("*")]


@given(conforming_markup, st.booleans())
def test_sanitizing_is_idempotent(html: str, data_images: bool) -> None:
    once = sanitize_html(html, BASE, allow_data_images=data_images)
    assert sanitize_html(once, BASE, allow_data_images=data_images) == once


@given(wild_markup)
def test_sanitizing_mis_nested_markup_settles_in_a_second_pass(html: str) -> None:
    """Unwrapping a forbidden element can leave nesting an HTML parser rebuilds differently
    ("<li><form><li>" -> "<li><li>", which parses as two items): still harmless, and the
    second pass is a fixed point."""
    twice = sanitize_html(sanitize_html(html, BASE), BASE)
    assert sanitize_html(twice, BASE) == twice


@given(wild_markup | conforming_markup)
def test_sanitizing_never_adds_markup(html: str) -> None:
    before = elements(html)
    after = elements(sanitize_html(html, BASE))
    assert set(after) <= set(before)
    assert len(after) <= len(before)


@given(wild_markup | conforming_markup, st.booleans())
def test_generated_markup_cannot_run(html: str, data_images: bool) -> None:
    assert_cannot_run(sanitize_html(html, BASE, allow_data_images=data_images), data_images)


# -- the switch: [output] allow_data_images ----------------------------------------------------

FEEDS = '[[feeds]]\nname = "A"\nurl = "https://a.example/feed.xml"\n'


@pytest.mark.parametrize(("line", "allowed"), [("", False), ("allow_data_images = true", True)])
def test_allow_data_images_config_key(tmp_path: Path, line: str, allowed: bool) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[output]\n{line}\n{FEEDS}", encoding="utf-8")
    assert load_config(path).output.allow_data_images is allowed


def test_allow_data_images_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[output]\nallow_data_images = "yes"\n{FEEDS}', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "output.allow_data_images"
    assert "true or false" in str(info.value)
