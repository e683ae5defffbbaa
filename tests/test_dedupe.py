"""dedupe.decide over hand-built KnownEntries: new, updated, unchanged, alias, duplicate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.config import FeedConfig
from aggregator.dedupe import decide
from aggregator.models import Article, KnownEntries, Match, Outcome, ParsedEntry, ParsedFeed
from aggregator.normalize import article_id, normalize_feed

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def article(
    key: str = "guid:1",
    feed: str = "mine",
    url: str | None = "https://site.example/a",
    fp: str = "fp-a",
    content_hash: str = "h1",
) -> Article:
    return Article(
        id=article_id(feed, key),
        feed_name=feed,
        entry_key=key,
        canonical_url=url,
        link=url,
        title="T",
        author=None,
        content="<p>x</p>",
        image=None,
        published=NOW,
        updated=None,
        fingerprint=fp,
        content_hash=content_hash,
        post_name="2024-06-01-t-00000000.md",
    )


def match(a: Article) -> Match:
    return Match(a.id, a.feed_name, a.content_hash, a.canonical_url, a.fingerprint)


def known(*stored: Article, keys: dict[str, Article] | None = None) -> KnownEntries:
    """What the store would answer for a batch of the feed ``mine``: its own keys, and every
    stored article by canonical URL and fingerprint."""
    by_key = {a.entry_key: match(a) for a in stored if a.feed_name == "mine"}
    by_key.update({k: match(a) for k, a in (keys or {}).items()})
    by_url: dict[str, list[Match]] = {}
    by_fp: dict[str, list[Match]] = {}
    for a in stored:
        if a.canonical_url:
            by_url.setdefault(a.canonical_url, []).append(match(a))
        if a.fingerprint:
            by_fp.setdefault(a.fingerprint, []).append(match(a))
    return KnownEntries(by_key, by_url, by_fp)


def decide_one(incoming: Article, k: KnownEntries) -> tuple[Outcome, str, bool]:
    [d] = decide([incoming], k)
    assert d.article is incoming
    return d.outcome, d.target, d.new_key


STORED = article()
OTHER_FEED = article(key="guid:o", feed="other", url="https://site.example/a", fp="fp-o")


@pytest.mark.parametrize(
    ("incoming", "stored", "outcome", "target", "new_key"),
    [
        (
            article(key="guid:2", url="https://site.example/b", fp="fp-b"),
            (),
            Outcome.NEW,
            None,
            True,
        ),
        (article(content_hash="h2"), (STORED,), Outcome.UPDATED, STORED.id, False),
        (article(), (STORED,), Outcome.UNCHANGED, STORED.id, False),
        (
            article(key="guid:x", feed="mine", url="https://site.example/a", fp="fp-x"),
            (OTHER_FEED,),
            Outcome.DUPLICATE,
            OTHER_FEED.id,
            True,
        ),
        (
            article(key="guid:y", url="https://elsewhere.example/y", fp="fp-o"),
            (OTHER_FEED,),
            Outcome.DUPLICATE,
            OTHER_FEED.id,
            True,
        ),
        (
            article(key="guid:churned"),
            (STORED,),
            Outcome.ALIAS,
            STORED.id,
            True,
        ),
        (
            article(key="guid:churned", content_hash="h2"),
            (STORED,),
            Outcome.UPDATED,
            STORED.id,
            True,
        ),
        (
            article(key="guid:episode-2", fp="fp-episode-2"),
            (STORED,),
            Outcome.NEW,
            None,
            True,
        ),
        (
            article(key="guid:same-text-new-link", url="https://site.example/other"),
            (STORED,),
            Outcome.NEW,
            None,
            True,
        ),
    ],
    ids=[
        "new",
        "updated",
        "unchanged",
        "duplicate-by-canonical-url",
        "duplicate-by-fingerprint",
        "guid-churn-alias",
        "guid-churn-and-edit",
        "podcast-same-link-new-content",
        "same-feed-same-text-new-link",
    ],
)
def test_decide_table(
    incoming: Article,
    stored: tuple[Article, ...],
    outcome: Outcome,
    target: str | None,
    new_key: bool,
) -> None:
    assert decide_one(incoming, known(*stored)) == (outcome, target or incoming.id, new_key)


def test_no_canonical_url_and_no_fingerprint_is_new() -> None:
    incoming = article(key="hash:abc", url=None, fp="")
    empty = Match("x", "other", "h", None, "")
    k = KnownEntries({}, {"": [empty]}, {"": [empty]})
    assert decide_one(incoming, k)[0] is Outcome.NEW


def test_sighting_of_another_feeds_article_never_overwrites_it() -> None:
    """The syndicating feed's key maps to the other feed's article; even with changed content
    the first stored copy stays as it is."""
    theirs = article(key="guid:t", feed="other", content_hash="theirs")
    mine = article(key="guid:mine-copy", content_hash="changed")
    k = known(theirs, keys={"guid:mine-copy": theirs})
    assert decide_one(mine, k) == (Outcome.UNCHANGED, theirs.id, False)


def test_same_feed_match_preferred_over_other_feed() -> None:
    theirs = article(key="guid:t", feed="other")
    ours = article(key="guid:old")
    incoming = article(key="guid:new")
    k = known(theirs, ours)
    assert decide_one(incoming, k) == (Outcome.ALIAS, ours.id, True)


def test_first_stored_copy_wins_among_duplicates() -> None:
    first = article(key="guid:f", feed="first")
    second = article(key="guid:s", feed="second")
    k = known(first, second)
    assert decide_one(article(key="guid:new"), k)[1] == first.id


def test_articles_decided_new_are_visible_to_later_ones() -> None:
    a = article(key="guid:a")
    churned = article(key="guid:b")  # same link + fingerprint in the same document
    podcast = article(key="guid:c", fp="fp-c")  # same link, other content
    decisions = decide([a, churned, podcast], known())
    assert [d.outcome for d in decisions] == [Outcome.NEW, Outcome.ALIAS, Outcome.NEW]
    assert decisions[1].target == a.id
    assert decisions[2].target == podcast.id


# --- through normalize: the rules on real entries --------------------------------------------

FEED = FeedConfig(name="mine", url="https://site.example/feed")


def parsed(*entries: ParsedEntry) -> list[Article]:
    return normalize_feed(ParsedFeed("F", None, tuple(entries)), FEED, FEED.url, NOW)


def entry(guid: str | None, link: str | None, title: str, body: str) -> ParsedEntry:
    return ParsedEntry(guid, link, title, None, f"<p>{body}</p>", link or FEED.url, NOW, None)


def test_within_one_document_the_first_occurrence_wins() -> None:
    articles = parsed(
        entry("g1", "https://site.example/1", "First", "one"),
        entry("g1", "https://site.example/1", "First, edited", "one!"),
    )
    assert [a.title for a in articles] == ["First"]
    assert [d.outcome for d in decide(articles, known())] == [Outcome.NEW]


def test_guid_churn_on_real_entries() -> None:
    [before] = parsed(entry("guid-v1", "https://site.example/1", "Story", "text"))
    [same] = parsed(entry("guid-v2", "https://site.example/1", "Story", "text"))
    [relinked] = parsed(
        entry("guid-v3", "http://www.site.example/1?utm_source=a#x", "Story", "text")
    )
    assert same.id != before.id
    [d] = decide([same], known(before))
    assert (d.outcome, d.target, d.new_key) == (Outcome.ALIAS, before.id, True)
    # the raw link changed (tracking, scheme), so the stored row is refreshed: not new either
    [d] = decide([relinked], known(before))
    assert (d.outcome, d.target, d.new_key) == (Outcome.UPDATED, before.id, True)


def test_podcast_entries_sharing_a_link_stay_distinct() -> None:
    episodes = parsed(
        entry("ep1", "https://pod.example/", "Episode 1", "first"),
        entry("ep2", "https://pod.example/", "Episode 2", "second"),
    )
    assert [d.outcome for d in decide(episodes, known())] == [Outcome.NEW, Outcome.NEW]
    [ep3] = parsed(entry("ep3", "https://pod.example/", "Episode 3", "third"))
    assert decide([ep3], known(*episodes))[0].outcome is Outcome.NEW


def test_updated_on_real_entries() -> None:
    [before] = parsed(entry("g", "https://site.example/1", "Story", "text"))
    [edited] = parsed(entry("g", "https://site.example/1", "Story", "text, corrected"))
    [same] = parsed(entry("g", "https://site.example/1", "Story", "text"))
    assert decide([edited], known(before))[0].outcome is Outcome.UPDATED
    assert decide([same], known(before))[0].outcome is Outcome.UNCHANGED


def test_cross_feed_duplicate_on_real_entries() -> None:
    other = FeedConfig(name="other", url="https://other.example/feed")
    [theirs] = normalize_feed(
        ParsedFeed("O", None, (entry("o1", "https://site.example/1", "Story", "text"),)),
        other,
        other.url,
        NOW,
    )
    [by_url] = parsed(entry("m1", "https://www.site.example/1?fbclid=z", "Other words", "x"))
    [by_text] = parsed(entry("m2", "https://mirror.example/1", "STORY!", "Text."))
    k = known(theirs)
    assert decide([by_url], k)[0].outcome is Outcome.DUPLICATE
    assert decide([by_text], k)[0].outcome is Outcome.DUPLICATE
