"""Near-duplicates across feeds, through the store on both backends and through a whole pass:
wire, edited and teaser copies (Chinese and Japanese included) join their story, look-alikes
and short texts stay apart, a teaser stored first takes the full story's text, two workers
decide the same, ``dedupe = false`` and ``near_duplicates = false`` are obeyed, a second pass
changes nothing.

The texts are the committed corpus in tests/fixtures/similar (see test_similar.py): four
originals (English, Chinese, Japanese), a wire copy, an edited copy and a teaser of each, and
two documents of each look-alike family.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import pytest
from server import FeedResource, LoopbackServer, Workspace
from test_pipeline_backends import one_pass
from test_store import count

from aggregator.config import FeedConfig, OutputConfig, load_config
from aggregator.edges.store import Store, open_store
from aggregator.edges.store import articles as store_articles
from aggregator.edges.store import queries as store_queries
from aggregator.edges.store.adapter import Session
from aggregator.errors import OutputError, StoreError
from aggregator.models import (
    Article,
    Changes,
    Decision,
    FeedStatus,
    FeedUpdate,
    Outcome,
    ParsedEntry,
    StoredArticle,
    StoryJoin,
)
from aggregator.run import publish as publishing
from aggregator.run.daemon import Daemon
from aggregator.run.publish import publish, publish_posts
from aggregator.steps.normalize import normalize_entry
from aggregator.steps.similar import DEFAULT_THRESHOLDS, Thresholds

NOW = datetime(2026, 3, 1, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "similar"
SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
ORIGINALS = {
    p.stem: p.read_text(encoding="utf-8").partition("\n\n")
    for p in sorted((FIXTURES / "originals").glob("*.txt"))
}
TITLES = {name: title.strip() for name, (title, _, _) in ORIGINALS.items()}
TEXTS = {name: body for name, (_, _, body) in ORIGINALS.items()}
COPIES = {p.stem: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "copies").glob("*"))}
LOOKALIKES = {
    p.stem: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "lookalikes").glob("*"))
}
FAMILIES = sorted({name.rsplit("-", 1)[0] for name in LOOKALIKES})

WIRE = FeedConfig(name="wire", url="http://127.0.0.1/wire.xml")
PAPER = FeedConfig(name="paper", url="http://127.0.0.1/paper.xml")
MIRROR = FeedConfig(name="mirror", url="http://127.0.0.1/mirror.xml")
OWN = FeedConfig(name="own", url="http://127.0.0.1/own.xml", dedupe=False)
FEEDS = [WIRE, PAPER, MIRROR, OWN]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def as_html(text: str) -> str:
    """Paragraphs (blank-line separated) as the HTML a feed would carry."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def story(feed: FeedConfig, guid: str, title: str, text: str, sign: int = 40) -> Article:
    """An entry of ``feed`` normalized as a worker would: signed when ``sign`` (min tokens)."""
    entry = ParsedEntry(
        guid=guid,
        link=f"https://{feed.name}.example/{guid}",
        title=title,
        author=None,
        content_html=as_html(text),
        base_url=f"https://{feed.name}.example/",
        published=NOW,
        updated=None,
    )
    return normalize_entry(entry, feed, feed.url, NOW, sign=sign)


def original(feed: FeedConfig, name: str) -> Article:
    return story(feed, name, TITLES[name], TEXTS[name])


def copy_of(feed: FeedConfig, name: str) -> Article:
    """A copy (``story-en.wire``) under its own guid, link and a reworded title."""
    return story(feed, name, f"{TITLES[name.split('.')[0]]} | {feed.name}", COPIES[name])


def wire(text: str) -> str:
    return f"ROME (AFP) - {text}\n\n© AFP. All rights reserved. Reproduction prohibited."


async def save(
    store: Store,
    feed: FeedConfig,
    articles: Sequence[Article],
    near: Thresholds | None = DEFAULT_THRESHOLDS,
    feeds: Sequence[FeedConfig] = FEEDS,
) -> list[Decision]:
    states = await store.sync_feeds(feeds)
    update = FeedUpdate(feed_id=states[feed.name].id, now=NOW, status=FeedStatus.OK)
    return await store.save(update, articles, near)


def near_rows(database: str, article_id: str | None = None) -> int:
    """Band key rows, of one article or all (read beside the store: not inside a loop)."""
    return count(database, _near_table(article_id))


async def near_rows_now(database: str) -> int:
    """Band key rows, read beside the store from inside the running loop."""
    if "://" not in database:
        return near_rows(database)
    import asyncpg

    conn = await asyncpg.connect(database)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM near_keys"))
    finally:
        await conn.close()


def _near_table(article_id: str | None) -> str:
    if article_id is None:
        return "near_keys"
    return f"near_keys WHERE article = (SELECT seq FROM articles WHERE id = '{article_id}')"


def test_the_fixture_texts_are_signed() -> None:
    """Every text below is long enough to be signed: what stays apart does so by its text."""
    for text in [*TEXTS.values(), *COPIES.values(), *LOOKALIKES.values()]:
        assert story(PAPER, "g", "t", text).signature, text[:60]


