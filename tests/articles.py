"""Test helper: a normalized Article as the renderers get it back from the store."""

from __future__ import annotations

from datetime import datetime

from aggregator.config import FeedConfig
from aggregator.models import Article, StoredArticle
from aggregator.steps.render.filename import post_name


def as_stored(article: Article, feed: FeedConfig, first_seen: datetime) -> StoredArticle:
    """What the store would return: missing dates fall back to first-seen, the categories and
    the post author come from the feed's config."""
    published = article.published or first_seen
    return StoredArticle(
        id=article.id,
        feed_name=feed.name,
        feed_url=feed.url,
        link=article.link,
        title=article.title,
        author=article.author,
        content=article.content,
        image=article.image,
        published=published,
        updated=article.updated or published,
        post_path=post_name(article, first_seen),
        categories=feed.categories,
        post_author=feed.post_author,
        content_hash=article.content_hash,
    )
