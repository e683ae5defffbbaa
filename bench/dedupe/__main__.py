"""``python -m bench.dedupe [--shared DIR] [--seed N] [--sweep]``: the syndication corpus through
near-duplicate detection; precision, recall per kind of copy, and the cost per article.
``--sweep`` also prints the pairwise precision/recall over a grid of thresholds."""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from aggregator.steps.extract.html import visible_text
from aggregator.steps.similar import DEFAULT_THRESHOLDS, Thresholds

from .. import corpus as bench_corpus
from .corpus import LOOKALIKE_FAMILIES, Doc, build
from .evaluate import Run, run
from .sources import load_originals
from .sweep import sweep

ROOT = Path(__file__).resolve().parents[2]
ORDERS = ("originals", "copies", "shuffled")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (args.shared / "fixtures" / "article-pages").is_dir():
        print(
            f"bench.dedupe: no fixtures/article-pages in {args.shared} (use --shared DIR)",
            file=sys.stderr,
        )
        return 2
    originals = load_originals(args.shared)
    docs = build(originals, args.seed)
    thresholds = DEFAULT_THRESHOLDS
    print(_corpus_line(docs, len(originals)))
    runs = [run(docs, order, thresholds, args.seed) for order in ORDERS]
    print(_quality_table(runs, thresholds))
    print(_cost_table(runs[0], docs))
    if args.sweep:
        print(sweep(docs))
    print(f"\nCPython {platform.python_version()}, {platform.machine()}, one process.")
    return 0 if not any(r.false_merges() for r in runs) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--sweep", action="store_true")
    return parser


def _corpus_line(docs: Sequence[Doc], originals: int) -> str:
    kinds = {k: sum(d.kind == k for d in docs) for k in ("wire", "edited", "teaser")}
    cjk = sum(d.cjk and d.kind in kinds for d in docs)
    lookalikes = sum(d.kind in LOOKALIKE_FAMILIES for d in docs)
    return (
        f"Corpus: {len(docs)} documents: {originals} originals, "
        + ", ".join(f"{n} {k}" for k, n in kinds.items())
        + f" copies ({cjk} of them Chinese or Japanese), {lookalikes} look-alikes "
        f"({len(LOOKALIKE_FAMILIES)} families)."
    )


def _quality_table(runs: Sequence[Run], t: Thresholds) -> str:
    kinds = sorted({k for r in runs for k in r.recall()})
    head = ["order", "stories kept", "false merges", *kinds]
    lines = [
        f"\nThresholds: jaccard {t.jaccard}, containment {t.containment}, "
        f"min_tokens {t.min_tokens}.\n",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for r in runs:
        kept, stories = r.stories_kept()
        recall = r.recall()
        cells = [
            f"{recall[k][0]}/{recall[k][1]} ({recall[k][0] / recall[k][1]:.1%})" for k in kinds
        ]
        lines.append(
            f"| {r.order} | {kept}/{stories} | {len(r.false_merges())} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def _cost_table(r: Run, docs: Sequence[Doc]) -> str:
    groups = {
        "Latin originals, 300-3000 words": [
            d
            for d in docs
            if d.kind == "original" and not d.cjk and 300 <= len(d.text.split()) <= 3000
        ],
        "CJK originals, 500-5000 characters": [
            d for d in docs if d.kind == "original" and d.cjk and 500 <= len(d.text) <= 5000
        ],
        "all documents": list(docs),
    }
    lines = [
        "\n| signature() | documents | mean chars | mean µs | p95 µs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, group in groups.items():
        ns = sorted(r.sign_ns[d.id] for d in group)
        lines.append(
            f"| {name} | {len(group)} | {statistics.mean(len(d.text) for d in group):.0f}"
            f" | {statistics.mean(ns) / 1000:.0f} | {_p95(ns) / 1000:.0f} |"
        )
    bench_texts = _bench_articles(300)
    ns = sorted(_sign_cost(t) for t in bench_texts)
    lines.append(
        f"| 2,000-feed bench articles (sample) | {len(ns)} | "
        f"{statistics.mean(map(len, bench_texts)):.0f} | "
        f"{statistics.mean(ns) / 1000:.0f} | {_p95(ns) / 1000:.0f} |"
    )
    verify = sorted(r.verify_ns)
    signed = len(r.candidates)
    lines.append(
        f"\nVerification (`copy_kind` on both texts): {len(verify)} candidates for {signed} "
        f"signed documents ({len(verify) / signed:.2f} each; {r.wrong_candidates} of another "
        f"story), mean {statistics.mean(verify) / 1000:.0f} µs, p95 {_p95(verify) / 1000:.0f} µs."
        f" Unsigned (below min_tokens): {r.unsigned}."
    )
    return "\n".join(lines)


def _bench_articles(count: int) -> list[str]:
    """Article texts as the 2,000-feed benchmark's corpus makes them."""
    return [visible_text(bench_corpus.story(7, feed, 0).body) for feed in range(count)]


def _sign_cost(text: str) -> int:
    import time

    from aggregator.steps.similar import signature

    started = time.process_time_ns()
    signature(text)
    return time.process_time_ns() - started


def _p95(sorted_values: Sequence[int]) -> float:
    return sorted_values[int(0.95 * (len(sorted_values) - 1))]


if __name__ == "__main__":
    raise SystemExit(main())