# -- the store ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COPIES))
def test_a_copy_in_another_feed_joins_its_story(database: str, name: str) -> None:
    """Wire, edited and teaser copies of English, Chinese and Japanese stories: the copy's
    entry maps to the stored article, no article of its own, counted as its feed's duplicate."""
    first = original(PAPER, name.split(".")[0])

    async def go() -> tuple[list[Decision], list[Decision], dict[str, int]]:
        store = await open_store(database)
        try:
            stored = await save(store, PAPER, [first])
            merged = await save(store, WIRE, [copy_of(WIRE, name)])
            counts = {s.name: s.duplicates for s in await store.feed_states()}
            return stored, merged, counts
        finally:
            await store.close()

    [stored], [merged], duplicates = run(go())
    assert stored.outcome is Outcome.NEW
    assert (merged.outcome, merged.target, merged.fuller) == (Outcome.DUPLICATE, first.id, False)
    assert count(database, "articles") == 1
    assert count(database, "entries") == 2
    assert duplicates == {"mirror": 0, "own": 0, "paper": 0, "wire": 1}
    assert near_rows(database, first.id) >= len(first.signature), "the copy's keys join it"


@pytest.mark.parametrize("family", FAMILIES)
def test_look_alikes_under_one_title_stay_apart(database: str, family: str) -> None:
    """Weather and market reports, letters, briefings with shared boilerplate, podcast notes:
    same title, similar shape, other facts. Both are kept."""
    a = story(PAPER, "a", "Today", LOOKALIKES[f"{family}-0"])
    b = story(WIRE, "b", "Today", LOOKALIKES[f"{family}-1"])

    async def go() -> list[Outcome]:
        store = await open_store(database)
        try:
            decisions = await save(store, PAPER, [a]) + await save(store, WIRE, [b])
            return [d.outcome for d in decisions]
        finally:
            await store.close()

    assert run(go()) == [Outcome.NEW, Outcome.NEW]
    assert count(database, "articles") == 2


def test_distinct_stories_and_short_texts_are_never_merged(database: str) -> None:
    """Every original and look-alike from one feed, then from another feed again with other
    guids and titles but the same short texts: short texts are not signed, and a text that is
    merged here is merged only into itself."""
    short = "The harbor bridge is closed for repairs until Friday morning, the city said."
    paper = [story(PAPER, f"p{i}", f"P {i}", t) for i, t in enumerate([*TEXTS.values(), short])]
    paper += [story(PAPER, f"l-{n}", n, LOOKALIKES[n]) for n in sorted(LOOKALIKES)]
    again = [story(WIRE, "short", "Other title", short)]

    async def go() -> tuple[list[Decision], list[Decision]]:
        store = await open_store(database)
        try:
            return await save(store, PAPER, paper), await save(store, WIRE, again)
        finally:
            await store.close()

    first, second = run(go())
    assert all(d.outcome is Outcome.NEW for d in first), "one feed: the guid rules decide"
    assert again[0].signature == ()
    assert [d.outcome for d in second] == [Outcome.NEW], "similarity alone never merges it"
    assert count(database, "articles") == len(paper) + 1


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_stored_teaser_takes_the_full_storys_text(database: str, name: str) -> None:
    """The teaser came first; the full story from another feed is a duplicate whose text the
    article takes: one post, written again (even when the publisher marks the teaser's
    rendering done after the merge), its identity and content hash the teaser's."""
    teaser = copy_of(MIRROR, f"{name}.teaser")
    full = original(PAPER, name)

    async def go() -> tuple[Decision, str, list[str]]:
        store = await open_store(database)
        try:
            await save(store, MIRROR, [teaser])
            rendering = await store.pending_posts(10)
            [merged] = await save(store, PAPER, [full])
            await store.mark_rendered([(a.id, a.content_hash, a.revision) for a in rendering])
            [post] = await store.pending_posts(10)
            return merged, post.content, [post.id, post.content_hash]
        finally:
            await store.close()

    merged, content, (post_id, content_hash) = run(go())
    assert (merged.outcome, merged.target, merged.fuller) == (Outcome.DUPLICATE, teaser.id, True)
    assert content == full.content, "the post is written again, with the full text"
    assert (post_id, content_hash) == (teaser.id, teaser.content_hash)
    assert count(database, "articles") == 1


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_an_edited_copy_stored_first_takes_the_original_and_then_finds_its_teaser(
    database: str, name: str
) -> None:
    """The edited copy lacks a paragraph; the original from another feed is its fuller text,
    which the article takes, so that a teaser from a third feed is found in it."""
    edited = copy_of(WIRE, f"{name}.edited")
    full = original(PAPER, name)
    teaser = copy_of(MIRROR, f"{name}.teaser")

    async def go() -> tuple[Decision, Decision, str]:
        store = await open_store(database)
        try:
            await save(store, WIRE, [edited])
            [merged] = await save(store, PAPER, [full])
            [later] = await save(store, MIRROR, [teaser])
            [post] = await store.pending_posts(10)
            return merged, later, post.content
        finally:
            await store.close()

    merged, later, content = run(go())
    assert (merged.outcome, merged.target, merged.fuller) == (Outcome.DUPLICATE, edited.id, True)
    assert (later.outcome, later.target, later.fuller) == (Outcome.DUPLICATE, edited.id, False)
    assert content == full.content
    assert count(database, "articles") == 1


def test_a_teaser_after_its_story_changes_nothing(database: str) -> None:
    full = original(PAPER, "story-en")
    teaser = copy_of(MIRROR, "story-en.teaser")

    async def go() -> tuple[Decision, list[str]]:
        store = await open_store(database)
        try:
            await save(store, PAPER, [full])
            await store.mark_rendered([(full.id, full.content_hash, 0)])
            [merged] = await save(store, MIRROR, [teaser])
            return merged, [a.id for a in await store.pending_posts(10)]
        finally:
            await store.close()

    merged, pending = run(go())
    assert (merged.outcome, merged.target, merged.fuller) == (Outcome.DUPLICATE, full.id, False)
    assert pending == [], "the stored text stays, the post is not rewritten"


