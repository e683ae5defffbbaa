"""The corpus through near-duplicate detection as a store would run it.

Documents arrive one at a time. Each gets its signature; the band keys find stored articles of
other sources (an in-memory band table, as rows ``(key, article_id)`` would); candidates are
verified on their texts with ``copy_kind``, most shared keys first. A copy joins the article
(whose text becomes the copy's when the copy is the fuller one) and its keys are added to the
article's; anything else is a new article. The other candidates the copy also copies, which
are copies of the article's text, join the article too (``Decision.absorbs``).
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.steps.similar import Copy, Thresholds, copy_kind, shingles, signature

from .corpus import COPY_KINDS, Doc

MAX_CANDIDATES = 8  # verified per document, most shared keys first


@dataclass(slots=True)
class _Article:
    text: str
    source: str
    story: str
    joined: int | None = None  # the article it joined (its documents and keys went there)


@dataclass(slots=True)
class Run:
    order: str
    docs: list[Doc]
    article_of: dict[str, int] = field(default_factory=dict)  # doc id -> article number
    story_of_article: list[str] = field(default_factory=list)
    sign_ns: dict[str, int] = field(default_factory=dict)  # doc id -> CPU ns of signature()
    verify_ns: list[int] = field(default_factory=list)  # per candidate verified
    candidates: list[int] = field(default_factory=list)  # per signed document
    wrong_candidates: int = 0  # candidates of another story (verified or not)
    unsigned: int = 0

    def false_merges(self) -> list[str]:
        """Documents that joined an article of another story."""
        return [d.id for d in self.docs if self.story_of_article[self.article_of[d.id]] != d.story]

    def recall(self) -> dict[str, tuple[int, int]]:
        """Per kind of copy (and CJK apart): copies in their original's article, of all."""
        original = {d.story: d.id for d in self.docs if d.kind == "original"}
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for d in self.docs:
            if d.kind in COPY_KINDS:
                key = f"{d.kind} (CJK)" if d.cjk else d.kind
                counts[key][1] += 1
                counts[key][0] += self.article_of[d.id] == self.article_of[original[d.story]]
        return {k: (v[0], v[1]) for k, v in sorted(counts.items())}

    def stories_kept(self) -> tuple[int, int]:
        """Stories none of whose documents joined another story's article, of all stories."""
        stories = {d.story for d in self.docs}
        lost = {d.story for d in self.docs if d.id in set(self.false_merges())}
        return len(stories - lost), len(stories)


def arrange(docs: Sequence[Doc], order: str, seed: int) -> list[Doc]:
    """``originals``: originals first; ``copies``: copies first (a teaser before its full
    story); ``shuffled``: a seeded random order."""
    if order == "originals":
        return sorted(docs, key=lambda d: d.kind != "original")
    if order == "copies":
        return sorted(docs, key=lambda d: d.kind == "original")
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def run(docs: Sequence[Doc], order: str, thresholds: Thresholds, seed: int = 18) -> Run:
    result = Run(order, arrange(docs, order, seed))
    articles: list[_Article] = []
    table: dict[int, set[int]] = defaultdict(set)  # band key -> article numbers
    for doc in result.docs:
        started = time.process_time_ns()
        sig = signature(doc.text, thresholds.min_tokens)
        result.sign_ns[doc.id] = time.process_time_ns() - started
        target = None
        if sig is None:
            result.unsigned += 1
        else:
            target = _verified(doc, sig.all_keys, table, articles, thresholds, result)
        if target is None:
            target = len(articles)
            articles.append(_Article(doc.text, doc.source, doc.story))
            result.story_of_article.append(doc.story)
        result.article_of[doc.id] = target
        for key in sig.all_keys if sig else ():
            table[key].add(target)
    for doc_id, number in result.article_of.items():
        while (joined := articles[number].joined) is not None:
            number = joined
        result.article_of[doc_id] = number
    return result


def _verified(
    doc: Doc,
    keys: tuple[int, ...],
    table: dict[int, set[int]],
    articles: list[_Article],
    thresholds: Thresholds,
    result: Run,
) -> int | None:
    shared: Counter[int] = Counter()
    for key in keys:
        shared.update(table.get(key, ()))
    ranked = [
        a
        for a, _ in shared.most_common()
        if articles[a].source != doc.source and articles[a].joined is None
    ]
    result.candidates.append(len(ranked))
    result.wrong_candidates += sum(articles[a].story != doc.story for a in ranked)
    proposed = ranked[:MAX_CANDIDATES]
    for position, number in enumerate(proposed):
        article = articles[number]
        started = time.process_time_ns()
        kind = copy_kind(doc.text, article.text, thresholds)
        result.verify_ns.append(time.process_time_ns() - started)
        if kind is Copy.FULLER:
            article.text = doc.text
        if kind is not None:
            return _join(doc, number, proposed[position + 1 :], table, articles, thresholds)
    return None


def _join(
    doc: Doc,
    target: int,
    others: Sequence[int],
    table: dict[int, set[int]],
    articles: list[_Article],
    thresholds: Thresholds,
) -> int:
    """The other candidates that ``doc`` copies and that are copies of the story's text
    (the longer of the document's and the target's) join it (one per source, none of the
    target's), as ``dedupe._joining``; the first stored of them all stays, and takes the
    target's text if that is the fuller. The article the document joins."""
    sources = {articles[target].source}
    story = max(doc.text, articles[target].text, key=lambda t: shingles(t).tokens)
    group = [target]
    for number in others:
        other = articles[number]
        if other.source in sources or copy_kind(doc.text, other.text, thresholds) is None:
            continue
        if copy_kind(other.text, story, thresholds) in (Copy.EQUIVALENT, Copy.TEASER):
            group.append(number)
            sources.add(other.source)
    keeper = min(group)  # numbers follow arrival: the first stored
    matched = articles[target].text  # the document's when that was fuller
    if keeper != target and copy_kind(matched, articles[keeper].text, thresholds) is Copy.FULLER:
        articles[keeper].text = matched
    for number in group:
        if number != keeper:
            articles[number].joined = keeper
            for holders in table.values():
                if number in holders:
                    holders.discard(number)
                    holders.add(keeper)
    return keeper
