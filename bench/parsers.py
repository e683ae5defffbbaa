"""``python -m bench.parsers [--shared DIR] [--feeds N] [--no-speed] [--rows]``: feedparser-rs
against feedparser, both through our conversion (issue 20).

Agreement: every document of ../shared/fixtures/realfeeds and of the bench corpus
(bench.corpus.generate: gen1 and the gen2 feeds that changed), under several Content-Types, read
three ways and compared as ParsedFeed records, field by field:

- feedparser: steps/parse/xmlfeed.parse_xml_feed, how every feed is read today;
- feedparser-rs as a drop-in: its result straight into the same conversion, no checks;
- the fast path: steps/parse/fast.read_fast, feedparser-rs inside the proven class only.

A document the fast path takes must read exactly as feedparser reads it (title types too, which
the conversion is about to keep); the run fails otherwise. The drop-in column shows why the
checks exist. Speed: per-entry µs on the bench corpus of each reader, and of the fast path's
parts (its checks, feedparser-rs, the conversion), and what a refusal costs on the real feeds.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import feedparser_rs

from aggregator.config import FeedConfig
from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.steps.digest import digest_document
from aggregator.steps.parse import fast
from aggregator.steps.parse.xmlfeed import (
    _PARSE_OPTIONS,
    _bozo_text,
    _entry,
    _hints,
    _text,
    parse_xml_feed,
)

from .corpus import generate

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SHARED = ROOT.parent / "shared"
NOT_FEEDS = {"README.md", "SOURCES.tsv"}
URL = "https://feeds.example/{name}"
# What servers send: none (a file), the registered types, nginx's default for .xml (text/xml,
# no charset: feedparser reads that as us-ascii), a charset, and a wrong one.
CONTENT_TYPES = (
    "",
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "text/xml; charset=utf-8",
    "text/html; charset=UTF-8",
    "application/octet-stream",
    "text/xml; charset=iso-8859-1",
    "application/xml; charset=utf-8",
)
BENCH_TYPE = "application/xml"  # what bench/server.py's nginx sends
Read = ParsedFeed | str  # a record, or the ParseError's text


@dataclasses.dataclass(frozen=True)
class Document:
    corpus: str
    name: str
    body: bytes

    @property
    def url(self) -> str:
        return URL.format(name=self.name)


@dataclasses.dataclass(frozen=True)
class Row:
    doc: Document
    content_type: str
    entries: int  # feedparser's
    drop_in: tuple[str, ...]  # fields where feedparser-rs as a drop-in differs
    refusal: str  # why the fast path left it to feedparser; "" when it took it
    fast: tuple[str, ...]  # fields where the fast path differs: must stay empty


def realfeeds(shared: Path) -> list[Document]:
    folder = shared / "fixtures" / "realfeeds"
    return [
        Document("realfeeds", p.name, p.read_bytes())
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in NOT_FEEDS
    ]


def bench_corpus(n_feeds: int, root: Path) -> list[Document]:
    """gen1 and the gen2 feeds that differ from gen1 (the rest are the same bytes)."""
    generate(root, n_feeds)
    docs = []
    for path in sorted((root / "gen1").iterdir(), key=lambda p: int(p.stem.split("-")[1])):
        docs.append(Document("bench", f"gen1/{path.name}", path.read_bytes()))
        newer = (root / "gen2" / path.name).read_bytes()
        if newer != docs[-1].body:
            docs.append(Document("bench", f"gen2/{path.name}", newer))
    return docs


def with_feedparser(doc: Document, content_type: str) -> Read:
    try:
        return parse_xml_feed(doc.body, doc.url, content_type)
    except ParseError as e:
        return str(e)


def drop_in(doc: Document, content_type: str) -> Read:
    """feedparser-rs's result through xmlfeed's conversion, as if it were feedparser."""
    d = feedparser_rs.parse(doc.body, sanitize_html=False, resolve_relative_uris=False)
    entries = tuple(_entry(dict(e.items()), doc.url) for e in d.entries)
    if not d.version and not entries:
        return f"{doc.url}: not a feed"
    feed = dict(d.feed.items())
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("link")) or None,
        entries=entries,
        hints=_hints(feed),
        warning=_bozo_text(d) if d.bozo else None,
    )


def differences(a: Read, b: Read) -> tuple[str, ...]:
    if isinstance(a, str) or isinstance(b, str):
        return () if type(a) is type(b) else ("parse error",)
    fields = [
        f"feed.{f}" for f in ("title", "link", "hints", "warning") if getattr(a, f) != getattr(b, f)
    ]
    if len(a.entries) != len(b.entries):
        fields.append("entry count")
    for x, y in zip(a.entries, b.entries, strict=False):
        fields += [
            f"entry.{f.name}"
            for f in dataclasses.fields(x)
            if getattr(x, f.name) != getattr(y, f.name)
        ]
    return tuple(dict.fromkeys(fields))


def title_types(doc: Document, content_type: str) -> tuple[str, ...]:
    """The fast path's title types against feedparser's (title_detail.type)."""
    adapted = fast._adapted(doc.body, doc.url, content_type)
    if isinstance(adapted, fast.Refusal):
        return ()
    headers = {"content-location": doc.url} | (
        {"content-type": content_type} if content_type else {}
    )
    theirs = feedparser.parse(doc.body, response_headers=headers, **_PARSE_OPTIONS)
    ours = [(e.get("title_detail") or {}).get("type") for e in adapted[1]]
    want = [(e.get("title_detail") or {}).get("type") for e in theirs.entries]
    return () if ours == want else ("entry.title type",)


def compare(doc: Document, content_type: str) -> Row:
    expected = with_feedparser(doc, content_type)
    fast_read = fast.read_fast(doc.body, doc.url, content_type)
    refusal = fast_read.reason if isinstance(fast_read, fast.Refusal) else ""
    fast_diff = () if refusal else differences(expected, fast_read) + title_types(doc, content_type)
    return Row(
        doc,
        content_type,
        0 if isinstance(expected, str) else len(expected.entries),
        differences(expected, drop_in(doc, content_type)),
        refusal,
        fast_diff,
    )


def agreement(docs: Sequence[Document], content_types: Sequence[str]) -> list[Row]:
    return [compare(doc, ct) for doc in docs for ct in content_types]


FAMILIES = (
    ("encoding", "encoding (not read as UTF-8 by feedparser)"),
    ("DOCTYPE", "DOCTYPE or entity declaration"),
    ("not well-formed", "not well-formed"),
    ("root", "not RSS 2.0, RSS 1.0 or Atom 1.0"),
    ("element", "an element outside the list"),
    ("attribute", "an attribute outside the list"),
    ("namespace", "a namespace under another prefix"),
    ("repeated", "an element repeated where it should not be"),
    ("link", "an alternate link the two may choose differently"),
    ("xml:base", "xml:base other than an absolute one on the root"),
    ("feedparser would rewrite", "a value feedparser would rewrite"),
    (
        "feedparser-rs read",
        "feedparser-rs read a link or category otherwise than expat (private address, entity)",
    ),
    ("feedparser-rs", "feedparser-rs: bozo, other version or entry count"),
)


def refusal_kind(reason: str) -> str:
    """A refusal's family, for the summary (the rows name the element)."""
    if not reason:
        return "taken"
    return next(
        (family for prefix, family in FAMILIES if reason.startswith(prefix)), "other: " + reason
    )


