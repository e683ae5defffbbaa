"""render_post: the front matter always parses and reads back; the body is one HTML block."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aggregator.models import StoredArticle
from aggregator.steps.render.post import placeholder_image, post_body, post_title, render_post
from aggregator.steps.text import clean_line

KEYS = ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
PLACEHOLDER = "https://picsum.photos/400/300?random={n}"
ARTICLE = StoredArticle(
    id="0d8c8f62-1c2b-5a3e-9f00-123456789abc",
    feed_name="Feed",
    feed_url="https://feed.example/rss",
    link="https://news.example/a",
    title="A title",
    author="Reporter",
    content="<p>Body</p>",
    image="https://img.example/a.jpg",
    published=datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC),
    updated=datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC),
    post_path="2021-05-26-a-title-0d8c8f62.md",
    categories=("新媒体", "ZAKER", "source"),
    post_author="ZAKER",
)


def split_post(text: str, leading_blank_line: bool = True) -> tuple[str, list[str]]:
    """(front matter YAML, body lines between <div> and </div>), checking the frame."""
    lines = text.split("\n")
    if leading_blank_line:
        assert lines[0] == ""
        lines = lines[1:]
    assert lines[0] == "---"
    end = lines.index("---", 1)
    assert lines[end + 1] == ""
    assert lines[end + 2] == "<div>   "
    assert lines[-2] == "</div>"
    assert lines[-1] == " " * 12
    return "\n".join(lines[1:end]), lines[end + 3 : -2]


def front_matter(text: str) -> dict[str, Any]:
    yaml_text, _ = split_post(text)
    data = yaml.safe_load(yaml_text)
    assert isinstance(data, dict)
    assert list(data) == KEYS
    return data


def test_front_matter_in_the_seed_format() -> None:
    text = render_post(ARTICLE, PLACEHOLDER)
    assert text == (
        "\n---\n"
        "title: 'A title'\n"
        "categories: \n"
        " - 新媒体\n"
        " - ZAKER\n"
        " - source\n"
        "headimg: 'https://img.example/a.jpg'\n"
        "author: ZAKER\n"
        "comments: false\n"
        "date: Wed, 26 May 2021 01:32:46 GMT\n"
        "thumbnail: 'https://img.example/a.jpg'\n"
        "---\n"
        "\n"
        "<div>   \n"
        "<p>Body</p>  \n"
        "</div>\n" + " " * 12
    )
    data = front_matter(text)
    assert data["comments"] is False
    assert data["date"] == "Wed, 26 May 2021 01:32:46 GMT"


def test_without_leading_blank_line() -> None:
    text = render_post(ARTICLE, PLACEHOLDER, leading_blank_line=False)
    assert text.startswith("---\ntitle: ")
    split_post(text, leading_blank_line=False)


def test_no_categories() -> None:
    text = render_post(replace(ARTICLE, categories=()), PLACEHOLDER)
    assert "categories: []\n" in text
    assert front_matter(text)["categories"] == []
    blank = render_post(replace(ARTICLE, categories=(" ", "\u200b")), PLACEHOLDER)
    assert front_matter(blank)["categories"] == []


@pytest.mark.parametrize(
    ("author", "line"),
    [
        ("ZAKER", "author: ZAKER"),
        ("Tech #1", "author: 'Tech #1'"),
        ("a: b", "author: 'a: b'"),
        ("yes", "author: 'yes'"),
        ("123", "author: '123'"),
        ("- x", "author: '- x'"),
        ("O'Brien", "author: O'Brien"),
        ("'quoted'", "author: '''quoted'''"),
        ("line\nbreak", "author: line break"),
    ],
    ids=["plain", "hash", "colon-space", "bool", "int", "dash", "inner-quote", "quotes", "newline"],
)
def test_author_plain_or_quoted(author: str, line: str) -> None:
    text = render_post(replace(ARTICLE, post_author=author), PLACEHOLDER)
    assert f"\n{line}\n" in text
    assert front_matter(text)["author"] == clean_line(author)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ('Say "hi"', "Say _hi_"),
        ("It's", "It_s"),
        ("\u201ccurly\u201d \u2018quotes\u2019 stay", "\u201ccurly\u201d \u2018quotes\u2019 stay"),
        ("a\nb\tc", "a b c"),
        ("  x  ", "x"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("x" * 2000, "x" * 2000),
    ],
    ids=["double", "single", "curly", "breaks", "space", "format-chars", "long-never-truncated"],
)
def test_title(title: str, expected: str) -> None:
    assert post_title(title) == expected
    data = front_matter(render_post(replace(ARTICLE, title=title), PLACEHOLDER))
    assert data["title"] == expected


def test_image_and_placeholder() -> None:
    quote = replace(ARTICLE, image="https://img.example/it's a.jpg")
    data = front_matter(render_post(quote, PLACEHOLDER))
    assert data["headimg"] == data["thumbnail"] == "https://img.example/it's%20a.jpg"
    none = front_matter(render_post(replace(ARTICLE, image=None), PLACEHOLDER))
    assert none["headimg"] == placeholder_image(PLACEHOLDER, ARTICLE.id)
    pinned = "https://picsum.photos/400/300?random=5863"
    assert front_matter(render_post(replace(ARTICLE, image=None), pinned))["headimg"] == pinned


@given(st.uuids())
def test_placeholder_number_is_stable_and_in_range(uid: object) -> None:
    url = placeholder_image("x={n}", str(uid))
    n = int(url.removeprefix("x="))
    assert 1 <= n <= 10000
    assert placeholder_image("x={n}", str(uid)) == url


@pytest.mark.parametrize(
    ("html", "body"),
    [
        ("<p>a</p>\n\n<p>b</p>", ["<p>a</p>", "<p>b</p>  "]),
        ("<p>a</p>\n   \n\t\n<p>b</p>", ["<p>a</p>", "<p>b</p>  "]),
        ("<p>a</p>\r\n\r\n<p>b</p>\r<p>c</p>", ["<p>a</p>", "<p>b</p>", "<p>c</p>  "]),
        ("<p>{{ x }}</p>", ["<p>&#123;&#123; x }}</p>  "]),
        ("<p>{% raw %}</p>", ["<p>&#123;% raw %}</p>  "]),
        ("<p>{# c #}</p>", ["<p>&#123;# c #}</p>  "]),
        ("<p>{{{%{#</p>", ["<p>&#123;&#123;&#123;%&#123;#</p>  "]),
        (
            "<pre>```js\nx\n````</pre>",
            ["<pre>&#96;&#96;&#96;js", "x", "&#96;&#96;&#96;&#96;</pre>  "],
        ),
        (
            "<pre>~~~\nx\n~~~</pre><p>~~ ``</p>",
            ["<pre>&#126;&#126;&#126;", "x", "&#126;&#126;&#126;</pre><p>~~ ``</p>  "],
        ),
        ("", ["  "]),
    ],
    ids=[
        "blank-line",
        "whitespace-lines",
        "cr",
        "braces",
        "tag",
        "comment",
        "mixed",
        "backtick-fence",
        "tilde-fence",
        "empty",
    ],
)
def test_body(html: str, body: list[str]) -> None:
    _, lines = split_post(render_post(replace(ARTICLE, content=html), PLACEHOLDER))
    assert lines == body


_tricky = st.sampled_from(
    [
        "'",
        '"',
        ":",
        ": ",
        " #",
        "#",
        "-",
        "- ",
        "---",
        "\n---\n",
        "...",
        "\n",
        "\r\n",
        "\t",
        "\x00",
        "\x1b",
        "\x85",
        "\u2028",
        "\u200f",
        "\u202e",
        "\ufeff",
        "\ufffe",
        "😀",
        "{{",
        "yes",
        "123",
        "~",
        "&a",
        "*a",
        "!x",
        "[",
        "{",
        "|",
        ">",
        "%",
        "@",
        "`",
    ]
)
_text = st.one_of(
    st.text(),
    st.text(max_size=2000),
    st.lists(st.one_of(_tricky, st.text(max_size=4)), max_size=12).map("".join),
)


@given(title=_text, author=_text, categories=st.lists(_text, max_size=4))
def test_front_matter_always_reads_back(title: str, author: str, categories: list[str]) -> None:
    article = replace(ARTICLE, title=title, post_author=author, categories=tuple(categories))
    data = front_matter(render_post(article, PLACEHOLDER))
    assert data["title"] == post_title(title)
    assert data["author"] == clean_line(author)
    assert data["categories"] == [c for c in map(clean_line, categories) if c]
    assert data["comments"] is False
    assert data["date"] == format_datetime(ARTICLE.published, usegmt=True)


@given(_text)
def test_post_title_is_clean(title: str) -> None:
    cleaned = post_title(title)
    assert "'" not in cleaned and '"' not in cleaned
    assert cleaned == cleaned.strip()
    assert not re.search(
        "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\ufeff]", cleaned
    )


@given(st.lists(st.one_of(_tricky, st.text(max_size=6), st.sampled_from(["\n", "\n \n"]))))
def test_body_never_has_a_blank_line_or_template_delimiter(parts: list[str]) -> None:
    html = "".join(parts)
    _, lines = split_post(render_post(replace(ARTICLE, content=html), PLACEHOLDER))
    for line in lines[:-1]:
        assert line.strip(), lines
    for delimiter in ("{{", "{%", "{#", "```", "~~~"):
        assert delimiter not in "\n".join(lines)
    assert lines[-1].strip() or lines == ["  "]

    def visible(text: str) -> str:
        text = text.replace("&#123;", "{").replace("&#96;", "`").replace("&#126;", "~")
        return re.sub(r"\s", "", text)

    # Only whitespace lines change, and braces and fences become character references.
    assert visible(post_body(html)) == visible(html)
