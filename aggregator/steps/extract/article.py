"""Pure: a whole article page's HTML -> its article body as HTML, with no per-site rules.

readability-lxml finds the body; when it finds under 500 characters of text, trafilatura's
extraction is used instead if that has 500 or more. Chosen by measurement on 94 pages with ground
truth (docs/benchmarks.md, "Article extraction"): readability-lxml alone is the more precise of
the two, and the short case is where it fails (Readability.js retries there; readability-lxml's
own retry counts markup, not text, so it rarely does).

The output is not sanitized: the caller does that (sanitize.py). Neither library is given a URL
to fetch: both get a string, and the URL only makes links absolute.
"""

from __future__ import annotations

import logging

import trafilatura
from readability import Document  # type: ignore[import-untyped]
from readability.readability import Unparseable  # type: ignore[import-untyped]
from selectolax.lexbor import LexborHTMLParser

from .images import promote_lazy_images
from .shape import too_complex

SHORT = 500  # characters of text: below this readability-lxml has likely missed the article
MAX_LINK_SHARE = 0.5  # more of the text in links than this is navigation, not an article

# readability-lxml logs a traceback at ERROR for every page it cannot parse, and adds no
# handler of its own: in a worker process without logging set up, Python would print it.
# Its exception is our signal already. (trafilatura installs its own NullHandler.)
logging.getLogger("readability").addHandler(logging.NullHandler())


def extract_article(html: str, url: str) -> str | None:
    """The article body of a page as an HTML fragment, or None when nothing article-like was
    found (no text, or mostly link text: a front page, an index, an error page)."""
    if not html.strip() or too_complex(html):
        return None
    article = _parsed(_readability(html, url))
    if _text_length(article) < SHORT:
        # Only an article of acceptable length replaces it: below that, trafilatura's
        # answer is mostly its last resort, the whole page's text (menus and all).
        backup = _parsed(_trafilatura(html, url))
        if _text_length(backup) >= SHORT:
            article = backup
    if article is None or not _is_article_like(article):
        return None
    body = article.body
    return body.inner_html if body is not None else None


def _readability(html: str, url: str) -> str | None:
    try:
        # keep_all_images: by default its cleaning drops the images it finds unlikely
        # (measured: 431 of 605 expected images kept; 548 with this).
        summary = Document(html, url=url).summary(html_partial=True, keep_all_images=True)
    except Unparseable:
        return None
    return str(summary)


def _trafilatura(html: str, url: str) -> str | None:
    # Lazy images get their real src first: trafilatura drops an image without one, and
    # copies a data-srcset into src whole. (readability-lxml keeps every attribute, so the
    # sanitizer's own promotion finds them in its output.)
    return trafilatura.extract(
        promote_lazy_images(html, document=True),
        url=url,
        output_format="html",
        include_comments=False,
        include_tables=True,
        include_images=True,
        include_links=True,
    )


def _parsed(html: str | None) -> LexborHTMLParser | None:
    return LexborHTMLParser(html) if html else None


def _text_length(tree: LexborHTMLParser | None) -> int:
    if tree is None or tree.body is None:
        return 0
    return len(_squeezed(tree.body.text(separator=" ")))


def _is_article_like(tree: LexborHTMLParser) -> bool:
    text = _text_length(tree)
    links = sum(len(_squeezed(a.text(separator=" "))) for a in tree.css("a"))
    return text > 0 and links <= MAX_LINK_SHARE * text


def _squeezed(text: str) -> str:
    return " ".join(text.split())
