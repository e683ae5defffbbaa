"""extract/images.py: lazy-loaded images get their real URL, and an article gets one image worth
showing (the feed's own, the crawled page's og:image, the first meaningful <img>)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from server import FeedResource, LoopbackServer, Workspace

from aggregator.config import FeedConfig
from aggregator.steps.extract import choose_image, first_image, page_image, sanitize_html
from aggregator.steps.extract.images import (
    feed_image,
    is_decoration,
    largest_candidate,
    promote_lazy_images,
)
from aggregator.steps.normalize import normalize_feed
from aggregator.steps.parse import parse_document

BASE = "https://news.example/2024/story.html"
PAGES = Path(__file__).parent / "fixtures" / "pages-images"
WORDPRESS = (PAGES / "wordpress-article.html").read_text(encoding="utf-8")
WORDPRESS_URL = "https://blog.example/2024/05/rust-kernel/"
GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="

# -- lazy loading: the sanitizer's output ------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "src"),
    [
        ('<img data-src="/a.jpg">', "https://news.example/a.jpg"),
        (f'<img src="{GIF}" data-src="a.jpg">', "https://news.example/2024/a.jpg"),
        ('<img src="" data-original="a.jpg">', "https://news.example/2024/a.jpg"),
        (
            '<img src="/lazy/1x1.trans.gif" data-lazy-src="a.jpg">',
            "https://news.example/2024/a.jpg",
        ),
        (
            '<img src="/img/lazy_placeholder.gif" data-lazy="a.jpg">',
            "https://news.example/2024/a.jpg",
        ),
        ('<img src="about:blank" data-actualsrc="a.jpg">', "https://news.example/2024/a.jpg"),
        ('<img srcset="s.jpg 480w, l.jpg 1200w, m.jpg 800w">', "https://news.example/2024/l.jpg"),
        ('<img data-srcset="a.jpg, b.jpg 2x, c.jpg 1.5x">', "https://news.example/2024/b.jpg"),
        (
            '<img srcset="https://res.example/w_400,h_300/a.jpg 400w, /w_800,h_600/a.jpg 800w">',
            "https://news.example/w_800,h_600/a.jpg",
        ),
        (
            '<picture><source data-srcset="p.webp 1x, p2.webp 2x"><img src="" alt="p"></picture>',
            "https://news.example/2024/p2.webp",
        ),
    ],
    ids=[
        "data-src",
        "data-uri-placeholder",
        "empty-src",
        "spacer-gif",
        "placeholder-gif",
        "about-blank",
        "srcset-widths",
        "srcset-densities",
        "srcset-commas-in-urls",
        "picture-source",
    ],
)
def test_lazy_image_gets_its_real_absolute_src(html: str, src: str) -> None:
    out = sanitize_html(html, BASE)
    assert f'src="{src}"' in out
    assert "data-" not in out and "srcset" not in out
    assert sanitize_html(out, BASE) == out


def test_a_real_src_stays() -> None:
    out = sanitize_html('<img src="real.jpg" data-src="other.jpg">', BASE)
    assert out == '<img src="https://news.example/2024/real.jpg">'


def test_lazy_video_gets_src_and_poster() -> None:
    out = sanitize_html('<video data-src="v.mp4" data-poster="p.jpg" controls></video>', BASE)
    assert 'src="https://news.example/2024/v.mp4"' in out
    assert 'poster="https://news.example/2024/p.jpg"' in out


def test_unsafe_lazy_urls_are_not_promoted() -> None:
    html = '<img src="" data-src="javascript:alert(1)" srcset="vbscript:x 2x">'
    assert sanitize_html(html, BASE) == "<img>"


@pytest.mark.parametrize(
    "html",
    [
        "<p>No lazy images here</p>",
        "<p>Set <code>data-src</code> and <code>srcset</code> yourself</p>",
        '<img src="https://i.example/a.jpg" data-src="https://i.example/b.jpg">',
    ],
)
def test_markup_with_nothing_to_promote_is_returned_untouched(html: str) -> None:
    assert promote_lazy_images(html) is html


def test_a_whole_page_keeps_its_html_head_and_body() -> None:
    """trafilatura finds nothing in a page without them (extract/article.py)."""
    page = '<html lang="en"><head><title>T</title></head><body class="b"><img data-src="a.jpg">'
    assert promote_lazy_images(page, document=True) == (
        '<html lang="en"><head><title>T</title></head>'
        '<body class="b"><img data-src="a.jpg" src="a.jpg"></body></html>'
    )


def test_a_data_placeholder_is_replaced_even_where_data_images_are_allowed() -> None:
    out = sanitize_html(f'<img src="{GIF}" data-src="a.jpg">', BASE, allow_data_images=True)
    assert out == '<img src="https://news.example/2024/a.jpg">'


@pytest.mark.parametrize(
    ("srcset", "largest"),
    [
        ("a.jpg 480w, b.jpg 1080w, c.jpg 720w", "b.jpg"),
        ("a.jpg, b.jpg 2x", "b.jpg"),
        ("a.jpg 2x, b.jpg", "a.jpg"),
        ("only.jpg", "only.jpg"),
        ("  a.jpg  3x ,b.jpg 1x", "a.jpg"),
        ("a.jpg 1x,b.jpg 2x", "b.jpg"),
        ("a.jpg,b.jpg 2x", "a.jpg,b.jpg"),  # a URL runs to whitespace, commas and all
        ("https://c.example/w_1,h_2/a.jpg 100w, https://c.example/w_3,h_4/b.jpg 300w", "SECOND"),
        (f"{GIF} 1x, real.jpg 2x", "real.jpg"),
        ("", None),
        (" , ,", None),
    ],
)
def test_largest_srcset_candidate(srcset: str, largest: str | None) -> None:
    if largest == "SECOND":  # commas inside URLs (image CDNs' transformations)
        largest = "https://c.example/w_3,h_4/b.jpg"
    assert largest_candidate(srcset) == largest


@given(st.text(st.sampled_from("ab ,.:/0123456789wx\t"), max_size=40))
def test_largest_candidate_of_any_text_is_one_of_its_words(srcset: str) -> None:
    found = largest_candidate(srcset)
    assert found is None or (found and found in srcset and " " not in found)


# -- the first meaningful image of the content ------------------------------------------------


@pytest.mark.parametrize(
    ("html", "image"),
    [
        ('<img src="/a.jpg">', "https://news.example/a.jpg"),
        (
            '<img src="t.gif" width="1" height="1"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        (
            '<img src="line.png" width="600" height="2"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        (
            '<img src="i.png" width="32" height="32"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        ('<img src="i.png" width="32"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        ('<img src="w.png" width="100%" height="auto">', "https://news.example/2024/w.png"),
        ('<img src="w.png" width="32" height="400">', "https://news.example/2024/w.png"),
        ('<img src="/favicon.ico"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        ('<img src="/img/site-logo@2x.png"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        ('<img src="/img/spacer.gif"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        ('<img src="/t/tracking-pixel.png"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        (
            '<img src="/reviews/pixel-8-review.jpg">',
            "https://news.example/reviews/pixel-8-review.jpg",
        ),
        ('<img src="/2021/blank-canvas.jpg">', "https://news.example/2021/blank-canvas.jpg"),
        ('<img src="/icons/share.png"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        (
            '<img src="https://secure.gravatar.com/avatar/abc?s=96"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        (
            '<img src="https://s.w.org/images/core/emoji/15.0.3/72x72/1f389.png"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        (
            '<img src="https://feeds.feedburner.com/~r/Blog/~4/AbC"><img src="b.jpg">',
            "https://news.example/2024/b.jpg",
        ),
        ('<img src="javascript:alert(1)"><img src="b.jpg">', "https://news.example/2024/b.jpg"),
        (f'<img src="{GIF}" data-src="lazy.jpg">', "https://news.example/2024/lazy.jpg"),
        ('<img srcset="s.jpg 1x, l.jpg 2x">', "https://news.example/2024/l.jpg"),
        ('<img src="data:image/png;base64,AAAA">', None),
        ('<img src="/t.gif" width="1" height="1">', None),
        ("<p>no image</p>", None),
    ],
    ids=[
        "plain",
        "pixel",
        "thin-line",
        "icon",
        "one-small-side",
        "percent-sizes",
        "tall-narrow",
        "favicon",
        "logo",
        "spacer",
        "tracking-pixel-name",
        "photo-named-pixel",
        "photo-named-blank",
        "icons-folder",
        "gravatar",
        "wordpress-emoji",
        "feedburner",
        "javascript",
        "lazy",
        "srcset-only",
        "data-uri",
        "only-pixel",
        "none",
    ],
)
def test_first_meaningful_image(html: str, image: str | None) -> None:
    assert first_image(html, BASE) == image


def test_first_image_of_a_wordpress_article_skips_logo_avatar_emoji_and_pixel() -> None:
    assert first_image(WORDPRESS, WORDPRESS_URL) == (
        "https://blog.example/wp-content/uploads/2024/05/driver-1024x576.png"
    )


def test_first_image_never_reads_a_local_base() -> None:
    assert first_image('<img src="pic.png">', "file:///srv/feeds/local.xml") is None


@pytest.mark.parametrize(
    ("url", "decoration"),
    [
        ("https://i.example/2024/05/photo.jpg", False),
        ("https://i.example/12345.jpg", False),
        ("https://i.example/iconic-moments.jpg", False),
        ("https://i.example/catalogo.jpg", False),
        ("https://i.example/icon-32.png", True),
        ("https://i.example/logos/acme.svg", False),  # a folder of logos may hold the story's
        ("https://i.example/acme_logo.svg", True),
        ("https://i.example/1x1.gif", True),
        ("https://i.example/transparent.png", True),
        ("https://pixel.wp.com/g.gif?v=ext", True),
        ("https://0.gravatar.com/avatar/x", True),
        ("https://i.example/avatars/jane.jpg", True),
    ],
)
def test_is_decoration(url: str, decoration: bool) -> None:
    assert is_decoration(url) is decoration


# -- a crawled page's own image ----------------------------------------------------------------


def test_page_image_prefers_the_https_open_graph_image() -> None:
    assert page_image(WORDPRESS, WORDPRESS_URL) == (
        "https://blog.example/wp-content/uploads/2024/05/kernel-rust-1200x630.jpg"
    )


def head(*tags: str) -> str:
    return f"<html><head>{''.join(tags)}</head><body><p>text</p></body></html>"


@pytest.mark.parametrize(
    ("html", "image"),
    [
        (head('<meta property="og:image" content="/og.jpg">'), "https://news.example/og.jpg"),
        (head('<meta name="og:image" content="og.jpg">'), "https://news.example/2024/og.jpg"),
        (
            head('<meta property="og:image:url" content="https://i.example/u.jpg">'),
            "https://i.example/u.jpg",
        ),
        (
            head(
                '<meta property="og:image" content="https://i.example/site-logo.png">',
                '<meta name="twitter:image" content="https://i.example/t.jpg">',
            ),
            "https://i.example/t.jpg",
        ),
        (
            head('<meta name="twitter:image:src" content="https://i.example/t.jpg">'),
            "https://i.example/t.jpg",
        ),
        (
            head('<meta property="Twitter:Image" content="https://i.example/t.jpg">'),
            "https://i.example/t.jpg",
        ),
        (head('<link rel="image_src" href="/l.jpg">'), "https://news.example/l.jpg"),
        (
            head(
                '<meta property="og:image" content="javascript:alert(1)">',
                '<meta property="og:image" content="data:image/png;base64,AA">',
                '<meta property="og:image" content="https://i.example/second.jpg">',
            ),
            "https://i.example/second.jpg",
        ),
        (head('<meta property="og:title" content="t">'), None),
        ("<p>no head</p>", None),
        ("", None),
    ],
    ids=[
        "og-relative",
        "og-as-name",
        "og-url",
        "logo-skipped-for-twitter",
        "twitter-src",
        "case-insensitive",
        "link-image-src",
        "unsafe-skipped",
        "none",
        "no-head",
        "empty",
    ],
)
def test_page_image(html: str, image: str | None) -> None:
    assert page_image(html, BASE) == image


def test_page_image_reads_only_the_head_so_a_costly_body_does_not_hide_it() -> None:
    html = head('<meta property="og:image" content="/og.jpg">').replace(
        "<p>text</p>", "<div>" * 100_000
    )
    assert page_image(html, BASE) == "https://news.example/og.jpg"


# -- the order of preference -------------------------------------------------------------------

CONTENT = '<p><img src="/inline.jpg"></p>'


@pytest.mark.parametrize(
    ("feed_images", "page", "image"),
    [
        (("/media.jpg",), "https://i.example/og.jpg", "https://news.example/media.jpg"),
        ((), "https://i.example/og.jpg", "https://i.example/og.jpg"),
        ((), None, "https://news.example/inline.jpg"),
        (
            ("https://secure.gravatar.com/avatar/x", "javascript:x", ""),
            None,
            "https://news.example/inline.jpg",
        ),
    ],
    ids=["feed", "page", "content", "feed-junk-skipped"],
)
def test_choose_image_order(feed_images: tuple[str, ...], page: str | None, image: str) -> None:
    assert choose_image(feed_images, CONTENT, BASE, page) == image


def test_feed_image_skips_wordpress_author_gravatar() -> None:
    urls = ("https://secure.gravatar.com/avatar/abc?s=96", "https://i.example/cover.jpg")
    assert feed_image(urls, BASE) == "https://i.example/cover.jpg"


def test_normalize_sets_image_and_media_image() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
      <channel><title>T</title>
      <item><title>A</title><guid>a</guid><link>https://site.example/a</link>
        <description>&lt;img src="data:image/gif;base64,R0lGOD" data-src="/a.jpg"&gt;</description>
        <media:content url="https://secure.gravatar.com/avatar/x" medium="image"/></item>
      <item><title>B</title><guid>b</guid><link>https://site.example/b</link>
        <description>&lt;img src="/inline.jpg"&gt;</description>
        <media:thumbnail url="https://site.example/thumb.jpg"/></item>
      </channel></rss>"""
    url = "https://site.example/feed"
    feed = FeedConfig(name="f", url=url)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    a, b = normalize_feed(parse_document(body, url), feed, url, now)
    assert (a.image, a.media_image) == ("https://site.example/a.jpg", None)
    assert a.content == '<img src="https://site.example/a.jpg">'
    assert (b.image, b.media_image) == ("https://site.example/thumb.jpg",) * 2


# -- [output] allow_data_images through the real CLI -------------------------------------------

PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


@pytest.mark.parametrize("allowed", [False, True])
def test_allow_data_images_reaches_stored_content(
    loopback: LoopbackServer, ws: Workspace, allowed: bool
) -> None:
    content = (
        f'<p>Chart:</p><img src="{PIXEL}" width="300" height="200"><img src="data:image/svg+xml,x">'
    )
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        "<title>Inline</title><guid>urn:inline</guid><link>https://e.example/1</link>"
        f"<description>{escape(content)}</description></item></channel></rss>"
    )
    loopback.routes["/f.xml"] = FeedResource(rss.encode())
    ws.write_config(
        [{"name": "F", "url": loopback.url("/f.xml")}], output={"allow_data_images": allowed}
    )
    assert ws.fetch().returncode == 0
    (stored,) = ws.query("SELECT content FROM articles")
    assert (PIXEL in stored[0]) is allowed
    assert "svg" not in stored[0], "never an SVG data URL"
