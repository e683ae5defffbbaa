"""A deterministic corpus of N static feeds, in two generations.

Generation 1: N feeds cycling RSS 2.0 / Atom / RDF, 20 items each, 1-6 KB HTML bodies with
images and links in Chinese and English; about 5 % of articles are syndicated: the same story
(link and text) appears in a second feed under a different guid. Generation 2: about 20 % of
the feeds gained 3 new items (the oldest 3 drop off); every other feed is byte-identical.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

ITEMS = 20
FORMATS = ("rss", "atom", "rdf")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_EN = (
    "data",
    "city",
    "river",
    "market",
    "policy",
    "science",
    "school",
    "energy",
    "open",
    "report",
    "growth",
    "network",
    "people",
    "travel",
    "culture",
    "health",
    "quantum",
)
_ZH = "大数据贵州实验田创新驱动发展政策制度产业模式应用场景经济社会城市服务平台企业人才科技"


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    body: str
    link: str
    published: datetime


def story(seed: int, feed: int, n: int) -> Story:
    """Story n of a feed: the same for the same (seed, feed, n), in any generation."""
    rng = random.Random(f"{seed}/{feed}/{n}")
    words = [rng.choice(_EN) for _ in range(rng.randint(4, 9))]
    zh = "".join(rng.choice(_ZH) for _ in range(rng.randint(4, 10)))
    title = f"{' '.join(words).capitalize()} {zh} #{feed}-{n}"
    paragraphs: list[str] = []
    size = rng.randint(1000, 6000)
    while sum(map(len, paragraphs)) < size:
        text = " ".join(rng.choice(_EN) for _ in range(rng.randint(20, 60)))
        text += "。" + "".join(rng.choice(_ZH) for _ in range(rng.randint(20, 80)))
        if rng.random() < 0.3:
            ref = rng.randint(1, 10**6)
            text += f' <a href="https://example.org/ref/{ref}?utm_source=x">ref</a>'
        if rng.random() < 0.2:
            text += f' <img src="/img/{feed}/{n}-{len(paragraphs)}.jpg" alt="figure">'
        paragraphs.append(f"<p>{text}</p>")
    published = EPOCH + timedelta(minutes=37 * n + feed)
    return Story(
        f"{feed}-{n}",
        title,
        "".join(paragraphs),
        f"https://news{feed % 50}.example.com/a/{feed}/{n}.html",
        published,
    )


def feed_stories(seed: int, feed: int, count: int, borrowed: list[tuple[int, int]]) -> list[Story]:
    """Stories 0..count-1 of one feed; a few slots carry another feed's story (syndication)."""
    stories = [story(seed, feed, n) for n in range(count)]
    for i, (other, n) in enumerate(borrowed):
        original = story(seed, other, n)
        slot = (i * 7 + 3) % len(stories)
        stories[slot] = Story(
            f"syn-{other}-{n}",
            original.title,
            original.body,
            original.link,
            stories[slot].published,
        )
    return stories


def render(fmt: str, feed: int, stories: list[Story], base: str) -> str:
    items = sorted(stories, key=lambda s: s.published, reverse=True)[:ITEMS]
    if fmt == "rss":
        body = "".join(
            f"<item><title>{escape(s.title)}</title><link>{s.link}</link>"
            f'<guid isPermaLink="false">feed{feed}:{s.key}</guid>'
            f"<pubDate>{s.published.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
            f"<description>{escape(s.body)}</description></item>"
            for s in items
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>{base}</link><description>bench</description>"
            f"{body}</channel></rss>"
        )
    if fmt == "atom":
        body = "".join(
            f'<entry><title>{escape(s.title)}</title><link href="{s.link}"/>'
            f"<id>urn:feed{feed}:{s.key}</id><updated>{s.published.isoformat()}</updated>"
            f'<content type="html">{escape(s.body)}</content></entry>'
            for s in items
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
            f' xml:base="{base}"><title>Feed {feed}</title><id>urn:feed{feed}</id>'
            f"<updated>{items[0].published.isoformat()}</updated>{body}</feed>"
        )
    body = "".join(
        f'<item rdf:about="{s.link}"><title>{escape(s.title)}</title><link>{s.link}</link>'
        f"<dc:date>{s.published.isoformat()}</dc:date>"
        f"<description>{escape(s.body)}</description></item>"
        for s in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="{base}"><title>Feed {feed}</title><link>{base}</link>'
        f"<description>bench</description></channel>{body}</rdf:RDF>"
    )


def generate(root: Path, n_feeds: int, seed: int = 7) -> dict[str, int]:
    """Write ``root/gen1`` and ``root/gen2`` (feed-<i>.xml); returns counts for the report."""
    rng = random.Random(seed)
    borrowed: dict[int, list[tuple[int, int]]] = {}
    syndicated = 0
    for feed in range(n_feeds):
        for n in range(ITEMS):
            if n_feeds > 1 and rng.random() < 0.05:
                other = rng.randrange(n_feeds - 1)
                other += other >= feed
                borrowed.setdefault(other, []).append((feed, n))
                syndicated += 1
    changed = set(random.Random(seed + 1).sample(range(n_feeds), max(1, n_feeds // 5)))
    for gen in (1, 2):
        folder = root / f"gen{gen}"
        folder.mkdir(parents=True, exist_ok=True)
        for feed in range(n_feeds):
            count = ITEMS + (3 if gen == 2 and feed in changed else 0)
            stories = feed_stories(seed, feed, count, borrowed.get(feed, [])[: ITEMS // 2])
            base = f"https://news{feed % 50}.example.com/"
            text = render(FORMATS[feed % 3], feed, stories, base)
            path = folder / f"feed-{feed}.xml"
            path.write_text(text, encoding="utf-8")
            first = root / "gen1" / path.name
            if gen == 2 and first.read_bytes() == path.read_bytes():
                # Byte-identical feeds keep their mtime, so the server's ETag stays the same.
                st = first.stat()
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return {
        "feeds": n_feeds,
        "articles": n_feeds * ITEMS,
        "syndicated": syndicated,
        "changed_in_gen2": len(changed),
    }
