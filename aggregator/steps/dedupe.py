"""Pure: the decision new / updated / unchanged / duplicate for one feed's articles.

Within a feed an article is found by its entry key (guid, else canonical link, else content
hash). A new key is the same article of the same feed when its per-article link *and*
fingerprint match one (publishers that churn guids), or when everything it shows is identical.
Across feeds, the first stored copy wins and the newcomer is a duplicate when the fingerprint
(normalized title + text) matches, or when the per-article link matches and the titles agree.
A link identifies nothing when several distinct entries share it: in a document (normalize
drops it from the article), or across stored articles; those entries match by guid and
content only (podcasts whose episodes all link to the show's site).

Near-duplicates come after: an article still NEW that carries a signature is the same story
as a stored article of another feed when their texts say so (``merge_near_duplicates``: the
candidates, found by shared band keys, verified with ``similar.copy_kind``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..config import DedupeConfig
from ..models import Article, Decision, KnownEntries, Match, Outcome
from .similar import Copy, Shingles, Thresholds, copy_kind, shingles

# Titles agree when most of the shorter one's words (or CJK characters) are in the other.
TITLE_OVERLAP = 0.6
# Stored articles verified per incoming one, most shared band keys first: a copy shares most
# of its 24 keys with its story; look-alikes that share a lead share a few.
MAX_CANDIDATES = 8
_WORD = re.compile(r"[^\W\d_]+|\d+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def decide(articles: Sequence[Article], known: KnownEntries) -> list[Decision]:
    """One decision per article, in order. ``known`` holds what the store already has;
    articles decided NEW here are visible to the ones after them."""
    decisions = []
    local = _LocalIndex()
    for article in articles:
        decision = _decide_one(article, known, local)
        if decision.outcome is Outcome.NEW:
            local.add(article)
        decisions.append(decision)
    return decisions


def _decide_one(article: Article, known: KnownEntries, local: _LocalIndex) -> Decision:
    match = known.by_entry_key.get(article.entry_key)
    if match is not None:
        if match.feed_name == article.feed_name and match.content_hash != article.content_hash:
            return Decision(Outcome.UPDATED, article, match.article_id)
        return Decision(Outcome.UNCHANGED, article, match.article_id)

    by_url = _url_matches(article, known, local)
    by_fingerprint = (
        [
            *known.by_fingerprint.get(article.fingerprint, ()),
            *local.by_fingerprint.get(article.fingerprint, ()),
        ]
        if article.fingerprint
        else []
    )
    for m in (*by_url, *by_fingerprint):
        if m.feed_name == article.feed_name and _same_entry(m, article):
            outcome = Outcome.UPDATED if m.content_hash != article.content_hash else Outcome.ALIAS
            return Decision(outcome, article, m.article_id, new_key=True)
    for m in by_fingerprint:  # another feed has it: the first stored copy wins
        if m.feed_name != article.feed_name:
            return Decision(Outcome.DUPLICATE, article, m.article_id, new_key=True)
    for m in by_url:
        if m.feed_name != article.feed_name and titles_agree(m.title, article.title):
            return Decision(Outcome.DUPLICATE, article, m.article_id, new_key=True)
    return Decision(Outcome.NEW, article, article.id, new_key=True)


def _url_matches(article: Article, known: KnownEntries, local: _LocalIndex) -> list[Match]:
    """Stored (and earlier new) articles with this per-article link; none when several
    distinct articles have it: then it identifies none of them."""
    if not article.canonical_url:
        return []
    matches = [
        *known.by_canonical_url.get(article.canonical_url, ()),
        *local.by_url.get(article.canonical_url, ()),
    ]
    return matches if len({m.article_id for m in matches}) == 1 else []


def _same_entry(m: Match, article: Article) -> bool:
    """A stored article of the same feed that a new entry key still denotes."""
    if m.fingerprint != article.fingerprint:
        return False
    if m.content_hash == article.content_hash:
        return True  # everything it shows is identical
    return article.canonical_url is not None and m.canonical_url == article.canonical_url


def titles_agree(a: str, b: str) -> bool:
    """Whether two titles can name the same story: equal once normalized, one inside the
    other (" | Source" suffixes), or most of the shorter one's words in the other. A missing
    title says nothing against it."""
    a_norm, b_norm = _normalized(a), _normalized(b)
    if not a_norm or not b_norm or a_norm in b_norm or b_norm in a_norm:
        return True  # (word runs, space-padded: "episode 1" is not in "episode 12")
    a_tokens, b_tokens = _tokens(a_norm), _tokens(b_norm)
    shorter = min(len(a_tokens), len(b_tokens))
    return shorter > 0 and len(a_tokens & b_tokens) / shorter >= TITLE_OVERLAP


def _normalized(title: str) -> str:
    words = _WORD.findall(title.casefold())
    return f" {' '.join(words)} " if words else ""


def _tokens(normalized: str) -> set[str]:
    """Words, and each CJK character on its own (those scripts have no spaces)."""
    tokens: set[str] = set()
    for word in normalized.split():
        if _CJK.search(word):
            tokens.update(word)
        else:
            tokens.add(word)
    return tokens


class _LocalIndex:
    """Articles of this document already decided NEW (not yet in the store)."""

    def __init__(self) -> None:
        self.by_url: dict[str, list[Match]] = {}
        self.by_fingerprint: dict[str, list[Match]] = {}

    def add(self, a: Article) -> None:
        m = Match(a.id, a.feed_name, a.content_hash, a.canonical_url, a.fingerprint, a.title)
        if a.canonical_url:
            self.by_url.setdefault(a.canonical_url, []).append(m)
        if a.fingerprint:
            self.by_fingerprint.setdefault(a.fingerprint, []).append(m)


# -- near-duplicates ----------------------------------------------------------------------------


def near_thresholds(config: DedupeConfig) -> Thresholds | None:
    """The thresholds of ``[dedupe]``, or None when near-duplicates are off."""
    if not config.near_duplicates:
        return None
    return Thresholds(config.threshold, config.containment, config.min_tokens)


def near_candidates(keys: Sequence[int], holders: Mapping[int, Sequence[str]]) -> list[str]:
    """The stored articles sharing band keys with ``keys`` (``holders``: key -> article ids),
    most shared keys first (among equals, as first found), at most MAX_CANDIDATES."""
    shared: Counter[str] = Counter()
    for key in keys:
        shared.update(holders.get(key, ()))
    return [article_id for article_id, _ in shared.most_common(MAX_CANDIDATES)]


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored article that a band key lookup found: its visible text, its feed, and its
    number (``articles.seq``: the lower, the earlier it was stored)."""

    text: str
    feed_id: int
    seq: int