def test_within_one_feed_similar_entries_stay_apart(database: str) -> None:
    """A feed that posts a story and, under another guid, its edited version: the guid rules
    decide within a feed, similarity only across feeds."""
    first = original(PAPER, "story-en")
    edited = story(PAPER, "edited", "Edited", COPIES["story-en.edited"])

    async def go() -> list[Outcome]:
        store = await open_store(database)
        try:
            return [
                d.outcome
                for d in await save(store, PAPER, [first]) + await save(store, PAPER, [edited])
            ]
        finally:
            await store.close()

    assert run(go()) == [Outcome.NEW, Outcome.NEW]


def test_a_feed_with_dedupe_false_is_never_merged_either_way(database: str) -> None:
    """``dedupe = false``: neither its entries into others' articles, nor others' into its own,
    by similarity, fingerprint or link, even with signatures at hand."""
    theirs = original(PAPER, "story-en")
    ours = original(OWN, "story-zh")
    exact = replace(theirs, id=original(OWN, "story-en").id, feed_name=OWN.name)

    async def go() -> list[Outcome]:
        store = await open_store(database)
        try:
            decisions = await save(store, PAPER, [theirs])
            decisions += await save(store, OWN, [ours, copy_of(OWN, "story-en.wire"), exact])
            decisions += await save(store, WIRE, [copy_of(WIRE, "story-zh.wire")])
            same_link = replace(original(WIRE, "story-zh"), canonical_url=ours.canonical_url)
            decisions += await save(store, WIRE, [same_link])
            return [d.outcome for d in decisions]
        finally:
            await store.close()

    assert run(go()) == [Outcome.NEW] * 6
    assert count(database, "articles") == 6


def test_near_duplicates_off_merges_by_link_and_text_only(database: str) -> None:
    async def go() -> list[Outcome]:
        store = await open_store(database)
        try:
            decisions = await save(store, PAPER, [original(PAPER, "story-en")], near=None)
            decisions += await save(store, WIRE, [copy_of(WIRE, "story-en.wire")], near=None)
            return [d.outcome for d in decisions]
        finally:
            await store.close()

    assert run(go()) == [Outcome.NEW, Outcome.NEW]
    assert near_rows(database) == 0, "no keys are kept either"


def test_a_second_save_of_the_same_entries_changes_nothing(database: str) -> None:
    batches = [
        (MIRROR, [copy_of(MIRROR, "story-ja.teaser")]),
        (PAPER, [original(PAPER, "story-ja"), original(PAPER, "story-en")]),
        (WIRE, [copy_of(WIRE, "story-ja.wire"), copy_of(WIRE, "story-en.edited")]),
    ]

    async def go() -> tuple[list[Outcome], list[Outcome], list[int], list[int]]:
        store = await open_store(database)
        try:
            first = [d.outcome for f, a in batches for d in await save(store, f, a)]
            rows = await near_rows_now(database)
            contents = [a.content for a in await store.newest(10)]
            again = [d.outcome for f, a in batches for d in await save(store, f, a)]
            after = [a.content for a in await store.newest(10)]
            dupes = [s.duplicates for s in await store.feed_states()]
            return first, again, [rows, await near_rows_now(database)], [contents == after, *dupes]
        finally:
            await store.close()

    first, again, rows, (same, *duplicates) = run(go())
    new, dup = Outcome.NEW, Outcome.DUPLICATE
    assert first == [new, dup, new, dup, dup]
    assert again == [Outcome.UNCHANGED] * 5
    assert rows[0] == rows[1] and same
    assert duplicates == [0, 0, 1, 2]  # mirror, own, paper, wire (feed_states by name)


def test_deleted_articles_take_their_keys_along(database: str) -> None:
    stories = [original(PAPER, name) for name in sorted(TEXTS)]

    async def go() -> list[int]:
        store = await open_store(database)
        try:
            await save(store, PAPER, stories)
            await save(store, WIRE, [copy_of(WIRE, "story-zh.wire")])
            counts = [await near_rows_now(database)]
            await store.delete_articles([stories[0].id])
            counts.append(await near_rows_now(database))
            await store.delete_feed(PAPER.name)
            counts.append(await near_rows_now(database))
            counts += [s.duplicates for s in await store.feed_states()]
            return counts
        finally:
            await store.close()

    before, after_one, after_feed, *duplicates = run(go())
    assert before >= 24 * len(stories)
    assert before - after_one == near_rows_of(stories[0])
    assert after_feed == 0
    assert duplicates == [0, 0, 0], "the wire's merged entry went with the paper's article"


def near_rows_of(article: Article) -> int:
    return len(set(article.signature))


