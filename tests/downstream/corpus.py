"""Feeds whose names, authors, categories, titles and bodies are hostile to YAML front matter,
Markdown, Nunjucks and XML: what the downstream consumers must still read back intact.

Each entry says what a reader must see: the title as the post shows it (the contract's
rules: an HTML title's tags stripped and entities decoded, a title feedparser reads as plain
text kept as it is, bidi marks removed, ASCII quotes as ``_``), the instant of its date, and
text fragments that must reach the page literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from feeds import rss, rss_item
from server import FeedResource, LoopbackServer

SECTION = ("新媒体", "ZAKER")  # the seed's hierarchy: 新媒体 > ZAKER > <source>


@dataclass(frozen=True)
class Entry:
    guid: str
    title: str  # as the feed has it (XML-escaped into <title>)
    html: str  # the description, as the feed has it (XML-escaped into <description>)
    expect_title: str
    pub_date: str | None = None  # RFC 822 as in the feed; None: the date is first-seen
    expect_date: datetime | None = None
    expect_text: tuple[str, ...] = ()  # must appear literally in the page's article text


@dataclass(frozen=True)
class Feed:
    name: str
    path: str
    author: str
    source: str  # the last category, below 新媒体 > ZAKER
    entries: tuple[Entry, ...]

    @property
    def categories(self) -> tuple[str, ...]:
        return (*SECTION, self.source)


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


HOSTILE_FEEDS = (
    Feed(
        'Quotes "and" colons: yes',
        "/hostile/quotes.xml",
        "Tech #1",
        "a: b",
        (
            Entry(
                "q-1",
                "He said \"hi\" & 'bye'",
                "<p>Quotes \"double\" and 'single' &amp; an ampersand</p>"
                '<p><a href="https://quotes.example.org/a?b=1&amp;c=2">query link</a></p>',
                "He said _hi_ & _bye_",
                "Tue, 02 Jul 2024 10:00:00 +0800",
                _utc(2024, 7, 2, 2, 0, 0),
                ("Quotes \"double\" and 'single' & an ampersand", "query link"),
            ),
            Entry(
                "q-2",
                "Ratio: 3:1 # not a comment",
                '<p>key: value # not a comment</p><img src="https://img.example.org/ratio.png"'
                ' alt="ratio">',
                "Ratio: 3:1 # not a comment",
                "Mon, 01 Jul 2024 20:30:00 -0500",
                _utc(2024, 7, 2, 1, 30, 0),
                ("key: value # not a comment",),
            ),
            Entry(
                "q-3",
                "yes",
                "<p>null</p><p>~</p><p>2021-05-26</p>",
                "yes",
                "Wed, 03 Jul 2024 00:00:00 GMT",
                _utc(2024, 7, 3),
                ("null", "~", "2021-05-26"),
            ),
        ),
    ),
    Feed(
        "- leading dash",
        "/hostile/dash.xml",
        '- O\'Brien: "dash"',
        "---",
        (
            Entry(
                "d-1",
                "- starts with a dash",
                "<p>- not a list</p>\n---\n<p>after a rule</p>\n\n\n<p>after blank lines</p>",
                "- starts with a dash",
                "Thu, 04 Jul 2024 08:15:00 GMT",
                _utc(2024, 7, 4, 8, 15),
                ("- not a list", "---", "after a rule", "after blank lines"),
            ),
            Entry(
                "d-2",
                "---",
                "<p>---</p><p>- - -</p><p>*not emphasis* _nor this_ [not](a-link) `code`</p>",
                "---",
                "Fri, 05 Jul 2024 23:59:59 GMT",
                _utc(2024, 7, 5, 23, 59, 59),
                ("*not emphasis* _nor this_ [not](a-link) `code`", "- - -"),
            ),
            Entry(
                "d-3",
                "@at %pct `tick` !bang &amp *star |pipe >gt",
                "<pre><code>line one\n```js\nconsole.log(1)\n```\n~~~\nmore\n~~~\n</code></pre>",
                # feedparser reads this title as plain text: "&amp" is its text, not an entity
                "@at %pct `tick` !bang &amp *star |pipe >gt",
                "Sat, 06 Jul 2024 06:06:06 GMT",
                _utc(2024, 7, 6, 6, 6, 6),
                ("```js", "console.log(1)", "~~~"),
            ),
        ),
    ),
    Feed(
        "Templates {{ x }}",
        "/hostile/templates.xml",
        "{% raw %}",
        "{# c #}",
        (
            Entry(
                "t-1",
                "{{ x }} and {% raw %} and {# c #}",
                "<p>literal {{ x }} and {% raw %}raw{% endraw %} and {# c #}</p>"
                "<p>{%- if a -%}x{%- endif -%} {{{ triple }}} {{% odd %}}</p>",
                "{{ x }} and {% raw %} and {# c #}",
                "Sun, 07 Jul 2024 07:00:00 GMT",
                _utc(2024, 7, 7, 7),
                (
                    "literal {{ x }} and {% raw %}raw{% endraw %} and {# c #}",
                    "{%- if a -%}x{%- endif -%} {{{ triple }}} {{% odd %}}",
                ),
            ),
            Entry(
                "t-2",
                "{% post_link other %}",
                "<pre><code>{% highlight js %}\nvar a = {{ b }};\n{% endhighlight %}</code></pre>"
                '<p><a href="https://tpl.example.org/search?q={{x}}&amp;t={%y%}">templated link'
                "</a></p>",
                "{% post_link other %}",
                "Mon, 08 Jul 2024 08:00:00 GMT",
                _utc(2024, 7, 8, 8),
                ("{% highlight js %}", "var a = {{ b }};", "templated link"),
            ),
            Entry(
                "t-3",
                "Backslash C:\\path\\n and <tags> &lt;kept&gt;",
                "<p>C:\\path\\n and &lt;not a tag&gt; and &amp;amp;</p>",
                # plain text for feedparser (no HTML tag in it): shown as it is
                "Backslash C:\\path\\n and <tags> &lt;kept&gt;",
                "Tue, 09 Jul 2024 09:00:00 GMT",
                _utc(2024, 7, 9, 9),
                ("C:\\path\\n and <not a tag> and &amp;",),
            ),
        ),
    ),
    Feed(
        "RTL مرحبا",
        "/hostile/rtl.xml",
        "עברית 😀",
        "C# & co.",
        (
            Entry(
                "r-1",
                "Emoji 😀 and RTL \u200fעברית\u200f مرحبا",
                "<p>😀 עברית \u200f مرحبا</p>",
                "Emoji 😀 and RTL עברית مرحبا",
                "Wed, 10 Jul 2024 10:00:00 GMT",
                _utc(2024, 7, 10, 10),
                ("😀 עברית", "مرحبا"),
            ),
            Entry(
                "r-2",
                "<script>alert(1)</script>Scripted",
                '<p>before</p><script>alert(1)</script><p onclick="x()">after</p>'
                '<img src="https://img.example.org/a.png" onerror="alert(1)">',
                "Scripted",
                "Thu, 11 Jul 2024 11:00:00 GMT",
                _utc(2024, 7, 11, 11),
                ("before", "after"),
            ),
            Entry(
                "r-3",
                "No date <b>bold</b> &amp; entities &#169;",
                '<p>relative <a href="/rel/page">link</a></p><!-- more -->\r\n'
                '<p><img src="img/rel.png" alt="rel"></p>',
                "No date bold & entities ©",
                expect_text=("relative link",),
            ),
        ),
    ),
)


def rss_document(feed: Feed, site: str) -> bytes:
    items = [
        rss_item(e.guid, e.title, f"{site}/{e.guid}", e.html, published=e.pub_date)
        for e in feed.entries
    ]
    return rss(*items, title=feed.name, link=f"{site}/")


def serve_hostile_feeds(server: LoopbackServer) -> list[dict[str, object]]:
    """Route every hostile feed on ``server``; returns their ``[[feeds]]`` config tables."""
    tables: list[dict[str, object]] = []
    for feed in HOSTILE_FEEDS:
        site = f"https://{feed.path.rsplit('/', 1)[1].split('.')[0]}.example.org"
        server.routes[feed.path] = FeedResource(rss_document(feed, site))
        tables.append(
            {
                "name": feed.name,
                "url": server.url(feed.path),
                "author": feed.author,
                "categories": list(feed.categories),
            }
        )
    return tables
