"""The hostile corpus: one feed per misbehaviour, served from a LoopbackServer (127.0.0.1), each
with the outcome a pass must give it. Stories carry distinct links and text per feed so that
cross-feed deduplication only joins the ones meant to be duplicates."""

from __future__ import annotations

import gzip
import random
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import brotli  # type: ignore[import-untyped]
from feeds import json_feed, rss, rss_item, rss_text
from server import FeedResource, Handler, LoopbackServer, Reply, Request, redirect, status

from .support import cut_off, drip, endless, stall

BOMB_SIZE = 1 << 30  # each bomb expands to 1 GiB
HUGE_ITEMS = 100_000
HUGE_DATED = 100  # the last items of the huge feed carry dates: the newest ones
SECRET = "SECRET-" + uuid.uuid4().hex  # the content of a local file external entities aim at


@dataclass(frozen=True)
class Hostile:
    name: str
    path: str
    status: str | None  # feeds.last_status after a pass; None: ok or failed, either is fine
    error: str = ""  # a piece of the feed's error message
    articles: int | None = None  # articles the feed owns afterwards, when exact


# -- documents -----------------------------------------------------------------------------


def good_items(feed: str, count: int) -> list[str]:
    when = datetime(2024, 7, 1, 8, tzinfo=UTC)
    return [
        rss_item(
            f"{feed}-{i}",
            f"{feed} story {i}",
            f"https://example.com/{feed}/{i}",
            f"<p>Story {i} of {feed}.</p>",
            published=when - timedelta(hours=i),
        )
        for i in range(count)
    ]


# -- bombs -----------------------------------------------------------------------------------


