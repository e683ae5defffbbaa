"""Thresholds chosen on figures: every pair of documents of different stories and sources, and
every copy with its original, scored once; then precision and recall over a grid.

A copy counts as recalled at a grid point when ``judge`` accepts it in both directions
(arriving after its original, and before it)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from aggregator.steps.similar import Similarity, Thresholds, compare, judge, shingles

from .corpus import COPY_KINDS, Doc

GRID_JACCARD = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
GRID_CONTAINMENT = (0.7, 0.75, 0.8, 0.85, 0.9)
GRID_MIN_TOKENS = (30, 35, 40, 45, 50)
_FLOOR = min(GRID_MIN_TOKENS)


def sweep(docs: Sequence[Doc]) -> str:
    sets = {d.id: shingles(d.text) for d in docs}
    copies = [
        (d, compare(sets[d.id], sets[f"original/{d.story}"])) for d in docs if d.kind in COPY_KINDS
    ]
    distinct = []
    eligible = [d for d in docs if sets[d.id].tokens >= _FLOOR]
    for a, b in itertools.combinations(eligible, 2):
        if a.story != b.story and a.source != b.source:
            s = compare(sets[a.id], sets[b.id])
            if s.jaccard > 0:
                distinct.append((a, b, s))
    lines = [
        _closest(distinct),
        "",
        "| jaccard | containment | min_tokens | false merges | "
        + " | ".join(_kinds(copies))
        + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(_kinds(copies)),
    ]
    for j, c, m in itertools.product(GRID_JACCARD, GRID_CONTAINMENT, GRID_MIN_TOKENS):
        t = Thresholds(j, c, m)
        false = sum(judge(s, t) is not None for _, _, s in distinct)
        recall = _recall(copies, t)
        lines.append(
            f"| {j} | {c} | {m} | {false} | "
            + " | ".join(f"{recall[k]:.1%}" for k in _kinds(copies))
            + " |"
        )
    return "\n".join(lines)


def _kinds(copies: Sequence[tuple[Doc, Similarity]]) -> list[str]:
    return sorted({_kind(d) for d, _ in copies})


def _kind(d: Doc) -> str:
    return f"{d.kind} (CJK)" if d.cjk else d.kind


def _recall(copies: Sequence[tuple[Doc, Similarity]], t: Thresholds) -> dict[str, float]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d, s in copies:
        reverse = replace(
            s, a_in_b=s.b_in_a, b_in_a=s.a_in_b, a_tokens=s.b_tokens, b_tokens=s.a_tokens
        )
        counts[_kind(d)][1] += 1
        counts[_kind(d)][0] += judge(s, t) is not None and judge(reverse, t) is not None
    return {k: v[0] / v[1] for k, v in counts.items()}


def _closest(distinct: Sequence[tuple[Doc, Doc, Similarity]]) -> str:
    """The most similar pairs of distinct stories (both texts >= 40 tokens), per family."""
    best_j: dict[tuple[str, str], float] = defaultdict(float)
    best_c: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, s in distinct:
        if min(s.a_tokens, s.b_tokens) < 40:
            continue
        pair = (min(a.kind, b.kind), max(a.kind, b.kind))
        best_j[pair] = max(best_j[pair], s.jaccard)
        best_c[pair] = max(best_c[pair], max(s.a_in_b, s.b_in_a))
    top_j = sorted(best_j.items(), key=lambda kv: -kv[1])[:6]
    top_c = sorted(best_c.items(), key=lambda kv: -kv[1])[:6]
    return (
        "\nClosest distinct stories (both >= 40 tokens), Jaccard: "
        + ", ".join(f"{a}/{b} {v:.2f}" for (a, b), v in top_j)
        + "; containment: "
        + ", ".join(f"{a}/{b} {v:.2f}" for (a, b), v in top_c)
    )