def report_agreement(rows: Sequence[Row], show_rows: bool) -> bool:
    by_corpus: dict[str, list[Row]] = collections.defaultdict(list)
    for row in rows:
        by_corpus[row.doc.corpus].append(row)
    ok = True
    for corpus, group in by_corpus.items():
        docs = {r.doc.name for r in group}
        taken = [r for r in group if not r.refusal]
        wrong = [r for r in taken if r.fast]
        drop = [r for r in group if r.drop_in]
        print(f"\n## {corpus}: {len(docs)} documents, {len(group)} reads (document x Content-Type)")
        print(
            f"drop-in feedparser-rs differs from feedparser on {len(drop)} of {len(group)} reads"
            f" ({len({r.doc.name for r in drop})} documents)"
        )
        print(
            f"fast path takes {len(taken)} reads ({len({r.doc.name for r in taken})} documents),"
            f" {sum(r.entries for r in taken)} entries; differs on {len(wrong)}"
        )
        fields = collections.Counter(f for r in drop for f in r.drop_in)
        print("drop-in differences by field (reads):", dict(fields.most_common()))
        kinds = collections.Counter(refusal_kind(r.refusal) for r in group)
        print("fast path, by outcome (reads):", dict(kinds.most_common()))
        for row in wrong:
            ok = False
            print(
                f"  FAST PATH DIFFERS: {row.doc.name} [{row.content_type}]: {', '.join(row.fast)}"
            )
    if show_rows:
        print_rows(rows)
    return ok