def merge_near_duplicates(
    decisions: Sequence[Decision],
    candidates: Mapping[str, Sequence[str]],
    stored: Mapping[str, Stored],
    thresholds: Thresholds,
) -> list[Decision]:
    """Each NEW decision whose article is a copy of one of its ``candidates`` (incoming
    article id -> stored article ids, best first) becomes a DUPLICATE of the first it copies.
    ``fuller``: the stored text is a teaser of the incoming one, and the article takes the
    incoming content; later copies in the batch are then compared with that text.
    ``absorbs``: the other candidates it copies that are copies of the story too
    (``_joining``); then the earliest stored of them all is the one that stays (the first
    stored copy keeps its post) and takes the text the target has then (the incoming content
    when that was fuller: ``fuller``; else ``text_from`` the target) when that is fuller
    than its own. Anything else is left as it was."""
    current = {article_id: s.text for article_id, s in stored.items()}
    shingled: dict[str, Shingles] = {}
    joined: dict[str, str] = {}  # absorbed -> the article it joins

    def shingles_of(article_id: str) -> Shingles:
        if article_id not in shingled:
            shingled[article_id] = shingles(current[article_id])
        return shingled[article_id]

    merged = []
    for decision in decisions:
        article = decision.article
        found = (joined.get(c, c) for c in candidates.get(article.id, ()))
        proposed = [c for c in dict.fromkeys(found) if c in current]  # not gone
        if decision.outcome is not Outcome.NEW or not article.text or not proposed:
            merged.append(decision)
            continue
        incoming = shingles(article.text)
        for position, target in enumerate(proposed):
            kind = copy_kind(incoming, shingles_of(target), thresholds)
            if kind is None:
                continue
            fuller = kind is Copy.FULLER
            if fuller:
                current[target], shingled[target] = article.text, incoming
            story = max(incoming, shingles_of(target), key=lambda s: s.tokens)
            others = proposed[position + 1 :]
            absorbs = _joining(incoming, story, target, others, shingles_of, stored, thresholds)
            keeper = min((target, *absorbs), key=lambda a: stored[a].seq)
            absorbs = tuple(a for a in (target, *absorbs) if a != keeper)
            text_from = None
            if keeper != target:  # it takes the target's text (now) if that is the fuller
                matched = shingles_of(target)  # the incoming one's when that was fuller
                takes = copy_kind(matched, shingles_of(keeper), thresholds) is Copy.FULLER
                text_from = target if takes and not fuller else None
                fuller = takes and fuller
                if takes:
                    current[keeper], shingled[keeper] = current[target], matched
            for other in absorbs:  # later copies that find it are compared with the keeper
                del current[other]
                joined[other] = keeper
            decision = replace(
                decision,
                outcome=Outcome.DUPLICATE,
                target=keeper,
                fuller=fuller,
                absorbs=absorbs,
                text_from=text_from,
            )
            break
        merged.append(decision)
    return merged


def still_fuller(giving: str, kept: str) -> bool:
    """At a join queued with ``text_from``: whether the absorbed article's text is still
    fuller than the text of the article that stays, which may have taken a fuller one since,
    or be another article than when the join was queued (a chain of joins). With the default
    thresholds: the join does not know ``[dedupe]``'s, and only a text's fullness depends
    on them here."""
    return copy_kind(giving, kept) is Copy.FULLER


def _joining(
    incoming: Shingles,
    story: Shingles,
    target: str,
    others: Sequence[str],
    shingles_of: Callable[[str], Shingles],
    stored: Mapping[str, Stored],
    thresholds: Thresholds,
) -> tuple[str, ...]:
    """The ``others`` (stored articles) that are the target's story too: the incoming text
    copies them, and they are copies of ``story``, no fuller than it (the longer of the
    incoming text and the target's). One story stored twice because neither copy held
    enough of the other: a teaser, then an edited copy whose cut fell in the teaser's
    paragraphs; the full story shows both. Two look-alikes that an incoming text copies
    (a briefing's boilerplate alone) are not copies of each other's story and stay apart.
    Across sources only: none of the target's feed, one per feed (the store checks the
    entries of both articles again when it joins them)."""
    joining: list[str] = []
    seen_feeds = {stored[target].feed_id}
    for other in others:
        if stored[other].feed_id in seen_feeds:
            continue
        theirs = shingles_of(other)
        if copy_kind(incoming, theirs, thresholds) is None:
            continue
        if copy_kind(theirs, story, thresholds) in (Copy.EQUIVALENT, Copy.TEASER):
            joining.append(other)
            seen_feeds.add(stored[other].feed_id)
    return tuple(joining)
