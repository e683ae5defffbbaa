"""dedupe.decide over hand-built KnownEntries: new, updated, unchanged, alias, duplicate; and the
verification of near-duplicate candidates (merge_near_duplicates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import DedupeConfig, FeedConfig
from aggregator.models import (
    Article,
    Decision,
    KnownEntries,
    Match,
    Outcome,
    ParsedEntry,
    ParsedFeed,
)
from aggregator.steps.dedupe import (
    MAX_CANDIDATES,
    Stored,
    decide,
    merge_near_duplicates,
    near_candidates,
    near_thresholds,
    still_fuller,
    titles_agree,
)
from aggregator.steps.normalize import article_id, normalize_feed
from aggregator.steps.similar import DEFAULT_THRESHOLDS, Copy, Thresholds, copy_kind

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
    )


def match(a: Article) -> Match:
    return Match(a.id, a.feed_name, a.content_hash, a.canonical_url, a.fingerprint, a.title)


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
            # (the content hash covers the link)
            article(
                key="guid:same-text-new-link", url="https://site.example/other", content_hash="h3"
            ),
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
    [by_url] = parsed(entry("m1", "https://www.site.example/1?fbclid=z", "Story | Mine", "x"))
    [by_text] = parsed(entry("m2", "https://mirror.example/1", "STORY!", "Text."))
    [other_story] = parsed(entry("m3", "https://site.example/1", "Other words", "y"))
    k = known(theirs)
    assert decide([by_url], k)[0].outcome is Outcome.DUPLICATE
    assert decide([by_text], k)[0].outcome is Outcome.DUPLICATE
    # The same link under another title and text: the link is shared, not an identity.
    assert decide([other_story], k)[0].outcome is Outcome.NEW


# --- a link is an identity only when it is a per-article link --------------------------------

SHOW = "https://show.example/podcast/"


def episodes(feed: FeedConfig, count: int, home: str | None = SHOW) -> list[Article]:
    items = tuple(
        entry(f"ep{i}", SHOW, f"Episode {i}", f"notes of episode {i}") for i in range(count)
    )
    return normalize_feed(ParsedFeed("Show", home, items), feed, feed.url, NOW)


def one_item_linking_to_the_show(feed: FeedConfig) -> list[Article]:
    item = entry("news-1", SHOW, "A new season of the show", "The show is back with new guests.")
    return normalize_feed(ParsedFeed("News", "https://news.example/", (item,)), feed, feed.url, NOW)


@pytest.mark.parametrize("home", [SHOW, None], ids=["home-page-link", "no-feed-link"])
@pytest.mark.parametrize("podcast_first", [True, False], ids=["podcast-first", "other-first"])
def test_episodes_sharing_the_shows_link_are_never_merged_away(
    podcast_first: bool, home: str | None
) -> None:
    """The issue's podcast: 30 episodes link to the show's page, one item of another feed
    links there too; whichever is stored first, 31 articles."""
    podcast = episodes(FEED, 30, home)
    other = one_item_linking_to_the_show(FeedConfig(name="news", url="https://news.example/f"))
    first, second = (podcast, other) if podcast_first else (other, podcast)
    stored = [d for d in decide(first, known()) if d.outcome is Outcome.NEW]
    assert len(stored) == len(first)
    k = known(*(d.article for d in stored))
    assert [d.outcome for d in decide(second, k)] == [Outcome.NEW] * len(second)
    assert all(a.canonical_url is None for a in podcast)
    assert len({a.entry_key for a in podcast}) == 30


def test_episodes_without_guids_sharing_a_link_are_keyed_by_content() -> None:
    items = tuple(entry(None, SHOW, f"Episode {i}", f"notes {i}") for i in range(3))
    articles = normalize_feed(ParsedFeed("Show", None, items), FEED, FEED.url, NOW)
    assert [a.title for a in articles] == ["Episode 0", "Episode 1", "Episode 2"]
    assert all(a.entry_key.startswith("hash:") for a in articles)


def test_a_site_front_page_identifies_no_article() -> None:
    [a] = parsed(entry("g", "https://site.example/", "Story", "text"))
    [b] = parsed(entry("g", "https://site.example/2024/story", "Story", "text"))
    assert a.canonical_url is None
    assert b.canonical_url == "https://site.example/2024/story"


def test_a_link_several_stored_articles_share_identifies_none_of_them() -> None:
    x = article(key="guid:x", feed="a", url="https://site.example/a", fp="fp-x")
    y = article(key="guid:y", feed="b", url="https://site.example/a", fp="fp-y")
    incoming = article(key="guid:z", url="https://site.example/a", fp="fp-z")
    assert decide_one(incoming, known(x, y))[0] is Outcome.NEW
    assert decide_one(incoming, known(x))[0] is Outcome.DUPLICATE


def test_identical_entry_under_a_new_key_is_the_same_article() -> None:
    """Everything shown is equal (content hash): the same article even without a per-article
    link, e.g. a guid-less entry whose key changed from its link to its content."""
    before = article(key="link:https://site.example/", url=None, fp="fp", content_hash="h")
    after = article(key="hash:abc", url=None, fp="fp", content_hash="h")
    assert decide_one(after, known(before)) == (Outcome.ALIAS, before.id, True)
    edited = article(key="hash:def", url=None, fp="fp", content_hash="h2")
    assert decide_one(edited, known(before))[0] is Outcome.NEW


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Story", "Story", True),
        ("Big story", "Big story | Wire Service", True),
        ("Big news: the mayor resigns", "The mayor resigns, big news", True),
        ("", "Anything", True),
        ("Episode 1", "Episode 12", False),
        ("Episode 12: Foo", "Episode 13: Bar", False),
        ("A new season of the show", "Episode 3", False),
        ("贵州大数据发展", "贵州大数据发展 | 新华社", True),
        ("贵州大数据发展", "上海天气预报", False),
    ],
)
def test_titles_agree(a: str, b: str, agree: bool) -> None:
    assert titles_agree(a, b) is agree
    assert titles_agree(b, a) is agree


def test_a_real_podcast_feed_keeps_every_episode_beside_another_feed() -> None:
    """rome's rsr.xml: 15 episodes without guids, all linking to the show's page. Keyed by
    the link, 14 were lost as repeats of the first; another feed's item linking to the page
    merged the rest away."""
    from conftest import shared_or_skip

    from aggregator.steps.parse import parse_document

    path = shared_or_skip("fixtures/realfeeds/rome__rsr-xml.xml")
    show = FeedConfig(name="rsr", url="https://rsr.example/feed.xml")
    doc = parse_document(path.read_bytes(), show.url)
    episodes = normalize_feed(doc, show, show.url, NOW)
    assert len(episodes) == len(doc.entries) == 15
    other = one_item_linking_to_the_show(FeedConfig(name="news", url="https://news.example/f"))
    other = [
        replace(a, canonical_url="https://rsr.ch/capsule", link="http://www.rsr.ch/capsule")
        for a in other
    ]
    for first, second in ((episodes, other), (other, episodes)):
        stored = [d.article for d in decide(first, known()) if d.outcome is Outcome.NEW]
        assert len(stored) == len(first)
        assert {d.outcome for d in decide(second, known(*stored))} == {Outcome.NEW}


# -- near-duplicates: the verification of candidates the store found by band keys ----------------

COPY_TEXT = (
    "The council voted on Tuesday night to turn the abandoned rail yard into a public park, "
    "ending a decade of debate over the site. The plan keeps two brick engine sheds as a "
    "market hall and a workshop; the rest becomes meadows, a pond and a loop for walkers. "
    "Work starts next spring and the first part opens within two years, the mayor said. "
    "Neighbours who fought a plan for offices on the land called the vote a win for the "
    "whole east side, and the parks department will hold open days through the summer to "
    "hear what people want from the market hall, the workshop and the new playground."
)
TEASER_TEXT = " ".join(COPY_TEXT.split()[:42])
OTHER_TEXT = (
    "Volunteers counted more than three thousand migrating birds on the northern marsh over "
    "the weekend, the highest number since the survey began. Teams walked fixed routes at "
    "dawn and dusk, and the trust said the wet spring had filled the pools the waders need. "
    "It warned that one good year does not make a trend and that dogs remain a threat."
)


def signed(key: str, text: str, feed: str = "mine") -> Article:
    return replace(article(key=key, feed=feed, url=None, fp=key), signature=(1, 2), text=text)


def new(a: Article) -> Decision:
    return Decision(Outcome.NEW, a, a.id, new_key=True)


def test_near_thresholds_follow_the_config() -> None:
    assert near_thresholds(DedupeConfig(near_duplicates=False)) is None
    assert near_thresholds(DedupeConfig(threshold=0.7, containment=0.9, min_tokens=50)) == (
        Thresholds(jaccard=0.7, containment=0.9, min_tokens=50)
    )


def test_candidates_are_ranked_by_shared_keys_and_capped() -> None:
    holders = {1: ["a", "b"], 2: ["b"], 3: ["b", "c"], 4: ["c"]}
    assert near_candidates([1, 2, 3, 4], holders) == ["b", "c", "a"]
    many = {k: [f"x{k}"] for k in range(20)}
    assert len(near_candidates(range(20), many)) == MAX_CANDIDATES
    assert near_candidates([9], holders) == []


def test_a_new_article_copying_a_candidate_becomes_its_duplicate() -> None:
    incoming = signed("guid:copy", "AP - " + COPY_TEXT)
    [d] = merge_near_duplicates(
        [new(incoming)],
        {incoming.id: ["other", "story"]},
        {"other": Stored(OTHER_TEXT, 1, 1), "story": Stored(COPY_TEXT, 2, 2)},
        DEFAULT_THRESHOLDS,
    )
    assert (d.outcome, d.target, d.new_key, d.fuller) == (Outcome.DUPLICATE, "story", True, False)


def test_a_fuller_copy_marks_the_merge_and_later_copies_see_its_text() -> None:
    """The stored text is a teaser of the first incoming article (fuller); a second incoming
    article, a teaser of the same story, is compared with the fuller text: a teaser of it."""
    full = signed("guid:full", COPY_TEXT)
    teaser = signed("guid:teaser", TEASER_TEXT)
    decisions = merge_near_duplicates(
        [new(full), new(teaser)],
        {full.id: ["stored"], teaser.id: ["stored"]},
        {"stored": Stored(TEASER_TEXT, 1, 1)},
        DEFAULT_THRESHOLDS,
    )
    assert [(d.outcome, d.target, d.fuller) for d in decisions] == [
        (Outcome.DUPLICATE, "stored", True),
        (Outcome.DUPLICATE, "stored", False),
    ]


def test_only_new_signed_articles_with_a_matching_candidate_change() -> None:
    unsigned = replace(signed("guid:u", ""), signature=())
    updated = Decision(Outcome.UPDATED, signed("guid:up", COPY_TEXT), "x")
    distinct = signed("guid:d", OTHER_TEXT)
    gone = signed("guid:g", COPY_TEXT)
    decisions = [new(unsigned), updated, new(distinct), new(gone)]
    candidates = {a.article.id: ["story"] for a in decisions} | {gone.id: ["deleted"]}
    merged = merge_near_duplicates(
        decisions, candidates, {"story": Stored(COPY_TEXT, 1, 1)}, DEFAULT_THRESHOLDS
    )
    assert merged == decisions


# -- joins: one story stored twice, shown to be one by a copy of both ----------------------------

SIMILAR = Path(__file__).parent / "fixtures" / "similar"
FULL_STORY = (
    (SIMILAR / "originals" / "story-en.txt").read_text(encoding="utf-8").partition("\n\n")[2]
)
TEASER = (SIMILAR / "copies" / "story-en.teaser.txt").read_text(encoding="utf-8")
EDITED = (SIMILAR / "copies" / "story-en.edited.txt").read_text(encoding="utf-8")


def test_the_fixture_teaser_and_edited_copy_hold_too_little_of_each_other() -> None:
    """What makes a join needed: stored first, neither joins the other; the full story
    copies both."""
    assert copy_kind(TEASER, EDITED) is None
    assert copy_kind(EDITED, TEASER) is None
    assert copy_kind(FULL_STORY, TEASER) is Copy.FULLER
    assert copy_kind(FULL_STORY, EDITED) is not None


@pytest.mark.parametrize("stored_first", ["teaser", "edited"])
@pytest.mark.parametrize("joined_first", ["teaser", "edited"])
def test_a_copy_of_two_stored_articles_of_one_story_joins_them(
    joined_first: str, stored_first: str
) -> None:
    """Whichever stored article the full story matches first (the candidate sharing most
    keys), the other is absorbed too, and the one stored first stays, with the full story's
    text (fuller than either). A later copy in the batch that finds the absorbed one is
    compared with the one that stays."""
    full = signed("guid:full", FULL_STORY)
    texts = {"teaser": TEASER, "edited": EDITED}
    order = [joined_first, "edited" if joined_first == "teaser" else "teaser"]
    absorbed = "edited" if stored_first == "teaser" else "teaser"
    wire = signed("guid:wire", TEASER + "\n\n(c) Wire 2026. All rights reserved.")
    decisions = merge_near_duplicates(
        [new(full), new(wire)],
        {full.id: order, wire.id: [absorbed]},
        {
            name: Stored(text, feed, 1 if name == stored_first else 2)
            for feed, (name, text) in enumerate(texts.items())
        },
        DEFAULT_THRESHOLDS,
    )
    assert all(copy_kind(FULL_STORY, text) is Copy.FULLER for text in texts.values())
    assert [(d.outcome, d.target, d.absorbs, d.fuller, d.text_from) for d in decisions] == [
        (Outcome.DUPLICATE, stored_first, (absorbed,), True, None),
        (Outcome.DUPLICATE, stored_first, (), False, None),
    ]


def test_the_article_that_stays_takes_a_fuller_text_from_the_one_it_absorbs() -> None:
    """The incoming copy is a teaser of the full story stored second, and shows the teaser
    stored first to be that story: the teaser's article stays and takes the stored full
    text (``text_from``), the incoming content being no fuller."""
    incoming = signed("guid:wire-teaser", TEASER + "\n\n(c) Wire 2026. All rights reserved.")
    [d] = merge_near_duplicates(
        [new(incoming)],
        {incoming.id: ["full", "teaser"]},
        {"teaser": Stored(TEASER, 1, 1), "full": Stored(FULL_STORY, 2, 2)},
        DEFAULT_THRESHOLDS,
    )
    assert (d.outcome, d.target, d.absorbs, d.fuller, d.text_from) == (
        Outcome.DUPLICATE,
        "teaser",
        ("full",),
        False,
        "full",
    )


FOUR_PARAGRAPHS = "\n\n".join(FULL_STORY.split("\n\n")[:4])
WIRE_STORY = f"ROME (AFP) - {FULL_STORY}\n\n(c) AFP. All rights reserved."


@pytest.mark.parametrize("text", [FOUR_PARAGRAPHS, WIRE_STORY], ids=["abridged", "wire"])
def test_the_article_that_stays_keeps_its_text_when_the_story_is_no_fuller(text: str) -> None:
    """The full story stored first stays when a copy matched to a teaser stored second shows
    them one story; the copy (four of its six paragraphs, or a wire copy: datelined, with a
    footer, a few words longer) is equivalent to it, not fuller: its text stays."""
    incoming = signed("guid:copy", text)
    [d] = merge_near_duplicates(
        [new(incoming)],
        {incoming.id: ["teaser", "full"]},
        {"full": Stored(FULL_STORY, 1, 1), "teaser": Stored(TEASER, 2, 2)},
        DEFAULT_THRESHOLDS,
    )
    assert copy_kind(text, FULL_STORY) is Copy.EQUIVALENT
    assert (d.outcome, d.target, d.absorbs, d.fuller, d.text_from) == (
        Outcome.DUPLICATE,
        "full",
        ("teaser",),
        False,
        None,
    )


def test_a_text_given_at_the_join_must_still_be_the_fuller() -> None:
    assert still_fuller(FULL_STORY, TEASER)
    assert not still_fuller(TEASER, FULL_STORY)
    assert not still_fuller(FULL_STORY, FULL_STORY)
    assert not still_fuller(WIRE_STORY, FULL_STORY), "longer, not fuller"


def test_stored_articles_of_one_feed_are_never_joined() -> None:
    """Within a feed the entry keys decide: two articles of one feed stay two."""
    full = signed("guid:full", FULL_STORY)
    [d] = merge_near_duplicates(
        [new(full)],
        {full.id: ["edited", "teaser"]},
        {"teaser": Stored(TEASER, 1, 1), "edited": Stored(EDITED, 1, 2)},
        DEFAULT_THRESHOLDS,
    )
    assert (d.outcome, d.target, d.absorbs) == (Outcome.DUPLICATE, "edited", ())


def test_two_look_alikes_an_incoming_text_copies_are_not_joined() -> None:
    """Two briefings that open with the same boilerplate and tell other news: a text of the
    boilerplate alone is a teaser of both, but neither is a copy of the other's story."""
    boilerplate = (
        "Good morning. This is the Morning Post briefing with the stories you need to know "
        "about today, hand-picked by our editors and delivered to your inbox before breakfast "
        "every weekday, with the weather, the markets and the one long read worth your time "
        "this week, whatever else happens."
    )
    incoming = signed("guid:boilerplate", boilerplate)
    [d] = merge_near_duplicates(
        [new(incoming)],
        {incoming.id: ["monday", "tuesday"]},
        {
            "monday": Stored(f"{boilerplate} {COPY_TEXT}", 1, 1),
            "tuesday": Stored(f"{boilerplate} {OTHER_TEXT}", 2, 2),
        },
        DEFAULT_THRESHOLDS,
    )
    assert copy_kind(boilerplate, f"{boilerplate} {OTHER_TEXT}") is Copy.TEASER
    assert (d.outcome, d.target, d.absorbs) == (Outcome.DUPLICATE, "monday", ())