def test_a_band_key_that_many_articles_share_stops_taking_more(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Boilerplate: every article of a site opening with the same lines shares those band
    keys; past the cap they are not kept for more articles (each keeps its other keys)."""
    monkeypatch.setattr(store_articles, "MAX_ARTICLES_PER_KEY", 3)
    texts = [LOOKALIKES[f"weather-{i}"] for i in (0, 1)] + list(TEXTS.values())
    common = (1, 2, 3)
    articles = [
        replace(s, signature=common + s.signature)
        for s in (story(PAPER, f"g{i}", "t", t) for i, t in enumerate(texts))
    ]

    async def go() -> None:
        store = await open_store(database)
        try:
            await save(store, PAPER, articles)
        finally:
            await store.close()

    run(go())
    for key in common:
        assert count(database, f"near_keys WHERE key = {key}") == 3
    kept = [near_rows(database, a.id) - len(set(a.signature)) for a in articles]
    assert kept == [0, 0, 0, -3, -3, -3], "the first three hold them, the others all the rest"


def test_two_workers_saving_copies_at_once_decide_one_new_one_duplicate(database: str) -> None:
    """A story and its wire copy (other link, guid, title and text) saved by two workers at
    the same moment, story after story, look-alikes of earlier rounds among them: exactly one
    NEW and one DUPLICATE each time (PostgreSQL: the band keys' locks)."""
    texts = [*TEXTS.values(), *(LOOKALIKES[n] for n in sorted(LOOKALIKES))]

    async def go() -> list[list[Outcome]]:
        one, two = await open_store(database), await open_store(database)
        try:
            ids = {s.name: s.id for s in (await one.sync_feeds(FEEDS)).values()}

            async def save_one(store: Store, article: Article) -> Outcome:
                update = FeedUpdate(feed_id=ids[article.feed_name], now=NOW, status=FeedStatus.OK)
                [decision] = await store.save(update, [article], DEFAULT_THRESHOLDS)
                return decision.outcome

            rounds = []
            for n, text in enumerate(texts):
                a = story(PAPER, f"p{n}", f"Story {n}", text)
                b = story(WIRE, f"w{n}", f"Story {n} | AFP", wire(text))
                got = await asyncio.gather(save_one(one, a), save_one(two, b))
                rounds.append(sorted(got, key=lambda o: o.value))
            return rounds
        finally:
            await one.close()
            await two.close()

    rounds = run(go())
    assert all(r == [Outcome.DUPLICATE, Outcome.NEW] for r in rounds), rounds
    assert count(database, "articles") == len(rounds)


# -- joins: one story stored twice, shown to be one by a later copy -------------------------


def join_case() -> tuple[Article, Article, Article]:
    """A teaser and an edited copy whose cut fell in the teaser's paragraphs (neither holds
    enough of the other: two articles), then the full story, a copy of both."""
    return (
        copy_of(MIRROR, "story-en.teaser"),
        copy_of(WIRE, "story-en.edited"),
        original(PAPER, "story-en"),
    )


def output_in(folder: Path) -> OutputConfig:
    return OutputConfig(
        posts_dir=folder / "posts", atom_path=folder / "atom.xml", on_change=("true",)
    )


def posts_in(output: OutputConfig) -> list[str]:
    return sorted(p.name for p in output.posts_dir.iterdir())


async def stored_twice(store: Store, output: OutputConfig) -> Changes:
    """The teaser and the edited copy of ``join_case`` saved (two articles), their posts
    published."""
    teaser, edited, _ = join_case()
    await save(store, MIRROR, [teaser])
    await save(store, WIRE, [edited])
    return await publish_posts(store, output)


async def joined_by_the_full_story(store: Store, output: OutputConfig) -> Decision:
    """``stored_twice``, then the full story saved: its decision (the join queued)."""
    await stored_twice(store, output)
    [merged] = await save(store, PAPER, [join_case()[2]])
    return merged


def test_a_copy_of_two_stored_articles_joins_them_when_published(
    database: str, tmp_path: Path
) -> None:
    """The full story copies both and shows them to be one story: the one stored first (the
    teaser) stays and takes the full text; the publisher removes the other's post, then its
    entry and band keys move to the article and it is deleted. One post and one article
    remain; every entry maps to it; the feeds' duplicate counts follow; nothing changes on
    the next publish or the next saves."""
    teaser, edited, full = join_case()
    output = output_in(tmp_path)

    async def go() -> dict[str, Any]:
        store = await open_store(database)
        try:
            before = await stored_twice(store, output)
            posts_before = posts_in(output)
            [merged] = await save(store, PAPER, [full])
            pending = await store.pending_joins()
            joined = await publish_posts(store, output)
            again = await publish_posts(store, output)
            saved_again = [
                d.outcome
                for feed, a in ((MIRROR, teaser), (WIRE, edited), (PAPER, full))
                for d in await save(store, feed, [a])
            ]
            return {
                "before": before,
                "posts_before": posts_before,
                "merged": merged,
                "pending": pending,
                "joined": joined,
                "again": again,
                "saved_again": saved_again,
                "kept": await store.newest(10),
                "duplicates": {s.name: s.duplicates for s in await store.feed_states()},
            }
        finally:
            await store.close()

    got = run(go())
    merged: Decision = got["merged"]
    assert got["before"].added_count == 2 and len(got["posts_before"]) == 2
    assert merged.outcome is Outcome.DUPLICATE and len(merged.absorbs) == 1
    assert {merged.target, *merged.absorbs} == {teaser.id, edited.id}
    [absorbed] = merged.absorbs
    assert [(j.article_id, j.into_id) for j in got["pending"]] == [(absorbed, merged.target)]
    [kept] = got["kept"]
    assert kept.id == merged.target == teaser.id, "the first stored keeps its post"
    assert kept.content == full.content, "with the story's fullest text"
    [gone_post] = set(got["posts_before"]) - {kept.post_path}
    assert got["joined"].removed == [(absorbed, gone_post)], "on_change hears of it"
    assert posts_in(output) == [kept.post_path]
    assert not got["again"] and got["saved_again"] == [Outcome.UNCHANGED] * 3
    assert count(database, "articles") == 1 and count(database, "story_joins") == 0
    assert count(database, f"entries WHERE article_id = '{kept.id}'") == 3
    assert near_rows(database) == near_rows(database, kept.id) >= len(teaser.signature)
    assert got["duplicates"] == {"mirror": 0, "wire": 1, "paper": 1, "own": 0}


def test_a_join_no_longer_allowed_is_dropped(database: str) -> None:
    """Joins are made later than decided: an article gone since, two articles of one feed,
    a feed that opted out of merging, or a feed with an entry in both leave the articles
    as they are; the queue forgets them."""
    teaser, edited, _ = join_case()
    ours = original(OWN, "story-zh")
    same_feed = story(WIRE, "other", "Other", TEXTS["story-en-2"])
    in_both = replace(copy_of(PAPER, "story-zh.wire"), entry_key="guid:in-both")

    async def go() -> list[StoryJoin]:
        store = await open_store(database)
        try:
            await save(store, MIRROR, [teaser])
            await save(store, WIRE, [edited, same_feed])
            await save(store, OWN, [ours])
            await save(store, PAPER, [original(PAPER, "story-zh")])
            [dup] = await save(store, MIRROR, [in_both])  # mirror's entry in paper's article
            assert dup.outcome is Outcome.DUPLICATE
            zh = original(PAPER, "story-zh").id
            return await store.join_articles(
                [
                    StoryJoin("gone", teaser.id, "gone.md"),
                    StoryJoin(teaser.id, "gone", "t.md"),
                    StoryJoin(same_feed.id, edited.id, "s.md"),
                    StoryJoin(ours.id, teaser.id, "o.md"),
                    StoryJoin(teaser.id, zh, "t.md"),
                ],
                NOW,
            )
        finally:
            await store.close()

    assert run(go()) == []
    assert count(database, "articles") == 5 and count(database, "story_joins") == 0


async def queue_join(store: Store, article_id: str, into_id: str) -> None:
    """A join queued as a save would (for orders that saves make only by timing)."""

    async def queue(db: Session) -> None:
        await db.execute(store_queries.QUEUE_JOIN, article_id, into_id, False)

    await store._db.transaction("queue a join", queue)


@pytest.mark.parametrize("refusal", ["dedupe turned off", "joins both ways"])
def test_a_join_refused_at_publish_time_keeps_every_post(
    database: str, tmp_path: Path, refusal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publisher removes the posts of the queued joins before the store checks them: an
    article that a refused join leaves stored has its post written again in the same round.
    Refused: a feed set to ``dedupe = false`` since the save; two joins queued both ways
    (the second finds its article already joined into it), the kept article rendered after
    it took the fuller text."""
    output = output_in(tmp_path)

    async def go() -> tuple[Changes, list[str]]:
        store = await open_store(database)
        try:
            merged = await joined_by_the_full_story(store, output)
            if refusal == "dedupe turned off":
                await store.sync_feeds([replace(f, dedupe=False) for f in FEEDS])
            else:
                real = Store.pending_joins
                monkeypatch.setattr(Store, "pending_joins", lambda self: asyncio.sleep(0, []))
                await publish_posts(store, output)  # the fuller text rendered, no join yet
                monkeypatch.setattr(Store, "pending_joins", real)
                await queue_join(store, merged.target, merged.absorbs[0])
            changes = await publish_posts(store, output)
            return changes, [a.post_path for a in await store.newest(10)]
        finally:
            await store.close()

    changes, left = run(go())
    assert posts_in(output) == sorted(left)
    assert len(left) == (2 if refusal == "dedupe turned off" else 1)
    assert len(changes.removed) == 2 - len(left)
    assert count(database, "story_joins") == 0


@pytest.mark.parametrize("stays", ["teaser", "full story"])
def test_a_joined_article_gives_its_text_only_when_it_is_the_longer(
    database: str, stays: str
) -> None:
    """``gives_text``: the article that stays takes the joined one's content, and its post
    is written again, its identity and content hash its own; unless its own text is the
    longer by then (it took a fuller one since the join was queued)."""
    teaser, _, full = join_case()
    kept, joined = (teaser, full) if stays == "teaser" else (full, teaser)

    async def go() -> tuple[list[StoryJoin], list[StoredArticle]]:
        store = await open_store(database)
        try:
            await save(store, MIRROR, [teaser])
            await save(store, PAPER, [full], near=None)  # stored apart
            await store.mark_rendered([(kept.id, kept.content_hash, 0)])
            made = await store.join_articles(
                [StoryJoin(joined.id, kept.id, "j.md", gives_text=True)], NOW
            )
            return made, await store.pending_posts(10)
        finally:
            await store.close()

    made, pending = run(go())
    assert [j.article_id for j in made] == [joined.id]
    if stays == "teaser":
        [post] = pending
        assert (post.id, post.content, post.content_hash) == (
            teaser.id,
            full.content,
            teaser.content_hash,
        )
    else:
        assert pending == [], "its own text stays, its post is not written again"


@pytest.mark.parametrize("order", ["chain first", "chain last"])
def test_a_text_given_along_a_chain_of_joins_must_be_fuller_than_where_it_lands(
    database: str, order: str
) -> None:
    """x joins t giving its text (t, a teaser, was to take it), and t joins k, the full story
    stored first: whichever join is made first, x's wire copy of the story is not fuller
    than k's text, so k keeps its own."""
    k = original(PAPER, "story-en")
    t = copy_of(MIRROR, "story-en.teaser")
    x = story(WIRE, "wired", "Wired", wire(TEXTS["story-en"]))
    apart = [replace(f, dedupe=False) for f in FEEDS]  # each saved as its own article
    joins = [StoryJoin(t.id, k.id, "t.md"), StoryJoin(x.id, t.id, "x.md", gives_text=True)]

    async def go() -> tuple[list[StoryJoin], str]:
        store = await open_store(database)
        try:
            for feed, a in ((PAPER, k), (MIRROR, t), (WIRE, x)):
                await save(store, feed, [a], feeds=apart)
            await store.sync_feeds(FEEDS)
            made = await store.join_articles(joins if order == "chain first" else joins[::-1], NOW)
            [kept] = await store.newest(10)
            assert kept.id == k.id
            return made, kept.content
        finally:
            await store.close()

    made, content = run(go())
    assert len(made) == 2, "one article left: k"
    assert content == k.content


def test_a_story_stored_twice_takes_the_text_of_the_one_it_absorbs_through_a_publish(
    database: str, tmp_path: Path
) -> None:
    """The teaser came first; the full story was stored apart (its feed had ``dedupe =
    false`` then); a wire copy matches the full story and shows the teaser to be it: the
    teaser's article stays, and at the join it takes the full story's text (the wire copy's
    dateline and footer do not make it the fuller)."""
    teaser, _, full = join_case()
    wired = story(WIRE, "wired", "Wired", wire(TEXTS["story-en"]))
    output = output_in(tmp_path)

    async def go() -> tuple[Decision, list[StoredArticle]]:
        store = await open_store(database)
        try:
            await save(store, MIRROR, [teaser])
            apart = [replace(f, dedupe=f.name != PAPER.name) for f in FEEDS]
            await save(store, PAPER, [full], feeds=apart)
            [merged] = await save(store, WIRE, [wired])
            await publish_posts(store, output)
            return merged, await store.newest(10)
        finally:
            await store.close()

    merged, kept = run(go())
    assert (merged.target, merged.absorbs, merged.fuller, merged.text_from) == (
        teaser.id,
        (full.id,),
        False,
        full.id,
    )
    assert [(a.id, a.content) for a in kept] == [(teaser.id, full.content)]
    assert posts_in(output) == [kept[0].post_path]


def test_a_join_into_an_article_whose_own_join_is_refused_stays_there(database: str) -> None:
    """a joins b, b joins c, and b's join is refused (a feed has an entry in both b and c):
    a joins b, not c, which nothing showed to be a's story."""
    teaser, edited, _ = join_case()
    zh = original(PAPER, "story-zh")
    in_both = replace(copy_of(MIRROR, "story-zh.wire"), entry_key="guid:in-both")

    async def go() -> list[StoryJoin]:
        store = await open_store(database)
        try:
            await save(store, MIRROR, [teaser])
            await save(store, WIRE, [edited])
            await save(store, PAPER, [zh])
            [dup] = await save(store, MIRROR, [in_both])  # mirror's entry in paper's article
            assert (dup.outcome, dup.target) == (Outcome.DUPLICATE, zh.id)
            return await store.join_articles(
                [StoryJoin(edited.id, teaser.id, "e.md"), StoryJoin(teaser.id, zh.id, "t.md")],
                NOW,
            )
        finally:
            await store.close()

    assert run(go()) == [StoryJoin(edited.id, teaser.id, "e.md")]
    assert count(database, "articles") == 2


def test_a_join_waits_for_a_save_of_the_joined_articles_feed(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: a save of the absorbed article's feed holds its row (and adds to its
    duplicate count) while the publisher joins: the join waits for it, in a save's lock
    order, and the count it leaves is the true one."""
    output = output_in(tmp_path)
    true_count = (
        "SELECT count(*) FROM entries e JOIN articles a ON a.id = e.article_id"
        " WHERE e.feed_id = $1 AND a.feed_id != $1"
    )

    async def go() -> tuple[bool, int, int]:
        import asyncpg

        store = await open_store(postgres_url)
        saving = await asyncpg.connect(postgres_url)
        try:
            merged = await joined_by_the_full_story(store, output)
            other = original(PAPER, "story-ja")
            await save(store, PAPER, [other])
            feed = await saving.fetchval(
                "SELECT feed_id FROM articles WHERE id = $1", merged.absorbs[0]
            )
            async with saving.transaction():  # as a save of that feed: row, a duplicate
                await saving.execute("SELECT 1 FROM feeds WHERE id = $1 FOR UPDATE", feed)
                await saving.execute(
                    "INSERT INTO entries VALUES ($1, 'guid:other', $2, now())", feed, other.id
                )
                await saving.execute(
                    "UPDATE feeds SET duplicates = duplicates + 1 WHERE id = $1", feed
                )
                joining = asyncio.create_task(publish_posts(store, output))
                await wait_for_a_lock_wait(saving)
                waited = not joining.done()
            await asyncio.wait_for(joining, 10)
            stored = await saving.fetchval("SELECT duplicates FROM feeds WHERE id = $1", feed)
            return waited, stored, await saving.fetchval(true_count, feed)
        finally:
            await saving.close()
            await store.close()

    waited, stored, true = run(go())
    assert waited and stored == true == 2


async def wait_for_a_lock_wait(conn: Any, deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    while not await conn.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
        assert loop.time() < until, "nothing waited for a lock"
        await asyncio.sleep(0.02)


def test_the_removals_of_joins_made_before_a_write_failed_are_reported(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The joins are made, then writing the posts fails (a full disk): the publish's error
    still carries the removed post for on_change, and the next publish does not report it
    again."""
    output = output_in(tmp_path)

    def full_disk(folder: Path, texts: dict[str, str]) -> None:
        raise OutputError(str(folder), "cannot write: No space left on device")

    async def go() -> tuple[Decision, Changes, Changes]:
        store = await open_store(database)
        try:
            merged = await joined_by_the_full_story(store, output)
            monkeypatch.setattr(publishing, "write_files", full_disk)
            with pytest.raises(publishing.PublishError) as failed:
                await publish(store, output)
            monkeypatch.undo()
            return merged, failed.value.changes, await publish(store, output)
        finally:
            await store.close()

    merged, failed, later = run(go())
    assert [article_id for article_id, _ in failed.removed] == list(merged.absorbs)
    assert later.removed == [] and len(posts_in(output)) == 1


def test_the_daemons_maintenance_reports_the_joins_it_makes(database: str, ws: Workspace) -> None:
    """The hourly maintenance publishes with repair, which makes pending joins: their
    removed posts reach on_change with the next publishing round."""
    feeds = [{"name": "A", "url": "http://127.0.0.1:9/a.xml"}]
    ws.write_config(feeds, storage={"database": database})
    config = load_config(ws.config_path)

    async def go() -> tuple[Decision, Changes]:
        store = await open_store(database)
        try:
            daemon = Daemon(config, store, pipeline=None)  # type: ignore[arg-type]
            await daemon._maintain()  # its first: taking over as the publisher
            merged = await joined_by_the_full_story(store, config.output)
            await daemon._maintain()
            return merged, daemon._changes
        finally:
            await store.close()

    merged, changes = run(go())
    assert [article_id for article_id, _ in changes.removed] == list(merged.absorbs)


def test_a_new_publishers_repair_reports_its_joins_when_a_write_fails(
    database: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon that becomes the publisher repairs first (a whole publish): its joins are
    made, then writing posts fails; the removals still reach on_change."""
    feeds = [{"name": "A", "url": "http://127.0.0.1:9/a.xml"}]
    ws.write_config(feeds, storage={"database": database})
    config = load_config(ws.config_path)

    def full_disk(folder: Path, texts: dict[str, str]) -> None:
        raise OutputError(str(folder), "cannot write: No space left on device")

    async def go() -> tuple[Decision, Changes]:
        store = await open_store(database)
        try:
            merged = await joined_by_the_full_story(store, config.output)
            daemon = Daemon(config, store, pipeline=None)  # type: ignore[arg-type]
            monkeypatch.setattr(publishing, "write_files", full_disk)
            with pytest.raises(publishing.PublishError):
                await daemon._maintain()  # its first: taking over as the publisher
            return merged, daemon._changes
        finally:
            await store.close()

    merged, changes = run(go())
    assert [article_id for article_id, _ in changes.removed] == list(merged.absorbs)


@pytest.mark.parametrize("late", ["c into a", "b into a"])
def test_a_join_queued_into_an_article_while_it_is_joined_follows_it(
    database: str, late: str
) -> None:
    """The publisher read the queue; meanwhile a save queued c into a (or b into a), and
    this round joins a into b: c's join goes on to b (the next round makes it), not dropped;
    b's would be b into b, nothing to do (its post is not removed and written again)."""
    a, b, c = join_case()[1], join_case()[0], original(PAPER, "story-en")
    apart = [replace(f, dedupe=False) for f in FEEDS]
    queued_late = c if late == "c into a" else b

    async def go() -> list[tuple[str, str]]:
        store = await open_store(database)
        try:
            for feed, article in ((WIRE, a), (MIRROR, b), (PAPER, c)):
                await save(store, feed, [article], feeds=apart)
            await store.sync_feeds(FEEDS)
            await queue_join(store, a.id, b.id)
            listed = await store.pending_joins()
            await queue_join(store, queued_late.id, a.id)  # a save, after the reading
            await store.join_articles(listed, NOW)
            return [(j.article_id, j.into_id) for j in await store.pending_joins()]
        finally:
            await store.close()

    assert run(go()) == ([(c.id, b.id)] if late == "c into a" else [])


def test_a_join_into_an_article_deleted_since_keeps_the_other_post(
    database: str, tmp_path: Path
) -> None:
    """Retention deleted the article before the publisher made the join: the absorbed one
    keeps its post (it is not removed only to be written again)."""
    output = output_in(tmp_path)

    async def go() -> tuple[Changes, list[str]]:
        store = await open_store(database)
        try:
            merged = await joined_by_the_full_story(store, output)
            await store.delete_articles([merged.target])
            changes = await publish_posts(store, output)
            return changes, [a.post_path for a in await store.newest(10)]
        finally:
            await store.close()

    changes, left = run(go())
    assert changes.removed == [] and len(left) == 1
    assert left[0] in posts_in(output)


def test_a_join_cut_short_after_its_post_went_is_made_by_the_next_publish(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails after the publisher removed the post: the rows and the queued join
    stay, the publish reports the failure, and the next one makes the join."""
    output = output_in(tmp_path)
    real = Store.join_articles

    async def failing(self: Store, joins: Sequence[StoryJoin], now: datetime) -> list[StoryJoin]:
        raise StoreError(database, "disk I/O error")

    async def go() -> tuple[int, list[str]]:
        store = await open_store(database)
        try:
            await joined_by_the_full_story(store, output)
            monkeypatch.setattr(Store, "join_articles", failing)
            with pytest.raises(StoreError):
                await publish_posts(store, output)
            articles_then = len(await store.newest(10))
            monkeypatch.setattr(Store, "join_articles", real)
            await publish(store, output)
            return articles_then, [a.post_path for a in await store.newest(10)]
        finally:
            await store.close()

    articles_then, kept = run(go())
    assert articles_then == 2, "nothing stored was lost"
    assert posts_in(output) == kept and len(kept) == 1


# -- a whole pass ------------------------------------------------------------------------------


def rss(items: Sequence[tuple[str, str, str]], channel: str = "T") -> bytes:
    """(guid, title, text) items; each links to its own page."""
    body = "".join(
        f"<item><title>{html.escape(title)}</title><guid>{html.escape(guid)}</guid>"
        f"<link>https://{html.escape(guid)}.example/story</link>"
        f"<description>{html.escape(as_html(text))}</description></item>"
        for guid, title, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{channel}</title>{body}'.encode()
        + (b"</channel></rss>")
    )


def serve_sources(
    loopback: LoopbackServer,
    channel: str = "T",
    order: Sequence[str] = ("teasers", "stories", "wire", "edited", "lookalikes"),
) -> list[dict[str, object]]:
    """Four sources of the same four stories, in the order a pass with concurrency 1 reads
    them (by default teasers first, then the stories, their wire copies and edited copies);
    and a source of look-alikes."""
    names = sorted(TEXTS)
    items = {
        "teasers": [(f"t-{n}", TITLES[n], COPIES[f"{n}.teaser"]) for n in names],
        "stories": [(f"s-{n}", TITLES[n], TEXTS[n]) for n in names],
        "wire": [(f"w-{n}", f"{TITLES[n]} | Wire", COPIES[f"{n}.wire"]) for n in names],
        "edited": [(f"e-{n}", TITLES[n][:30], COPIES[f"{n}.edited"]) for n in names],
        "lookalikes": [(f"l-{n}", n.rsplit("-", 1)[0], LOOKALIKES[n]) for n in sorted(LOOKALIKES)],
    }
    sources = {name: items[name] for name in order}
    for name, items in sources.items():
        loopback.routes[f"/{name}.xml"] = FeedResource(rss(items, channel))
    return [{"name": name, "url": loopback.url(f"/{name}.xml")} for name in sources]


def with_dedupe(ws: Workspace, **keys: object) -> None:
    toml = "".join(f"{k} = {str(v).lower()}\n" for k, v in keys.items())
    ws.config_path.write_text(ws.config_path.read_text() + f"\n[dedupe]\n{toml}")


def test_a_pass_keeps_one_post_per_story_with_its_fullest_text(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    feeds = serve_sources(loopback)
    ws.write_config(feeds, storage={"database": database}, fetch={"concurrency": 1})
    summary, articles, states = one_pass(ws)
    stories, lookalikes = len(TEXTS), len(LOOKALIKES)
    assert (summary.new, summary.duplicate) == (stories + lookalikes, 3 * stories)
    assert {n: s.duplicates for n, s in states.items()} == {
        "teasers": 0,
        "stories": stories,
        "wire": stories,
        "edited": stories,
        "lookalikes": 0,
    }
    assert len(ws.posts()) == len(articles) == stories + lookalikes
    listed = ws.run("feeds", "--json")
    assert listed.returncode == 0, listed.stderr
    feeds_json = json.loads(listed.stdout)
    jsonschema.validate(feeds_json, json.loads((SCHEMAS / "feeds.schema.json").read_text()))
    assert {f["name"]: f["duplicates"] for f in feeds_json} == {
        n: s.duplicates for n, s in states.items()
    }
    posts = {a.feed_name: ws.posts()[a.post_path].decode() for a in articles}
    assert set(posts) == {"teasers", "lookalikes"}, "each story under its first source"
    for name, text in TEXTS.items():
        last_line = text.strip().splitlines()[-1]
        [post] = [p for p in ws.posts().values() if TITLES[name] in p.decode()]
        assert html.escape(last_line, quote=False) in post.decode(), "the full text, not the teaser"

    # The same stories again, in documents that changed (read afresh): nothing changes.
    serve_sources(loopback, channel="T2")
    stamps = ws.stamps()
    summary, again, _ = one_pass(ws)
    assert (summary.feeds_ok, summary.new, summary.updated, summary.duplicate) == (5, 0, 0, 0)
    assert ws.stamps() == stamps and again == articles


def test_a_pass_joins_a_teaser_and_an_edited_copy_that_its_full_story_shows_to_be_one(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    """Teasers, then edited copies whose cut fell in the teasers' paragraphs (English,
    Chinese, Japanese: two articles each), then the full stories: each story ends with one
    post, every entry of it mapped to its article; the next pass changes nothing."""
    order = ("teasers", "edited", "stories", "wire", "lookalikes")
    feeds = serve_sources(loopback, order=order)
    ws.write_config(feeds, storage={"database": database}, fetch={"concurrency": 1})
    summary, articles, states = one_pass(ws)
    stories, lookalikes = len(TEXTS), len(LOOKALIKES)
    assert summary.new > stories + lookalikes, "some stories were stored twice at first"
    assert len(ws.posts()) == len(articles) == stories + lookalikes
    entries = 4 * stories
    assert sum(s.duplicates for s in states.values()) == entries - stories
    assert count(database, "story_joins") == 0
    for name in TEXTS:  # (the edited copies' titles are the first 30 characters)
        titled = [p for p in ws.posts().values() if TITLES[name][:30] in p.decode()]
        assert len(titled) == 1, name

    serve_sources(loopback, channel="T2", order=order)
    stamps = ws.stamps()
    summary, again, _ = one_pass(ws)
    assert (summary.feeds_ok, summary.new, summary.updated, summary.duplicate) == (5, 0, 0, 0)
    assert ws.stamps() == stamps and again == articles


def test_a_pass_never_merges_a_source_with_dedupe_false(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    feeds = serve_sources(loopback)
    feeds[2]["dedupe"] = False  # the wire: its copies stay its own, none merged into them
    ws.write_config(feeds, storage={"database": database}, fetch={"concurrency": 1})
    summary, _, states = one_pass(ws)
    assert (summary.new, summary.duplicate) == (2 * len(TEXTS) + len(LOOKALIKES), 2 * len(TEXTS))
    assert states["wire"].duplicates == 0 and states["wire"].article_count == len(TEXTS)


def test_a_pass_with_near_duplicates_off_merges_no_copy(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    ws.write_config(
        serve_sources(loopback), storage={"database": database}, fetch={"concurrency": 1}
    )
    with_dedupe(ws, near_duplicates=False)
    summary, _, _ = one_pass(ws)
    assert (summary.new, summary.duplicate) == (4 * len(TEXTS) + len(LOOKALIKES), 0)
    assert near_rows(database) == 0
