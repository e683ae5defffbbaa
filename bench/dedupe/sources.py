"""The originals of the syndication corpus: real article texts split into paragraphs.

From ``article-pages/*/expected.html`` (the visible text of Readability's extraction, block by
block), the entries of ``realfeeds`` (content, else summary) and the ZAKER channel sample. Texts
seen twice (the same page under two names, one feed in three files) are kept once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import feedparser
from selectolax.lexbor import LexborHTMLParser

from aggregator.steps.extract.html import visible_text

_BLOCKS = "p, li, h1, h2, h3, h4, h5, h6, pre, dd, dt, figcaption, td, th, blockquote"
_KANA = re.compile("[\u3040-\u30ff]")
_HAN = re.compile("[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@dataclass(frozen=True, slots=True)
class Original:
    name: str
    title: str
    paragraphs: tuple[str, ...]
    lang: str  # "zh", "ja" or "latin"
    source: str  # entries of one feed share their source: similarity never merges them

    @property
    def cjk(self) -> bool:
        return self.lang != "latin"

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


def load_originals(shared: Path) -> list[Original]:
    found = [
        *_pages(shared / "fixtures" / "article-pages"),
        *_feed_entries(sorted((shared / "fixtures" / "realfeeds").iterdir())),
        *_feed_entries([shared / "fixtures" / "zaker-channel.xml"]),
    ]
    seen: set[str] = set()
    originals = []
    for original in found:
        key = " ".join(original.text.casefold().split())
        if original.paragraphs and key not in seen:
            seen.add(key)
            originals.append(original)
    return originals


def paragraphs_of(html: str) -> tuple[str, ...]:
    """The innermost block elements' texts; when they miss much of the visible text (text in
    bare divs), chunks of the text nodes instead."""
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, template"):
        node.decompose()
    blocks = []
    for node in tree.css(_BLOCKS):
        if any(inner.mem_id != node.mem_id for inner in node.css(_BLOCKS)):
            continue
        text = " ".join(node.text(separator=" ").split())
        if text:
            blocks.append(text)
    whole = " ".join(visible_text(html).split())
    if sum(map(len, blocks)) >= 0.8 * len(whole):
        return tuple(blocks)
    return _chunks(visible_text(html, separator="\n"))


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def language(text: str) -> str:
    if len(_KANA.findall(text)) > len(text) / 20:
        return "ja"
    if len(_HAN.findall(text)) > len(text) / 10:
        return "zh"
    return "latin"


def _chunks(text: str) -> tuple[str, ...]:
    """Text nodes joined into paragraphs of at least ~40 words (or 80 CJK characters) that end
    a sentence."""
    out: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        current.append(line)
        joined = " ".join(current)
        if joined[-1] in ".!?。！？" and _size(joined) >= 40:
            out.append(joined)
            current = []
    if current:
        out.append(" ".join(current))
    return tuple(out)


def _size(text: str) -> int:
    return len(text.split()) + len(_HAN.findall(text)) // 2


def _pages(folder: Path) -> list[Original]:
    originals = []
    for expected in sorted(folder.glob("*/expected.html")):
        html = expected.read_text(encoding="utf-8", errors="replace")
        paragraphs = paragraphs_of(html)
        name = expected.parent.name
        originals.append(
            Original(
                f"page/{name}", name, paragraphs, language(" ".join(paragraphs)), f"page/{name}"
            )
        )
    return originals


def _feed_entries(files: list[Path]) -> list[Original]:
    originals = []
    for path in files:
        if path.suffix in (".md", ".tsv") or not path.is_file():
            continue
        parsed = feedparser.parse(path.read_bytes())
        for n, entry in enumerate(parsed.entries):
            content = entry.get("content") or [{}]
            html = content[0].get("value") or entry.get("summary") or ""
            paragraphs = paragraphs_of(html) if "<" in html else _chunks(html)
            title = " ".join(str(entry.get("title", "")).split())
            text = " ".join(paragraphs)
            originals.append(
                Original(f"feed/{path.stem}/{n}", title, paragraphs, language(text), path.stem)
            )
    return originals