def print_rows(rows: Sequence[Row]) -> None:
    """Per document: the drop-in's differing fields (under any Content-Type) and the fast
    path's decision under application/xml."""
    print("\n| document | entries | drop-in differs on | fast path (application/xml) |")
    print("|---|---:|---|---|")
    per_doc: dict[str, list[Row]] = collections.defaultdict(list)
    for row in rows:
        per_doc[row.doc.name].append(row)
    for name, group in per_doc.items():
        fields = sorted({f for r in group for f in r.drop_in})
        main = next((r for r in group if r.content_type == BENCH_TYPE), group[0])
        decision = "taken" if not main.refusal else main.refusal
        print(f"| {name} | {main.entries} | {', '.join(fields) or '-'} | {decision} |")


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The least CPU time of ``repeat`` runs (process time: other sessions share the cores)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def speed(docs: Sequence[Document], real: Sequence[Document], repeat: int) -> None:
    """Per-entry µs of each reader on bench documents (all in the class), the fast path's
    parts, the worker's whole step with the fast path off and on, and what refusing costs."""
    entries = sum(len(feedparser_rs.parse(d.body).entries) for d in docs)
    feed = FeedConfig(name="bench", url="https://feeds.example/bench")

    def each(
        f: Callable[[Document], object], these: Sequence[Document] = docs
    ) -> Callable[[], None]:
        def run() -> None:
            for d in these:
                f(d)

        return run

    def headers(d: Document) -> dict[str, str]:
        return {"content-location": d.url, "content-type": BENCH_TYPE}

    def rs(d: Document) -> object:
        return feedparser_rs.parse_with_limits(
            d.body, limits=fast._LIMITS, sanitize_html=False, resolve_relative_uris=False
        )

    def digest(enabled: bool) -> Callable[[Document], object]:
        def run(d: Document) -> object:
            fast.ENABLED = enabled
            try:
                return digest_document(d.body, d.url, BENCH_TYPE, feed, NOW)
            finally:
                fast.ENABLED = True

        return run

    cases = [
        (
            "feedparser.parse, our options",
            each(lambda d: feedparser.parse(d.body, response_headers=headers(d), **_PARSE_OPTIONS)),
        ),
        ("feedparser_rs.parse", each(rs)),
        (
            "feedparser + our conversion (xmlfeed.parse_xml_feed)",
            each(lambda d: parse_xml_feed(d.body, d.url, BENCH_TYPE)),
        ),
        (
            "fast path, all of it (fast.read_fast)",
            each(lambda d: fast.read_fast(d.body, d.url, BENCH_TYPE)),
        ),
        (
            "  its encoding check",
            each(lambda d: fast.encoding.feedparser_reads_utf8(d.body, BENCH_TYPE)),
        ),
        ("  its expat scan", each(lambda d: fast.scan.shape_of(d.body))),
        ("  feedparser-rs", each(rs)),
        ("digest_document, fast path off", each(digest(False))),
        ("digest_document, fast path on", each(digest(True))),
    ]
    # interleaved rounds, the least CPU time of each: a busy moment does not favour one reader
    took: dict[str, float] = {}
    for _ in range(repeat):
        for name, run in cases:
            took[name] = min(took.get(name, float("inf")), best_of(1, run))
    print(
        f"\n## speed: {len(docs)} bench documents, {entries} entries, least CPU of {repeat} rounds"
    )
    print("| | µs per entry | ms per document |")
    print("|---|---:|---:|")
    for name, _ in cases:
        print(f"| {name} | {took[name] / entries * 1e6:.1f} | {took[name] / len(docs) * 1e3:.2f} |")
    slow = took["feedparser + our conversion (xmlfeed.parse_xml_feed)"]
    quick = took["fast path, all of it (fast.read_fast)"]
    print(
        f"parse through our conversion: {slow / quick:.1f}x faster; digest_document:"
        f" {took['digest_document, fast path off'] / took['digest_document, fast path on']:.2f}x"
    )
    refused = [
        d for d in real if not isinstance(fast.read_fast(d.body, d.url, BENCH_TYPE), ParsedFeed)
    ]
    if refused:
        cost = best_of(repeat, each(lambda d: fast.read_fast(d.body, d.url, BENCH_TYPE), refused))
        base = best_of(repeat, each(lambda d: with_feedparser(d, BENCH_TYPE), refused))
        print(
            f"refusing the {len(refused)} real feeds outside the class costs {cost * 1e3:.1f} ms,"
            f" {cost / base:.1%} of feedparser's {base * 1e3:.0f} ms on them"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    parser.add_argument("--feeds", type=int, default=2000, help="bench corpus size (feeds)")
    parser.add_argument("--no-speed", action="store_true", help="agreement only")
    parser.add_argument("--speed-only", action="store_true", help="no agreement")
    parser.add_argument("--rows", action="store_true", help="one row per document")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the speed runs")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # feedparser's deprecation notes
    real = realfeeds(args.shared) if (args.shared / "fixtures" / "realfeeds").is_dir() else []
    if not real:
        print(f"{args.shared}/fixtures/realfeeds is absent: bench corpus only", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        bench = bench_corpus(args.feeds, Path(tmp))
    ok = True
    if not args.speed_only:  # every Content-Type on the real feeds and 30 bench documents
        rows = agreement(real, CONTENT_TYPES)
        rows += agreement(bench[:30], CONTENT_TYPES) + agreement(bench[30:], [BENCH_TYPE])
        ok = report_agreement(rows, args.rows)
    if not args.no_speed:
        speed([d for d in bench if d.name.startswith("gen1/")][:300], real, args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
