"""The systems scored page by page: a page's HTML and URL -> what each extracts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trafilatura
from readability import Document  # type: ignore[import-untyped]

from aggregator.steps.extract.article import extract_article
from aggregator.steps.extract.html import visible_text
from aggregator.steps.extract.sanitize import sanitize_html


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str  # what a reader sees
    html: str | None  # the markup it came from, when the system gives markup (images)


System = Callable[[str, str], Extracted]


def trafilatura_default(html: str, url: str) -> Extracted:
    """As its README runs it: ``extract(html)``, text out."""
    return Extracted(trafilatura.extract(html) or "", None)


def readability_default(html: str, url: str) -> Extracted:
    """As its README runs it: ``Document(html).summary()``, then the text a reader sees."""
    summary = Document(html).summary()
    return Extracted(visible_text(summary), summary)


def ours(html: str, url: str) -> Extracted:
    """As the pipeline runs it: our extractor, then the sanitizer."""
    content = sanitize_html(extract_article(html, url) or "", url)
    return Extracted(visible_text(content), content)


PEERS: dict[str, System] = {
    "trafilatura 2.3 `extract(html)`": trafilatura_default,
    "readability-lxml 0.9 `summary()`": readability_default,
}
OURS = "ours: `extract_article`, direct"
PIPELINE = "ours: `aggregator fetch`, full_text"