@cache
def _zeros_deflate() -> tuple[bytes, bytes, int]:
    """Raw deflate of BOMB_SIZE zero bytes, built from one 16 MiB block repeated (a full flush
    makes each block independent): (stream, tail, crc32)."""
    block = b"\0" * (16 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = 0
    for _ in range(BOMB_SIZE // len(block)):
        crc = zlib.crc32(block, crc)
    return piece * (BOMB_SIZE // len(block)), tail, crc


@cache
def gzip_bomb() -> bytes:
    stream, tail, crc = _zeros_deflate()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + stream + tail + struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)


@cache
def deflate_bomb() -> bytes:
    """zlib-wrapped (what 'deflate' means); the checksum is never reached, so it is zero."""
    stream, tail, _ = _zeros_deflate()
    return b"\x78\xda" + stream + tail + b"\0\0\0\0"


@cache
def brotli_bomb() -> bytes:
    compressor = brotli.Compressor(quality=5)
    block = b"\0" * (16 << 20)
    out = [compressor.process(block) for _ in range(BOMB_SIZE // len(block))]
    return b"".join([*out, compressor.finish()])


def bomb(body: bytes, coding: str) -> Handler:
    """``body`` sent as it is, declared as encoded with ``coding``."""
    resource = FeedResource(body, validators=False)

    def handle(request: Request) -> Reply:
        reply = resource(request)
        reply.headers["Content-Encoding"] = coding
        return reply

    return handle


# -- the corpus --------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<svg onload=alert(1)><a xlink:href="javascript:alert(1)">s</a></svg>',
    '<math><a href="javascript:alert(1)">m</a><mi xlink:href="javascript:alert(1)">i</mi></math>',
    '<a href="javascript:alert(1)">j</a>',
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href=" JaVaScRiPt:alert(1)">case</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">st</div>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">b</button></form>',
    '<video poster="javascript:alert(1)" src="javascript:alert(1)"></video>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//"><a href="rel">base</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<style>@import "javascript:alert(1)";</style>',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    '<blockquote cite="javascript:alert(1)">q</blockquote><q cite="javascript:alert(1)">q</q>',
    '<del cite="javascript:alert(1)">d</del><ins cite="vbscript:msgbox(1)">i</ins>',
]
XSS_HTML = "<p>payloads</p>" + "".join(XSS)
JS = "javascript:alert(1)"

# Titles that break YAML, Markdown or paths (XML can carry these; JSON carries the rest).
NASTY_TITLES = [
    "He said \"hi\" and 'bye'",
    "key: value: more",
    "- leading dash",
    "---",
    "--- front matter ---",
    "# not a comment",
    "line one\nline two\r\nline three",
    "x" * 2000,
    "长" * 2000,
    "../../x",
    "../../../../../../tmp/escaped",
    "/etc/passwd",
    "C:\\Windows\\system32",
    "..",
    ".hidden",
    "_draft",
    "\u202eRTL override\u202c and \u200fmarks\u200e",
    "emoji 🔥🚀 👩‍👩‍👧 launch",
    "{{ nunjucks }} {% raw %} {# c #}",
    "? question",
    "| pipe",
    "> folded",
    "*anchor &alias !tag %directive @at `tick`",
    "[list] {map: 1}",
    "yes",
    "null",
    "~",
    "1e3",
    "2021-05-26",
    "   ",
    "",
    "tab\there",
    "&amp;lt;b&amp;gt;double escaped&amp;lt;/b&amp;gt;",
    "&lt;script&gt;alert(1)&lt;/script&gt; escaped once",
    "&amp;lt;img src=x onerror=alert(1)&amp;gt;",
]
CONTROL_TITLES = [
    "nul\x00byte",
    "controls \x01\x02\x1b[31m red \x7f\x85",
    "bom \ufeff zero\u200bwidth",
    "line\u2028separator\u2029paragraph",
    "surrogate-ish \ufffe\uffff",
    "---\ntitle: injected\n---",
    "'; DROP TABLE articles; --",
    "a" * 5000,
]

BAD_DATES = [
    None,
    "not a date",
    "Mon, 01 Jan 9999 00:00:00 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Feb 2024 00:00:00 GMT",
    "Mon, 01 Jul 2024 08:00:00 +9999",
    "2024-13-45T99:99:99Z",
    "0000-00-00T00:00:00Z",
    "-1",
    "99999999999999999999",
]
BAD_JSON_DATES = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2024-02-30",
    "",
    17,
    None,
    "2100-01-01T00:00:00Z",
]


def serve_corpus(server: LoopbackServer, secret_path: Path) -> list[Hostile]:
    """Route every hostile endpoint on ``server``; returns the feeds with their outcomes."""
    routes = server.routes
    feeds: list[Hostile] = []

    def add(hostile: Hostile, handler: Handler) -> None:
        routes[hostile.path] = handler
        feeds.append(hostile)

    def doc(body: str | bytes, content_type: str = "application/rss+xml") -> FeedResource:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return FeedResource(data, content_type, validators=False)

    # Controls: good feeds that must come through whatever their neighbours do.
    # The original and its syndicated copy race: whichever is stored first keeps the three
    # stories (CONTRACT: the first article stored wins), so their counts are checked together.
    add(Hostile("good-rss", "/good.xml", "ok"), doc(rss(*good_items("good", 3))))
    syndicated = [
        rss_item(
            f"copy-{i}",
            f"good story {i}",
            f"http://www.example.com/good/{i}?utm_source=copy#x",
            f"<p>Story {i} of good.</p>",
        )
        for i in range(3)
    ]
    add(Hostile("syndicated-copy", "/copy.xml", "ok"), doc(rss(*syndicated)))

    # Slow, stalled, cut off, endless, huge.
    some_feed = rss(*good_items("drip", 2))
    add(Hostile("slow-drip", "/drip", "failed", "timed out after 3 s"), drip(some_feed))
    add(Hostile("stall-before-headers", "/stall", "failed", "timed out"), stall())
    add(
        Hostile("stall-mid-headers", "/stall-headers", "failed", "timed out"),
        stall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"),
    )
    add(
        Hostile("stall-mid-body", "/stall-body", "failed", "timed out"),
        stall(body=some_feed[:200], length=len(some_feed)),
    )
    add(
        Hostile("cut-off", "/cut", "failed", "RemoteProtocolError"),
        cut_off(some_feed[:300], 100_000),
    )
    add(
        Hostile("endless", "/endless", "failed", "exceeds max_bytes"),
        endless(b"<item><title>again</title></item>" * 2000),
    )
    add(
        Hostile("huge-declared", "/huge", "failed", "exceeds max_bytes"),
        stall(body=b"<rss>", length=10**12),
    )

    # Decompression bombs (1 GiB each) and broken encodings.
    after = "exceeds max_bytes (12000000) after decompression"
    add(Hostile("gzip-bomb", "/gzip-bomb", "failed", after), bomb(gzip_bomb(), "gzip"))
    add(Hostile("deflate-bomb", "/deflate-bomb", "failed", after), bomb(deflate_bomb(), "deflate"))
    add(Hostile("brotli-bomb", "/br-bomb", "failed", after), bomb(brotli_bomb(), "br"))
    add(
        Hostile("double-gzip-bomb", "/gzip-gzip", "failed", after),
        bomb(gzip.compress(gzip_bomb()), "gzip, gzip"),
    )
    garbage = random.Random(6).randbytes(40_000)
    add(
        Hostile("corrupt-gzip", "/corrupt-gzip", "failed", "corrupt compressed body"),
        bomb(b"\x1f\x8b\x08\x00" + garbage, "gzip"),
    )
    add(
        Hostile("unknown-encoding", "/compress", "failed", "unsupported Content-Encoding"),
        bomb(some_feed, "compress"),
    )

    # Redirects.
    add(
        Hostile("redirect-loop", "/loop", "failed", "more than 5 redirects"), redirect("/loop", 302)
    )
    for i in range(20):
        routes[f"/chain/{i}"] = redirect(f"/chain/{i + 1}", 301)
    routes["/chain/20"] = doc(rss(*good_items("chain", 1)))
    add(
        Hostile("redirect-chain", "/chain/0", "failed", "more than 5 redirects"), routes["/chain/0"]
    )
    for i in range(3):
        routes[f"/short/{i}"] = redirect(f"/short/{i + 1}", 302)
    routes["/short/3"] = doc(rss(*good_items("short", 2)))
    add(Hostile("short-redirect-chain", "/short/0", "ok", articles=2), routes["/short/0"])
    add(
        Hostile("redirect-to-file", "/to-file", "failed", "UnsupportedProtocol"),
        redirect(secret_path.as_uri(), 302),
    )
    add(
        Hostile("redirect-to-javascript", "/to-js", "failed", ""),
        redirect(JS, 302),
    )

    # Status codes.
    add(Hostile("http-429-later", "/429-later", "deferred", "HTTP 429"), status(429, "3600"))
    add(Hostile("http-429", "/429", "failed", "HTTP 429 Too Many Requests"), status(429))
    add(Hostile("http-500", "/500", "failed", "HTTP 500"), status(500))
    add(Hostile("http-503", "/503", "failed", "HTTP 503"), status(503, "1"))
    add(Hostile("http-410", "/410", "failed", "HTTP 410 Gone"), status(410))
    add(Hostile("http-404", "/404", "failed", "HTTP 404 Not Found"), status(404))

    # Not feeds.
    html_page = b"<!doctype html><html><head><title>Hi</title></head><body><p>x</p></body></html>"
    add(
        Hostile("html-page", "/page.html", "failed", "HTML page that declares no feed"),
        doc(html_page, "text/html"),
    )
    add(Hostile("binary-garbage", "/garbage", "failed", "not a feed"), doc(garbage))
    add(Hostile("empty-body", "/empty", "failed", "empty document"), doc(b""))
    deep_json = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000
    add(
        Hostile("json-deep-nesting", "/deep.json", "failed", "invalid JSON Feed"),
        doc(deep_json, "application/feed+json"),
    )

    # Declared encodings that lie.
    for name, actual, declared in (
        ("gbk-says-utf8", "gbk", "utf-8"),
        ("utf8-says-gb2312", "utf-8", "gb2312"),
        ("big5-says-gbk", "big5", "gbk"),
        ("gb2312-undeclared", "gb2312", ""),
    ):
        words = ("中文標題", "內容") if actual == "big5" else ("中文标题", "内容")
        chinese = [
            rss_item(f"zh-{i}", f"{words[0]} {i}", None, f"{words[1]} {i}") for i in range(2)
        ]
        body = rss_text(*chinese, encoding=declared or actual)
        if not declared:
            body = body.replace(f' encoding="{actual}"', "")
        content_type = f"application/rss+xml; charset={declared}" if declared else "text/xml"
        data = body.encode(actual)
        add(Hostile(name, f"/enc-{name}", None), doc(data, content_type))

    # Entities: billion laughs, external entities aimed at a local file and at our server.
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)).replace(
        "&lol0;", "lol"
    )
    laughs = rss_text(rss_item("lol", "&lol9;", None, "&lol9;"), prolog=f"<!DOCTYPE rss [{lol}]>")
    add(Hostile("billion-laughs", "/laughs", None), doc(laughs.replace("&amp;lol9;", "&lol9;")))
    file_uri = secret_path.as_uri()
    prolog = (
        f'<!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}" ['
        f'<!ENTITY xxe SYSTEM "{file_uri}">'
        f'<!ENTITY xxh SYSTEM "{server.url("/xxe-http")}">'
        f'<!ENTITY % pe SYSTEM "{server.url("/xxe-param")}"> %pe;]>'
    )
    xxe_items = [
        "<item><guid>xxe-&xxe;</guid><title>a &xxe; &xxh; b</title>"
        "<link>https://example.com/xxe/&xxe;</link>"
        "<description>x &xxe; y &xxh;</description></item>",
        rss_item(
            "xxe-plain", "an ordinary item beside them", "https://example.com/xxe/plain", "ok"
        ),
    ]
    add(Hostile("external-entities", "/xxe", None), doc(rss_text(*xxe_items, prolog=prolog)))
    routes["/evil.dtd"] = routes["/xxe-http"] = routes["/xxe-param"] = doc(SECRET, "text/plain")
    add(
        Hostile("xxe-json", "/xxe.json", "ok", articles=1),
        doc(json_feed([{"id": "j", "title": f"file {file_uri}", "url": file_uri}])),
    )

    # Truncated documents keep their good items.
    whole = rss_text(*good_items("trunc", 3), rss_item("trunc-3", "the fourth", None, "cut here"))
    add(
        Hostile("truncated-xml", "/truncated", "ok"),
        doc(whole[: whole.index("cut here") + 3]),
    )

    # Duplicate guids in one document: the first occurrence wins.
    dup = [
        rss_item("d1", "dup first A", "https://example.com/dup/a", "A"),
        rss_item("d2", "dup B", "https://example.com/dup/b", "B"),
        rss_item("d1", "dup second A", "https://example.com/dup/a2", "A2"),
        rss_item("d3", "dup C", "https://example.com/dup/c", "C"),
        rss_item("d2", "dup B again", "https://example.com/dup/b", "B"),
    ]
    add(Hostile("duplicate-guids", "/dups", "ok", articles=3), doc(rss(*dup)))

    # A guid that changes on every request (same link, same text).
    def churning(request: Request) -> Reply:
        items = [
            rss_item(uuid.uuid4().hex, f"churn {i}", f"https://example.com/churn/{i}", f"text {i}")
            for i in range(2)
        ]
        return Reply(200, rss(*items), {"Content-Type": "application/rss+xml"})

    add(Hostile("churning-guids", "/churn", "ok", articles=2), churning)

    # XSS in every field: RSS, Atom and JSON Feed.
    xss_rss = rss(
        *[
            rss_item(
                XSS[i % len(XSS)],
                XSS[i % len(XSS)] + f" title {i}",
                JS,
                XSS_HTML + f"<p>rss {i}</p>",
                f"<author>{escape(XSS[i])}</author><category>{escape(XSS[i])}</category>"
                f"<comments>{JS}</comments>"
                f"<content:encoded><![CDATA[{XSS_HTML}<p>c{i}</p>]]></content:encoded>"
                f"<media:thumbnail url={quoteattr(JS)}/>"
                f'<enclosure url="{JS}" type="image/png" length="1"/>',
            )
            for i in range(4)
        ],
        rss_item("xss-2esc", "&lt;script&gt;alert(1)&lt;/script&gt;", None, "t1"),
        rss_item("xss-2esc-img", "&lt;img src=x onerror=alert(1)&gt; img", None, "t2"),
        head=f"<image><url>{JS}</url></image>",
    )
    add(Hostile("xss-rss", "/xss.xml", "ok", articles=6), doc(xss_rss))
    xss_atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
        f' xml:base="{JS}//"><title>t</title><id>urn:x</id><updated>2024-07-01T00:00:00Z</updated>'
        + "".join(
            f"<entry><id>xss-atom-{i}</id><title type='html'>{escape(XSS[i])}</title>"
            f"<link href={quoteattr(JS)}/><author><name>{escape(XSS[i])}</name></author>"
            "<updated>2024-07-01T00:00:00Z</updated>"
            f"<content type='html'>{escape(XSS_HTML + f'<p>atom {i}</p>')}</content></entry>"
            for i in range(2)
        )
        + "<entry><id>xss-atom-xhtml</id><title>xhtml</title><updated>2024-07-01T00:00:00Z"
        "</updated><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
        "<script>alert(1)</script><a href='javascript:alert(1)' onclick='alert(1)'>x</a>"
        "<a href='relative'>rel</a></div></content></entry></feed>"
    )
    add(
        Hostile("xss-atom", "/xss-atom.xml", "ok", articles=3),
        doc(xss_atom, "application/atom+xml"),
    )
    xss_json = json_feed(
        [
            {
                "id": XSS[i],
                "title": XSS[i],
                "url": JS,
                "external_url": JS,
                "image": JS,
                "banner_image": JS,
                "content_html": XSS_HTML + f"<p>json {i}</p>",
                "summary": XSS[i],
                "authors": [{"name": XSS[i], "url": JS}],
                "attachments": [{"url": JS, "mime_type": "image/png"}],
            }
            for i in range(3)
        ],
        home_page_url=JS,
    )
    add(Hostile("xss-json", "/xss.json", "ok", articles=3), doc(xss_json, "application/feed+json"))

    # Titles that break YAML or paths; control characters only JSON can carry.
    nasty = [
        rss_item(f"nasty-{i}", t, f"https://example.com/nasty/{i}", f"nasty body {i}")
        for i, t in enumerate(NASTY_TITLES)
    ]
    add(Hostile("nasty-titles", "/nasty.xml", "ok", articles=len(nasty)), doc(rss(*nasty)))
    control = [
        {"id": f"ctl-{i}", "title": t, "url": f"https://example.com/ctl/{i}", "content_text": "c"}
        for i, t in enumerate(CONTROL_TITLES + NASTY_TITLES)
    ]
    add(
        Hostile("control-titles", "/control.json", "ok", articles=len(control)),
        doc(json_feed(control), "application/feed+json"),
    )

    # Dates: absent, invalid, far future, before the epoch.
    dated = [
        rss_item(
            f"date-{i}",
            f"date case {i}",
            f"https://example.com/date/{i}",
            f"when {d}",
            published=d,
        )
        for i, d in enumerate(BAD_DATES)
    ]
    add(Hostile("bad-dates", "/dates.xml", "ok", articles=len(dated)), doc(rss(*dated)))
    json_dated = [
        {"id": f"jd-{i}", "title": f"json date {i}", "date_published": d, "date_modified": d}
        for i, d in enumerate(BAD_JSON_DATES)
    ]
    add(
        Hostile("bad-json-dates", "/dates.json", "ok", articles=len(json_dated)),
        doc(json_feed(json_dated), "application/feed+json"),
    )

    # 100,000 items; only the last ones are dated (and newest).
    add(Hostile("huge-feed", "/huge.xml", "ok"), doc(huge_feed()))

    # Items without link or guid; empty items are dropped, a repeated one collapses.
    bare = [
        rss_item(title="only a title"),
        rss_item(description="only a description"),
        rss_item(title="title and text", description="<p>text</p>"),
        "<item></item>",
        rss_item(title="   ", description="  "),
        '<item><enclosure url="https://example.com/only.jpg" type="image/jpeg"/></item>',
        rss_item(title="only a title"),
    ]
    add(Hostile("no-link-no-guid", "/bare.xml", "ok", articles=4), doc(rss(*bare)))

    # Markup that HTML parsers find expensive: very deep nesting, thousands of attributes.
    nested = [
        rss_item("deep-divs", "deep divs", None, "<div>" * 100_000 + "bottom"),
        rss_item(
            "many-attributes",
            "many attributes",
            None,
            '<img src="https://example.com/a.jpg" '
            + " ".join(f"a{i}=1" for i in range(50_000))
            + ">",
        ),
        rss_item("deep-title", "<b>" * 20_000 + "<div>" * 20_000 + "deep title", None, "t"),
        rss_item(
            "open-formatting",
            "open formatting",
            None,
            "".join(f"<b id={i}>" for i in range(20_000)) + "<p>x" * 20_000,
        ),
        # In SVG a <style> holds markup: no end tag to hide the divs behind.
        rss_item("svg-style", "svg style", None, "<svg><style>" + "<div>" * 40_000 + "bottom"),
    ]
    add(Hostile("expensive-markup", "/nested.xml", "ok", articles=5), doc(rss(*nested)))
    return feeds


@cache
def huge_feed() -> bytes:
    start = datetime(2024, 6, 1, tzinfo=UTC)
    undated = HUGE_ITEMS - HUGE_DATED
    items = [f"<item><guid>h{i}</guid><title>huge {i}</title></item>" for i in range(undated)]
    items += [
        f"<item><guid>h{i}</guid><title>huge {i}</title>"
        f"<pubDate>{format_datetime(start + timedelta(minutes=i), usegmt=True)}</pubDate></item>"
        for i in range(undated, HUGE_ITEMS)
    ]
    return rss(*items)
