"""extract/article.py: the generic article extractor, on small pages of our own.

Ground-truth scores on 94 real pages are the benchmark's job (python -m bench.extract).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from aggregator.steps.extract import article
from aggregator.steps.extract.article import extract_article
from aggregator.steps.extract.html import visible_text
from aggregator.steps.extract.page import extract_page
from aggregator.steps.extract.sanitize import sanitize_html

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://example.com/2024/03/story.html"


def extracted(name: str) -> str:
    html = extract_article((PAGES / name).read_text(encoding="utf-8"), URL)
    assert html is not None, f"no article found in {name}"
    return html


def text_of(html: str) -> str:
    return " ".join(visible_text(html).split())


def test_news_page_keeps_the_story_and_drops_navigation_comments_and_footer() -> None:
    text = text_of(extracted("news.html"))
    for paragraph in (
        "Councillors in Porthwenna voted by nine to two",
        "most of it from a heritage grant awarded last autumn",
        "Engineers say the sluice gates can be rebuilt",
        "buy bread made with the flour it grinds",
        "leave openings under the new eaves",
        "The mill pond fills twice a day",  # the figure's caption
    ):
        assert paragraph in text
    for boilerplate in (
        "News desk",
        "Subscribe today",
        "Reader comments",
        "about time somebody fixed that wreck",
        "My grandfather worked there",
        "Winter ferry timetable",
        "Holiday cottages",
        "All rights reserved",
        "Contact the newsroom",
    ):
        assert boilerplate not in text


def test_news_page_keeps_images_and_links_absolute() -> None:
    html = extracted("news.html")
    assert 'src="https://example.com/images/tidal-mill.jpg"' in html
    assert 'href="https://example.com/documents/mill-report.pdf"' in html


def test_blog_post_keeps_its_paragraphs_code_and_links_but_not_the_sidebar() -> None:
    html = extracted("blog.html")
    text = text_of(html)
    assert "my starter stops doubling" in text
    assert "The real culprit is temperature" in text
    assert "50 g starter + 50 g rye" in text
    assert 'href="https://example.org/fermentation-temperature"' in html
    for boilerplate in ("About the baker", "December 2023", "Powered by", "Archive"):
        assert boilerplate not in text


def test_lazy_image_gets_a_real_src_that_survives_sanitizing() -> None:
    safe = sanitize_html(extracted("blog.html"), URL)
    assert 'src="https://example.com/uploads/2024/01/starter-jar.jpg"' in safe
    assert "data:image" not in safe


LAZY_PAGE = (
    "<!doctype html><html><head><title>Gallery</title></head><body>"
    '<nav><a href="/">Home</a></nav><article><h1>Lighthouses</h1>'
    f"<p>{' '.join(f'word{i}' for i in range(300))}</p>"
    '<img data-srcset="https://cdn.example/small.jpg 100w, https://cdn.example/big.jpg 1000w">'
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" srcset='
    '"https://cdn.example/w_100,h_80/c.jpg 100w, https://cdn.example/w_1000,h_800/c.jpg 1000w">'
    '<img data-src="https://cdn.example/w_640,h_480,c_fill/d.jpg">'
    f"<p>{' '.join(f'more{i}' for i in range(300))}</p></article></body></html>"
)


@pytest.mark.parametrize("extractor", ["readability", "trafilatura"])
def test_lazy_images_get_the_largest_candidate_and_whole_cdn_urls(
    extractor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if extractor == "trafilatura":
        monkeypatch.setattr(article, "_readability", lambda html, url: None)
    page = extract_page(LAZY_PAGE.encode(), URL, "text/html; charset=utf-8")
    assert page is not None
    srcs = [img.attributes.get("src") for img in LexborHTMLParser(page.content).css("img")]
    assert srcs == [
        "https://cdn.example/big.jpg",
        "https://cdn.example/w_1000,h_800/c.jpg",
        "https://cdn.example/w_640,h_480,c_fill/d.jpg",
    ]


def test_cjk_page_keeps_the_article_and_drops_comments_and_links() -> None:
    text = text_of(extracted("cjk.html"))
    assert "本市图书馆自下月起将周一至周五的闭馆时间从晚上八点推迟到十点" in text
    assert "图书馆还计划在每周三晚上举办读书分享会" in text
    assert "新的开放时间将先试行半年" in text
    for boilerplate in ("用户登录", "财经频道", "网友评论", "支持图书馆", "地铁三号线", "版权所有"):
        assert boilerplate not in text


def test_page_without_an_article_gives_none() -> None:
    html = (PAGES / "no-article.html").read_text(encoding="utf-8")
    assert extract_article(html, URL) is None


@pytest.mark.parametrize("html", ["", "   \n", "<html><head><title>t</title></head></html>"])
def test_empty_pages_give_none(html: str) -> None:
    assert extract_article(html, URL) is None


def test_too_complex_markup_is_not_parsed() -> None:
    deep = "<div>" * 5000 + "<p>" + "words " * 200 + "</p>" + "</div>" * 5000
    assert extract_article(deep, URL) is None


def test_short_readability_result_gives_way_to_a_longer_trafilatura_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(article, "_readability", lambda html, url: "<p>Only a teaser.</p>")
    text = text_of(extracted("news.html"))
    assert "Councillors in Porthwenna voted" in text
    assert "Only a teaser" not in text


def test_short_result_stays_when_trafilatura_finds_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short = "<p>A short note: the mill is open on Sunday.</p>"
    monkeypatch.setattr(article, "_readability", lambda html, url: short)
    monkeypatch.setattr(article, "_trafilatura", lambda html, url: None)
    assert text_of(extracted("news.html")) == "A short note: the mill is open on Sunday."


def test_output_is_the_same_every_time() -> None:
    html = (PAGES / "news.html").read_text(encoding="utf-8")
    assert len({extract_article(html, URL) for _ in range(3)}) == 1


def test_extraction_makes_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the extractor tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("news.html", "blog.html", "cjk.html", "no-article.html"):
        extract_article((PAGES / name).read_text(encoding="utf-8"), URL)
