"""The seed post, byte for byte: the ZAKER fixture rendered with the seed's categories and the
placeholder pinned to 5863 (a template without {n} is used as is)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from articles import as_stored

from aggregator.config import FeedConfig
from aggregator.models import StoredArticle
from aggregator.steps.normalize import normalize_feed
from aggregator.steps.parse import parse_document
from aggregator.steps.render import render_post

FEED = FeedConfig(
    name="ZAKER",
    url="https://rsshub.app/zaker/channel/10386",
    categories=("新媒体", "ZAKER", "source"),
)
PINNED = "https://picsum.photos/400/300?random=5863"


def golden_article(fixtures: Path) -> StoredArticle:
    body = (fixtures / "zaker-channel.xml").read_bytes()
    now = datetime(2021, 5, 26, 2, 0, tzinfo=UTC)
    [article] = normalize_feed(parse_document(body, FEED.url), FEED, FEED.url, now)
    assert article.published is not None
    return as_stored(article, FEED, now)


def test_zaker_fixture_renders_byte_identical_to_the_seed(fixtures: Path) -> None:
    text = render_post(golden_article(fixtures), PINNED)
    assert text.encode("utf-8") == (fixtures / "seed-post.md").read_bytes()


def test_option_drops_the_leading_blank_line(fixtures: Path) -> None:
    text = render_post(golden_article(fixtures), PINNED, leading_blank_line=False)
    assert text.startswith("---\ntitle: '")
    assert "\n" + text == (fixtures / "seed-post.md").read_text(encoding="utf-8")
