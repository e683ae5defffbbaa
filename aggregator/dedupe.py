"""Pure: the decision new / updated / unchanged / duplicate for one feed's articles.

Within a feed an article is found by its entry key (guid, else canonical link, else content
hash). A new key whose canonical link *and* fingerprint match an article of the same feed is
that article (publishers that churn guids). Across feeds, the canonical URL or the fingerprint
finds the first stored copy: the newcomer is a duplicate. Entries sharing a link but differing
in content stay distinct (podcasts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import Article, Decision, KnownEntries, Match, Outcome


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

    candidates = [*_candidates(article, known), *local.candidates(article)]
    for m in candidates:  # the same feed re-keyed the same article
        if (
            m.feed_name == article.feed_name
            and m.canonical_url == article.canonical_url
            and m.fingerprint == article.fingerprint
        ):
            outcome = Outcome.UPDATED if m.content_hash != article.content_hash else Outcome.ALIAS
            return Decision(outcome, article, m.article_id, new_key=True)
    for m in candidates:  # another feed has it: the first stored copy wins
        if m.feed_name != article.feed_name:
            return Decision(Outcome.DUPLICATE, article, m.article_id, new_key=True)
    return Decision(Outcome.NEW, article, article.id, new_key=True)


def _candidates(article: Article, known: KnownEntries) -> Iterable[Match]:
    if article.canonical_url:
        yield from known.by_canonical_url.get(article.canonical_url, ())
    if article.fingerprint:
        yield from known.by_fingerprint.get(article.fingerprint, ())


class _LocalIndex:
    """Articles of this document already decided NEW (not yet in the store)."""

    def __init__(self) -> None:
        self.by_url: dict[str, list[Match]] = {}
        self.by_fp: dict[str, list[Match]] = {}

    def add(self, a: Article) -> None:
        m = Match(a.id, a.feed_name, a.content_hash, a.canonical_url, a.fingerprint)
        if a.canonical_url:
            self.by_url.setdefault(a.canonical_url, []).append(m)
        if a.fingerprint:
            self.by_fp.setdefault(a.fingerprint, []).append(m)

    def candidates(self, a: Article) -> Iterable[Match]:
        if a.canonical_url:
            yield from self.by_url.get(a.canonical_url, ())
        if a.fingerprint:
            yield from self.by_fp.get(a.fingerprint, ())
